"""Gradient accumulation and L-BFGS through `trainc train`, against PyTorch
live, on the MLP of models/export.py and real Fashion-MNIST images
(unshuffled NPZ):

- grad_accumulation k: PyTorch's `(loss / k).backward()` per batch and
  `optimizer.step(); optimizer.zero_grad()` every k batches and after the
  epoch's last (a short group is still divided by k), with SGD-momentum and
  with Adam under clip_grad_norm, including a short final group;
- LBFGS: `optimizer.step(closure)` per batch, the closure evaluating the
  batch's loss and gradient, with and without the strong-Wolfe line search.

Tolerance, per logged loss and per final tensor: max(1e-4 relative (the
issue's bound for LBFGS; accumulation is held to it as well), 4 x the
distance of PyTorch in float64 from PyTorch in float32), the rule of
tests/torch/optimizers.py: trainc must be as close to PyTorch as PyTorch's
float32 is to the exact trajectory.

usage: /usr/bin/python3 accumulation_lbfgs.py TRAINC SOURCE_DIR
"""
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from reference import fashion, initializers, load_models, relative, report, train_with_trainc

BATCH = 32

# (name, batches, optimizer spec, extra spec keys)
CASES = [
    ("accum2_sgd_momentum", 8, {"type": "SGD", "lr": 0.05, "momentum": 0.9},
     {"grad_accumulation": 2}),
    ("accum3_short_group_adam_clip", 7, {"type": "Adam", "lr": 1e-3},
     {"grad_accumulation": 3, "clip_grad_norm": {"max_norm": 0.5}}),
    ("lbfgs", 3, {"type": "LBFGS", "lr": 0.5, "max_iter": 4}, {}),
    ("lbfgs_strong_wolfe", 3, {"type": "LBFGS", "lr": 1, "max_iter": 5, "history_size": 3,
                               "line_search_fn": "strong_wolfe"}, {}),
]


def torch_run(m, init, x, y, batches, opt_spec, extra, dtype=torch.float32):
    model = m.MLP()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init.items()})
    model = model.to(dtype)
    spec = dict(opt_spec)
    kind = spec.pop("type")
    opt = getattr(torch.optim, kind)(model.parameters(), **spec)
    k = extra.get("grad_accumulation", 1)
    clip = extra.get("clip_grad_norm")
    losses = []
    for s in range(batches):
        xb = torch.from_numpy(x[s * BATCH:(s + 1) * BATCH]).to(dtype)
        yb = torch.from_numpy(y[s * BATCH:(s + 1) * BATCH])
        if kind == "LBFGS":
            def closure():
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                return loss
            losses.append(float(opt.step(closure)))
            continue
        loss = F.cross_entropy(model(xb), yb)
        (loss / k).backward()
        losses.append(loss.item())
        if (s + 1) % k == 0 or s + 1 == batches:
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip["max_norm"])
            opt.step()
            opt.zero_grad()
    return losses, {n: v.detach().to(torch.float32).numpy() for n, v in model.state_dict().items()}


def run_case(trainc, m, tmp, onnx_path, init, x, y, name, batches, opt_spec, extra):
    npz = os.path.join(tmp, name + ".npz")
    np.savez(npz, image=x[:batches * BATCH], label=y[:batches * BATCH])
    spec = {"inputs": {"input": "image"},
            "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
            "optimizer": opt_spec, "data": {"train": {"format": "npz", "path": npz}},
            "batch_size": BATCH, "epochs": 1, "shuffle": False, "log_interval": 100, **extra}
    records, trained, error = train_with_trainc(trainc, tmp, name, onnx_path, spec)
    if error:
        return [error]
    ours = [r["loss"] for r in records]
    theirs, weights = torch_run(m, init, x, y, batches, opt_spec, extra)
    exact_losses, exact = torch_run(m, init, x, y, batches, opt_spec, extra, torch.float64)
    problems = []
    if len(ours) != batches:
        problems.append(f"trainc logged {len(ours)} batches, expected {batches}")
    for i, (a, b, e) in enumerate(zip(ours, theirs, exact_losses), 1):
        tol = max(1e-4 * abs(b), 4 * abs(e - b))
        if not abs(a - b) <= tol:
            problems.append(f"batch {i}: loss {a:.8g} vs torch {b:.8g} (tolerance {tol:.3g})")
            break
    worst = 0.0
    for n, want in weights.items():
        tol = max(1e-4, 4 * relative(exact[n], want))
        rel = relative(trained[n], want)
        worst = max(worst, rel / tol)
        if not rel <= tol:
            problems.append(f"{n}: relative L2 difference {rel:.3g} > {tol:.3g}")
    moved = max(relative(trained[n], init[n]) for n in weights)
    if moved < 1e-3:
        problems.append(f"the weights hardly moved ({moved:.2g}): the case tests nothing")
    print(f"     {name}: weights within {worst:.3f} x tolerance, moved {moved:.3g}")
    return problems


def main():
    trainc, source = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    m = load_models(source)
    onnx_path = os.path.join(source, "models", "mlp.onnx")
    init = initializers(onnx_path)
    x, y = fashion(8 * BATCH)
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(report((name, run_case(trainc, m, tmp, onnx_path, init, x, y, name, batches,
                                        opt_spec, extra))
                        for name, batches, opt_spec, extra in CASES))


if __name__ == "__main__":
    main()
