"""CyclicLR and OneCycleLR cycling the momentum (SGD, RMSprop) or beta1 (the
Adam family) in `trainc train`, against PyTorch 1.13 live, on the MLP of
models/export.py and real Fashion-MNIST images (unshuffled NPZ, 2 epochs of
8 batches, the schedulers stepped after every optimizer step).

The compiled step reads each group's momentum or beta1 from the hyper array
when (and only when) a scheduler moves it; PyTorch reads group['momentum']
or group['betas'][0] at every step. Per case: the lr column of --metrics
equals PyTorch's param_groups[0]['lr'] exactly, every logged loss and every
final tensor is within max(1e-4 relative, 4 x the distance of PyTorch in
float64 from PyTorch in float32) of PyTorch's float32 run (the rule of
tests/torch/optimizers.py), and PyTorch's own run without cycle_momentum
ends farther than that from it (so the case could fail). One case is also
stopped after the first epoch and resumed from its checkpoint (the
momentum follows from the scheduler state the checkpoint holds): the
weights are bitwise those of the uninterrupted run. SparseAdam, whose
tables the MLP lacks, runs OneCycleLR on tests/torch/sparse_adam.py's
bag-of-embeddings model under the same tolerance rule (floor 1e-5, that
test's).

usage: /usr/bin/python3 momentum_cycling.py TRAINC SOURCE_DIR
"""
import copy
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from reference import fashion, initializers, load_models, matches, relative, report, \
    train_with_trainc

BATCH, BATCHES, EPOCHS = 32, 8, 2
STEPS = BATCHES * EPOCHS
LRS = torch.optim.lr_scheduler
FC1 = [{"params": ["fc1.*"]}]


def group(**kw):
    return [dict(FC1[0], **kw)]


# (name, optimizer spec, lr_scheduler spec); every scheduler steps per batch
CASES = [
    ("cyclic_sgd_momentum",
     {"type": "SGD", "lr": 0.05, "momentum": 0.9, "param_groups": group(lr=0.02, momentum=0.85)},
     {"type": "CyclicLR", "base_lr": [0.005, 0.01], "max_lr": [0.05, 0.1], "step_size_up": 3,
      "base_momentum": [0.5, 0.6], "max_momentum": [0.9, 0.95], "interval": "step"}),
    ("onecycle_adam", {"type": "Adam", "lr": 1e-3},
     {"type": "OneCycleLR", "max_lr": 0.004, "total_steps": STEPS, "interval": "step"}),
    ("sequential_cyclic_sgd_nesterov",
     {"type": "SGD", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
     {"type": "SequentialLR", "milestones": [5], "interval": "step", "schedulers": [
         {"type": "ConstantLR", "factor": 0.5, "total_iters": 3},
         {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.08, "step_size_up": 2,
          "base_momentum": 0.5, "max_momentum": 0.9}]}),
    ("cyclic_sgd_dampening", {"type": "SGD", "lr": 0.05, "momentum": 0.9, "dampening": 0.3},
     {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4,
      "mode": "triangular2", "base_momentum": 0.5, "interval": "step"}),
    ("cyclic_rmsprop", {"type": "RMSprop", "lr": 1e-3, "momentum": 0.5, "centered": True},
     {"type": "CyclicLR", "base_lr": 1e-4, "max_lr": 1e-3, "step_size_up": 4,
      "base_momentum": 0.3, "max_momentum": 0.9, "interval": "step"}),
    ("onecycle_adamw_amsgrad",
     {"type": "AdamW", "lr": 1e-3, "amsgrad": True, "param_groups": group(betas=[0.8, 0.99])},
     {"type": "OneCycleLR", "max_lr": [0.002, 0.004], "total_steps": STEPS, "three_phase": True,
      "base_momentum": [0.6, 0.7], "max_momentum": [0.9, 0.95], "interval": "step"}),
    ("onecycle_adamax", {"type": "Adamax", "lr": 2e-3},
     {"type": "OneCycleLR", "max_lr": 0.01, "total_steps": STEPS, "base_momentum": 0.6,
      "anneal_strategy": "linear", "interval": "step"}),
    ("onecycle_nadam", {"type": "NAdam", "lr": 2e-3},
     {"type": "OneCycleLR", "max_lr": 0.004, "total_steps": STEPS, "base_momentum": 0.6,
      "interval": "step"}),
    ("onecycle_radam", {"type": "RAdam", "lr": 1e-3},
     {"type": "OneCycleLR", "max_lr": 0.01, "total_steps": STEPS, "base_momentum": 0.6,
      "interval": "step"}),
]
RESUMED = "cyclic_sgd_momentum"


def no_cycling(sched):
    s = copy.deepcopy(sched)
    if s["type"] in ("CyclicLR", "OneCycleLR"):
        s["cycle_momentum"] = False
    for c in s.get("schedulers", []):
        c.update(no_cycling(c))
    return s


def torch_scheduler(opt, spec):
    spec = dict(spec)
    kind = spec.pop("type")
    spec.pop("interval", None)
    if kind in ("SequentialLR", "ChainedScheduler"):
        children = [torch_scheduler(opt, c) for c in spec.pop("schedulers")]
        if kind == "ChainedScheduler":
            return LRS.ChainedScheduler(children)
        return LRS.SequentialLR(opt, children, **spec)
    return getattr(LRS, kind)(opt, **spec)


def torch_run(m, init, x, y, opt_spec, sched_spec, dtype=torch.float32):
    """(lr of group 0 before every step, losses, final weights)"""
    model = m.MLP()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init.items()})
    model = model.to(dtype)
    spec = dict(opt_spec)
    kind = spec.pop("type")
    listed = spec.pop("param_groups", [])
    named = list(model.named_parameters())
    groups, taken = [], set()
    for g in listed:  # the listed groups, then the rest: trainc's order
        ps = [p for n, p in named if matches(g["params"], n) and n not in taken]
        taken |= {n for n, _ in named if matches(g["params"], n)}
        groups.append(dict(params=ps, **{k: v for k, v in g.items() if k != "params"}))
    groups.append(dict(params=[p for n, p in named if n not in taken]))
    opt = getattr(torch.optim, kind)(groups, **spec)
    sched = torch_scheduler(opt, sched_spec)
    lrs, losses = [], []
    for _ in range(EPOCHS):
        for s in range(BATCHES):
            xb = torch.from_numpy(x[s * BATCH:(s + 1) * BATCH]).to(dtype)
            yb = torch.from_numpy(y[s * BATCH:(s + 1) * BATCH])
            lrs.append(opt.param_groups[0]["lr"])
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            losses.append(loss.item())
            opt.step()
            opt.zero_grad()
            sched.step()
    weights = {n: v.detach().to(torch.float32).numpy() for n, v in model.state_dict().items()}
    return lrs, losses, weights


def spec_of(npz, opt_spec, sched_spec):
    return {"inputs": {"input": "image"},
            "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
            "optimizer": opt_spec, "lr_scheduler": sched_spec,
            "data": {"train": {"format": "npz", "path": npz}},
            "batch_size": BATCH, "epochs": EPOCHS, "shuffle": False, "log_interval": 100}


def run_case(trainc, m, tmp, onnx_path, init, x, y, npz, name, opt_spec, sched_spec):
    records, trained, error = train_with_trainc(trainc, tmp, name, onnx_path,
                                                spec_of(npz, opt_spec, sched_spec))
    if error:
        return [error]
    lrs, theirs, weights = torch_run(m, init, x, y, opt_spec, sched_spec)
    _, exact_losses, exact = torch_run(m, init, x, y, opt_spec, sched_spec, torch.float64)
    _, _, constant = torch_run(m, init, x, y, opt_spec, no_cycling(sched_spec))
    problems = []
    ours_lr = [r["lr"] for r in records]
    if ours_lr != lrs:
        problems.append(f"trainc logged lrs {ours_lr}, PyTorch {lrs}")
    ours = [r["loss"] for r in records]
    if len(ours) != STEPS:
        problems.append(f"trainc logged {len(ours)} batches, expected {STEPS}")
    for i, (a, b, e) in enumerate(zip(ours, theirs, exact_losses), 1):
        tol = max(1e-4 * abs(b), 4 * abs(e - b))
        if not abs(a - b) <= tol:
            problems.append(f"batch {i}: loss {a:.8g} vs torch {b:.8g} (tolerance {tol:.3g})")
            break
    worst, telling = 0.0, 0.0
    for n, want in weights.items():
        tol = max(1e-4, 4 * relative(exact[n], want))
        rel = relative(trained[n], want)
        worst = max(worst, rel / tol)
        telling = max(telling, relative(constant[n], want) / tol)
        if not rel <= tol:
            problems.append(f"{n}: relative L2 difference {rel:.3g} > {tol:.3g}")
    if telling <= 1:
        problems.append("PyTorch without cycle_momentum ends within the tolerance: the case "
                        "cannot tell")
    print(f"     {name}: weights within {worst:.3f} x tolerance; without momentum cycling "
          f"{telling:.3g} x", flush=True)
    return problems


def run_resumed(trainc, tmp, onnx_path, npz, opt_spec, sched_spec):
    """The first epoch, then --resume with both: bitwise the uninterrupted run."""
    name = "resumed"
    spec = dict(spec_of(npz, opt_spec, sched_spec), checkpoint={"dir": name + ".ckpt"})
    spec_path = os.path.join(tmp, name + ".json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    ref, out = os.path.join(tmp, name + ".ref.onnx"), os.path.join(tmp, name + ".onnx")
    runs = [["--out", ref, "--checkpoint.dir", name + ".refckpt"],
            ["--epochs", "1"],
            ["--resume", "--out", out]]
    for args in runs:
        r = subprocess.run([trainc, "train", onnx_path, "--spec", spec_path] + args,
                           capture_output=True, text=True, cwd=tmp)
        if r.returncode != 0:
            return [f"trainc train {' '.join(args)}: exit {r.returncode}: {r.stderr[-300:]}"]
        if "--resume" in args and "resuming after step" not in r.stderr:
            return [f"the resumed run did not resume: {r.stderr[-300:]}"]
    a, b = initializers(ref), initializers(out)
    diff = [k for k in a if not np.array_equal(a[k].view(np.uint8), b[k].view(np.uint8))]
    return [f"not bitwise the uninterrupted run: {', '.join(diff)}"] if diff else []


def run_sparse_adam(trainc, tmp):
    import sparse_adam as sa  # its model and data
    opt = {"type": "SparseAdam", "lr": 0.01,
           "param_groups": [{"params": ["tags.*"], "lr": 0.05, "betas": [0.8, 0.99]}]}
    sched = {"type": "OneCycleLR", "max_lr": [0.02, 0.1], "total_steps": 30,
             "base_momentum": [0.5, 0.6], "max_momentum": [0.9, 0.95], "interval": "step"}
    rng = np.random.default_rng(0)
    w = rng.integers(0, sa.SEEN, (sa.N, sa.L)).astype(np.int64)
    t = rng.integers(0, sa.SEEN // 2, (sa.N, 2)).astype(np.int64)
    y = rng.integers(0, sa.D, sa.N).astype(np.int64)
    path = os.path.join(tmp, "bag.onnx")
    torch.onnx.export(sa.Bag(False), (torch.zeros(2, sa.L, dtype=torch.long),
                                      torch.zeros(2, 2, dtype=torch.long)), path,
                      input_names=["w", "t"], output_names=["logits"],
                      dynamic_axes={"w": {0: "N"}, "t": {0: "N"}, "logits": {0: "N"}},
                      opset_version=13)
    init = initializers(path)
    npz = os.path.join(tmp, "bag.npz")
    np.savez(npz, w=w, t=t, label=y)
    spec = {"loss": {"type": "CrossEntropyLoss"}, "optimizer": opt, "lr_scheduler": sched,
            "data": {"train": {"format": "npz", "path": npz}},
            "batch_size": sa.B, "epochs": 1, "shuffle": False}
    sp, out = os.path.join(tmp, "bag.json"), os.path.join(tmp, "bag.trained.onnx")
    json.dump(spec, open(sp, "w"))
    r = subprocess.run([trainc, "train", path, "--spec", sp, "--out", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return [r.stderr.strip()[-300:]]
    got = initializers(out)

    def torch_bag(sched_spec, dtype):
        m = sa.Bag(True)
        m.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init.items()})
        m = m.to(dtype)
        o = torch.optim.SparseAdam([{"params": [m.tags.weight], "lr": 0.05, "betas": (0.8, 0.99)},
                                    {"params": [m.words.weight]}], lr=0.01)
        sch = torch_scheduler(o, sched_spec)
        for s in range(0, sa.N, sa.B):
            o.zero_grad()
            z = m(torch.from_numpy(w[s:s + sa.B]), torch.from_numpy(t[s:s + sa.B]))
            F.cross_entropy(z, torch.from_numpy(y[s:s + sa.B])).backward()
            o.step()
            sch.step()
        return {k: v.detach().to(torch.float32).numpy() for k, v in m.state_dict().items()}

    want, exact = torch_bag(sched, torch.float32), torch_bag(sched, torch.float64)
    constant = torch_bag(no_cycling(sched), torch.float32)
    problems, worst, telling = [], 0.0, 0.0
    for k, v in want.items():
        tol = max(sa.RTOL, 4 * relative(exact[k], v))
        rel = relative(got[k], v)
        worst, telling = max(worst, rel / tol), max(telling, relative(constant[k], v) / tol)
        if not rel <= tol:
            problems.append(f"{k}: relative L2 difference {rel:.3g} > {tol:.3g}")
    if telling <= 1:
        problems.append("PyTorch without cycle_momentum ends within the tolerance: the case "
                        "cannot tell")
    print(f"     onecycle_sparse_adam: tables within {worst:.3f} x tolerance; without momentum "
          f"cycling {telling:.3g} x", flush=True)
    return problems


def main():
    trainc, source = sys.argv[1], sys.argv[2]
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    m = load_models(source)
    onnx_path = os.path.join(source, "models", "mlp.onnx")
    init = initializers(onnx_path)
    x, y = fashion(BATCHES * BATCH)
    with tempfile.TemporaryDirectory() as tmp:
        npz = os.path.join(tmp, "train.npz")
        np.savez(npz, image=x, label=y)
        results = [(name, run_case(trainc, m, tmp, onnx_path, init, x, y, npz, name, o, s))
                   for name, o, s in CASES]
        o, s = next((o, s) for name, o, s in CASES if name == RESUMED)
        results.append((RESUMED + ".resumed", run_resumed(trainc, tmp, onnx_path, npz, o, s)))
        results.append(("onecycle_sparse_adam", run_sparse_adam(trainc, tmp)))
        sys.exit(report(results))


if __name__ == "__main__":
    main()
