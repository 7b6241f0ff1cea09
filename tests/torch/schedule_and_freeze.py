"""Differential test: learning-rate schedule, frozen parameters, a short last
batch and param groups in `trainc train`, against PyTorch, live.

Every case trains models/lenet5.onnx on an NPZ of the first Fashion-MNIST
training images (unshuffled, so both sides see the same batches) with
`trainc train --metrics --out`, and the same LeNet5 (models/export.py)
loaded with the ONNX initial weights with torch.optim.SGD (and
torch.optim.lr_scheduler.StepLR where the spec has one):

  steplr          3 epochs x 5 batches, StepLR(step_size=2, gamma=0.5): the
                  lr logged at every step equals PyTorch's
                  optimizer.param_groups[0]['lr'] exactly (both are doubles
                  from the same chainable recurrence);
  steplr_chain    StepLR(step_size=1, gamma=0.1) over 3 epochs: lrs 0.01,
                  0.001, 0.0001 only match PyTorch's to the bit if they are
                  computed as PyTorch does (0.01 * 0.1 * 0.1, not
                  0.01 * 0.1 ** 2), so "exactly" is tested where it can fail;
  frozen          "frozen": ["conv1.*"]: conv1.weight and conv1.bias in the
                  written model are bit-identical to the initial ones, and
                  every other tensor matches PyTorch with conv1's
                  requires_grad = False;
  short_last      212 = 3 * 64 + 20 samples, drop_last false: 4 steps, the last
                  on 20 samples (PyTorch's mean is over those 20);
  drop_last       the same data with drop_last true: 3 steps;
  param_groups    "param_groups": [{"params": ["fc*"], "lr": 0.001}], top-level
                  lr 0.01: PyTorch with two groups, fc layers first at 0.001,
                  the rest at 0.01 (trainc lists the named groups first, then
                  the default group; the metrics log the lr of group 0).

Each case also checks the metrics' epoch / step-in-epoch / iteration counters.

Tolerance (as tests/torch/sgd_trajectory.py): float32 rounding alone moves a
trajectory, so each step's loss and each final tensor may differ from
PyTorch by max(1e-4 relative, 4 x the spread between PyTorch and PyTorch
started from weights one float32 ulp away), measured in the same run. The
lrs and the frozen tensors are compared exactly. Where it matters (schedule,
frozen, groups) the test also checks that it can fail: PyTorch run *without*
the feature (no scheduler, nothing frozen, one group) must land outside the
tolerance of trainc's result, or the case would not test the feature.

usage: /usr/bin/python3 schedule_and_freeze.py TRAINC SOURCE_DIR
"""
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from reference import (LOSS_RTOL, WEIGHT_RTOL, fashion, initializers, load_models, matches,
                       relative, report, train_with_trainc)
BASE_OPTIM = {"type": "SGD", "lr": 0.01, "momentum": 0.9}










def batches(n, batch, drop_last):
    """Index ranges of one unshuffled epoch, as the loader yields them."""
    out = []
    for start in range(0, n, batch):
        end = min(start + batch, n)
        if drop_last and end - start < batch:
            break
        out.append((start, end))
    return out




def torch_run(m, init, x, y, case, ulp=False, without=None):
    """PyTorch's trajectory for `case`: per-step losses, per-step lrs of every
    group, final weights. ulp: start one float32 ulp away. without: leave out
    one feature ("sched", "frozen", "groups") to show the case can fail."""
    model = m.LeNet5()
    state = {k: torch.from_numpy(v.copy()) for k, v in init.items()}
    if ulp:
        state = {k: torch.from_numpy(np.nextafter(v, np.float32(np.inf)).astype(v.dtype))
                 for k, v in init.items()}
    model.load_state_dict(state, strict=True)
    frozen = [] if without == "frozen" else case.get("frozen", [])
    named = list(model.named_parameters())
    for name, p in named:
        if matches(frozen, name):
            p.requires_grad_(False)
    opt_spec = dict(case["optimizer"])
    groups_spec = [] if without == "groups" else opt_spec.pop("param_groups", [])
    opt_spec.pop("param_groups", None)
    kwargs = {k: v for k, v in opt_spec.items() if k != "type"}
    # trainc's order: the listed groups (a parameter in two groups is an
    # error), then the default group with everything else
    owner = {}
    for k, g in enumerate(groups_spec):
        for name, _ in named:
            if matches(g["params"], name):
                owner[name] = k
    groups = []
    for k, g in enumerate(groups_spec):
        extra = {kk: vv for kk, vv in g.items() if kk != "params"}
        groups.append(dict(params=[p for n, p in named if owner.get(n) == k and p.requires_grad],
                           **extra))
    groups.append(dict(params=[p for n, p in named if n not in owner and p.requires_grad]))
    groups = [g for g in groups if g["params"]]
    opt = torch.optim.SGD(groups, **kwargs)
    sched = None
    if case.get("lr_scheduler") and without != "sched":
        s = dict(case["lr_scheduler"])
        assert s.pop("type") == "StepLR"
        sched = torch.optim.lr_scheduler.StepLR(opt, **s)
    losses, lrs = [], []
    for _ in range(case["epochs"]):
        for start, end in batches(len(x), case["batch_size"], case.get("drop_last", False)):
            xb, yb = torch.from_numpy(x[start:end]), torch.from_numpy(y[start:end])
            lrs.append([g["lr"] for g in opt.param_groups])
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            if without != "clip":
                clip_gradients(model, case)
            opt.step()
            losses.append(loss.item())
        if sched:
            sched.step()
    weights = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return losses, lrs, weights


def clip_gradients(model, case):
    """torch.nn.utils's clipping as the case's spec asks for it."""
    norm = case.get("clip_grad_norm")
    if norm:
        p = norm.get("norm_type", 2.0)
        torch.nn.utils.clip_grad_norm_(model.parameters(), norm["max_norm"],
                                       float("inf") if p == "inf" else p)
    if case.get("clip_grad_value"):
        torch.nn.utils.clip_grad_value_(model.parameters(), case["clip_grad_value"])


def run_trainc(trainc, tmp, name, onnx_path, npz, case):
    spec = {
        "inputs": {"input": "image"},
        "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
        "optimizer": case["optimizer"],
        "data": {"train": {"format": "npz", "path": npz}},
        "batch_size": case["batch_size"], "epochs": case["epochs"], "shuffle": False,
        "drop_last": case.get("drop_last", False), "log_interval": 100,
    }
    for key in ("frozen", "lr_scheduler", "clip_grad_norm", "clip_grad_value"):
        if key in case:
            spec[key] = case[key]
    return train_with_trainc(trainc, tmp, name, onnx_path, spec)


def run_case(trainc, m, tmp, onnx_path, data, name, case):
    n = case["samples"]
    x, y = data[0][:n], data[1][:n]
    npz = os.path.join(tmp, name + ".npz")
    np.savez(npz, image=x, label=y)
    ours, trained, error = run_trainc(trainc, tmp, name, onnx_path, npz, case)
    if error:
        return [error]
    init = initializers(onnx_path)
    theirs, their_lrs, weights = torch_run(m, init, x, y, case)
    nudged_losses, _, nudged = torch_run(m, init, x, y, case, ulp=True)
    problems = []

    # the steps: count, counters, lr, loss
    per_epoch = batches(n, case["batch_size"], case.get("drop_last", False))
    want_steps = case["epochs"] * len(per_epoch)
    if len(ours) != want_steps or len(theirs) != want_steps:
        problems.append(f"trainc logged {len(ours)} steps, PyTorch took {len(theirs)}, "
                        f"expected {want_steps}")
    counters = [(e + 1, s + 1, e * len(per_epoch) + s + 1)
                for e in range(case["epochs"]) for s in range(len(per_epoch))]
    for rec, (e, s, it) in zip(ours, counters):
        if (rec.get("epoch"), rec.get("step"), rec.get("iteration")) != (e, s, it):
            problems.append(f"step {it}: metrics epoch/step/iteration "
                            f"{rec.get('epoch')}/{rec.get('step')}/{rec.get('iteration')}, "
                            f"expected {e}/{s}/{it}")
            break
    for it, (rec, lrs) in enumerate(zip(ours, their_lrs), 1):
        if rec["lr"] != lrs[0]:
            problems.append(f"step {it}: lr {rec['lr']!r} vs torch param_groups[0]['lr'] "
                            f"{lrs[0]!r} (exact)")
            break
    worst_loss, worst_loss_rel = 0.0, 0.0
    for it, (rec, b, c) in enumerate(zip(ours, theirs, nudged_losses), 1):
        a = rec["loss"]
        tol = max(LOSS_RTOL * abs(b), 4 * abs(c - b))
        worst_loss = max(worst_loss, abs(a - b) / tol)
        worst_loss_rel = max(worst_loss_rel, abs(a - b) / abs(b))
        if abs(a - b) > tol:
            problems.append(f"step {it}: loss {a:.8g} vs torch {b:.8g} (tolerance {tol:.3g})")
            break

    # the final weights
    frozen = case.get("frozen", [])
    worst_weight, worst_weight_rel, tols = 0.0, 0.0, {}
    for k, want in weights.items():
        if k not in trained:
            problems.append(f"{k}: missing from the written model")
            continue
        if matches(frozen, k):
            if trained[k].dtype != init[k].dtype or trained[k].tobytes() != init[k].tobytes():
                problems.append(f"{k}: frozen but changed (relative L2 "
                                f"{relative(trained[k], init[k]):.3g} from the initial value)")
            if want.tobytes() != init[k].tobytes():
                problems.append(f"{k}: PyTorch changed a frozen tensor (test bug)")
            continue
        rel = relative(trained[k], want)
        tol = max(WEIGHT_RTOL, 4 * relative(nudged[k], want))
        tols[k] = tol
        worst_weight = max(worst_weight, rel / tol)
        worst_weight_rel = max(worst_weight_rel, rel)
        if rel > tol:
            problems.append(f"{k}: relative L2 difference {rel:.3g} > {tol:.3g}")
    print(f"     {name}: {len(ours)} steps, lrs {sorted(set(r['lr'] for r in ours))}, "
          f"loss error up to {worst_loss_rel:.3g} relative ({worst_loss:.3f} x tolerance), "
          f"weight error up to {worst_weight_rel:.3g} ({worst_weight:.3f} x tolerance)")

    # the case can fail: PyTorch without the feature is outside the tolerance
    if case.get("discriminates"):
        _, _, other = torch_run(m, init, x, y, case, without=case["discriminates"])
        far = {k: relative(trained[k], other[k]) / tols[k] for k in tols}
        best = max(far.values()) if far else 0.0
        print(f"     {name}: PyTorch without {case['discriminates']} is off by up to "
              f"{best:.1f} x tolerance")
        if best <= 1.0:
            problems.append(f"test cannot fail: PyTorch without {case['discriminates']} "
                            f"also matches (at most {best:.2f} x tolerance)")
    return problems


def main():
    trainc, source = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    m = load_models(source)
    onnx_path = os.path.join(source, "models", "lenet5.onnx")
    cases = [
        ("steplr", dict(samples=5 * 64, batch_size=64, epochs=3, optimizer=BASE_OPTIM,
                        lr_scheduler={"type": "StepLR", "step_size": 2, "gamma": 0.5},
                        discriminates="sched")),
        ("steplr_chain", dict(samples=3 * 64, batch_size=64, epochs=3, optimizer=BASE_OPTIM,
                              lr_scheduler={"type": "StepLR", "step_size": 1, "gamma": 0.1},
                              discriminates="sched")),
        ("frozen", dict(samples=20 * 64, batch_size=64, epochs=1, optimizer=BASE_OPTIM,
                        frozen=["conv1.*"], discriminates="frozen")),
        ("short_last", dict(samples=3 * 64 + 20, batch_size=64, epochs=1, optimizer=BASE_OPTIM,
                            drop_last=False)),
        ("drop_last", dict(samples=3 * 64 + 20, batch_size=64, epochs=1, optimizer=BASE_OPTIM,
                           drop_last=True)),
        ("clip_grad_norm", dict(samples=20 * 64, batch_size=64, epochs=1, optimizer=BASE_OPTIM,
                                clip_grad_norm={"max_norm": 0.05}, discriminates="clip")),
        ("clip_grad_norm_inf", dict(samples=20 * 64, batch_size=64, epochs=1,
                                    optimizer=BASE_OPTIM, discriminates="clip",
                                    clip_grad_norm={"max_norm": 0.02, "norm_type": "inf"})),
        ("clip_grad_value", dict(samples=20 * 64, batch_size=64, epochs=1, optimizer=BASE_OPTIM,
                                 clip_grad_value=0.005, discriminates="clip")),
        ("param_groups", dict(samples=20 * 64, batch_size=64, epochs=1,
                              optimizer=dict(BASE_OPTIM, param_groups=[
                                  {"params": ["fc*"], "lr": 0.001}]),
                              discriminates="groups")),
    ]
    data = fashion(max(c["samples"] for _, c in cases))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(report((name, run_case(trainc, m, tmp, onnx_path, data, name, case))
                        for name, case in cases))

if __name__ == "__main__":
    main()
