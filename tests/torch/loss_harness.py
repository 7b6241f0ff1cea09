"""The differential test of torch.nn losses: each grid file (loss_grid_*.py)
lists cases; this module runs them through trainc (build/tests/loss_check:
the spec parser, the loss builder, autodiff and the JIT, as `trainc train`
uses them) and through live PyTorch, and compares the loss and the gradient
with respect to every differentiable tensor.

A case:
    Case(id, loss={spec "loss" object without tensor names},
         tensors={"input": np.array, "target": np.array, ...},
         grad=["input", ...],          # differentiated (model outputs)
         torch=lambda t: loss tensor,  # t: the tensors as torch tensors
         error=None or "substring")    # trainc must refuse with this message

Tolerance (the issue's): |trainc - torch| <= ATOL + RTOL * |torch|
elementwise, float32, with RTOL = 1e-5 and ATOL = 1e-6 unless a case states
its own with the reason. A case with reduction "none" backpropagates a
random upstream gradient (torch: loss.backward(u)).
"""
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch

RTOL = 1e-5
ATOL = 1e-6


@dataclass
class Case:
    id: str
    loss: dict
    tensors: dict
    grad: list
    torch: Optional[Callable] = None
    error: Optional[str] = None
    rtol: float = RTOL
    atol: float = ATOL
    why: str = ""  # the reason for a tolerance other than the default
    upstream_seed: int = 0
    extra: dict = field(default_factory=dict)


def _compare(name, got, want, rtol, atol):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    if got.shape != want.shape:
        return f"{name}: shape {got.shape}, torch {want.shape}"
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    same_nonfinite = (np.isnan(g) & np.isnan(w)) | ((g == w) & ~np.isfinite(w))
    err = np.abs(g - w)
    bad = ~same_nonfinite & ~(err <= atol + rtol * np.abs(w))
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, err, -1)), g.shape) if g.ndim else ()
        return (f"{name}: {int(bad.sum())} of {g.size} elements off, e.g. at {tuple(int(k) for k in i)}: "
                f"trainc {g[i]!r}, torch {w[i]!r}")
    return None


def run(cases, loss_check):
    """Runs every case; prints a summary per loss class and fails (exit 1)
    on any mismatch."""
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    with tempfile.TemporaryDirectory() as d:
        listing = []
        upstreams = {}
        for c in cases:
            files = {}
            for arg, a in c.tensors.items():
                f = f"{c.id}.{arg}.npy"
                np.save(os.path.join(d, f), np.array(a, order="C"))  # keeps rank 0
                files[arg] = f
            loss = dict(c.loss)
            for arg in c.tensors:
                loss[arg] = arg
            up = None
            if c.error is None and c.loss.get("reduction") == "none":
                t = _torch_tensors(c)
                shape = tuple(c.torch(t).shape)
                rng = np.random.default_rng(1000 + c.upstream_seed)
                dtype = next(a.dtype for arg, a in c.tensors.items() if arg in c.grad) \
                    if c.grad else np.float32
                u = rng.uniform(0.5, 1.5, shape).astype(dtype)
                upstreams[c.id] = u
                up = f"{c.id}.upstream.npy"
                np.save(os.path.join(d, up), u)
            listing.append({"id": c.id, "loss": loss, "tensors": files, "grad": c.grad,
                            "upstream": up})
        with open(os.path.join(d, "cases.json"), "w") as f:
            json.dump(listing, f)
        r = subprocess.run([loss_check, d], capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            sys.exit(1)
        failures, per_class = [], {}
        for c in cases:
            msg = _check(c, d, upstreams.get(c.id))
            k = per_class.setdefault(c.loss["type"], [0, 0])
            k[0 if msg is None else 1] += 1
            if msg:
                failures.append(f"{c.id}: {msg}")
    for name, (ok, bad) in sorted(per_class.items()):
        print(f"  {name:32s} {ok:4d} passed, {bad} failed")
    for f in failures:
        print("FAIL", f)
    print(f"{len(cases) - len(failures)} passed, {len(failures)} failed "
          f"(tolerance: |trainc - torch| <= {ATOL} + {RTOL} |torch| unless a case says why)")
    if failures:
        sys.exit(1)


def _torch_tensors(c):
    t = {}
    for arg, a in c.tensors.items():
        x = torch.from_numpy(np.array(a))
        if arg in c.grad:
            x.requires_grad_(True)
        t[arg] = x
    return t


def _check(c, d, upstream):
    err_path = os.path.join(d, f"{c.id}.error.txt")
    refused = open(err_path).read().strip() if os.path.exists(err_path) else None
    if c.error is not None:
        if refused is None:
            return f"trainc accepted a case it must refuse ({c.error!r})"
        if c.error not in refused:
            return f"refused with {refused!r}, expected a message containing {c.error!r}"
        return None
    if refused is not None:
        return f"refused: {refused}"
    t = _torch_tensors(c)
    loss = c.torch(t)
    if c.grad:
        if upstream is not None:
            loss.backward(torch.from_numpy(upstream))
        else:
            loss.backward()
    got = np.load(os.path.join(d, f"{c.id}.loss.npy"))
    msg = _compare("loss", got, loss, c.rtol, c.atol)
    if msg:
        return msg
    for arg in c.grad:
        got = np.load(os.path.join(d, f"{c.id}.grad.{arg}.npy"))
        want = t[arg].grad if t[arg].grad is not None else torch.zeros_like(t[arg])
        msg = _compare(f"d/d{arg}", got, want, c.rtol, c.atol)
        if msg:
            return msg
    return None


def main(cases_fn):
    """Entry point of a grid file: argv[1] is the loss_check binary."""
    torch.manual_seed(0)
    run(cases_fn(), sys.argv[1])
