"""Differential test: every learning-rate scheduler trainc takes, against
torch.optim.lr_scheduler (PyTorch 1.13), live.

Each case is a spec with an optimizer (SGD with momentum 0.9, two or three
param groups with different lrs; Adam where beta1 is cycled) and an
lr_scheduler. tests/torch/sched_trace (the spec parser, sched_config.c and
the runtime scheduler, as `trainc train` uses them) prints the lr and the
momentum (or beta1) of every group before each of >= 100 optimizer steps and
after the last; PyTorch runs the same optimizer and scheduler built from the
same JSON and records optimizer.param_groups[g]['lr'] and ['momentum'] (or
['betas'][0]) the same way. Schedulers step after every optimizer step or
after every epoch (of 1 to 5 steps) per their interval; ReduceLROnPlateau
steps once per epoch with a fixed noisy metric sequence, or with the mean of
the epoch's training losses as trainc does without validation data.

The grid covers every scheduler class, every one of its options and every
value of the string/bool options at least once, per-group lists (also with
an empty default group), SequentialLR and ChainedScheduler with several
children (nested, with children that set the lr at construction, with
step(0) restarts of every child class), and PyTorch's quirks.

Tolerance: 1e-7 relative per value. trainc evaluates PyTorch's own formulas
in PyTorch's order in double precision, so every value is expected to match
bit for bit; the test reports how many cases do (all, when it passes today).

Also checked, for every case: a run stopped after k steps whose scheduler
is rebuilt from its checkpoint state (tc_sched_state_get / _set) prints
exactly, byte for byte, what the uninterrupted run prints; a few
configurations PyTorch refuses (while constructing or while stepping) are
refused by trainc too; and `trainc train` itself uses the schedules: the lr
column of --metrics equals PyTorch's lr for OneCycleLR stepped per batch,
MultiStepLR per epoch and ReduceLROnPlateau on the validation loss and on
the mean training loss (without validation data), and a SequentialLR
whose CyclicLR cycles the momentum (which the compiled step then reads per
step; tests/torch/momentum_cycling.py compares the weights such runs train).

usage: /usr/bin/python3 schedulers.py TRAINC SOURCE_DIR SCHED_TRACE
"""
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch

from reference import fashion

RTOL = 1e-7
LRS = torch.optim.lr_scheduler
STEP_INTERVAL = {"CyclicLR", "OneCycleLR"}  # PyTorch documents them per batch

SGD = {"type": "SGD", "lr": 0.1, "momentum": 0.9,
       "param_groups": [{"params": ["g0"], "lr": 0.05}]}
SGD3 = {"type": "SGD", "lr": 0.1, "momentum": 0.9,
        "param_groups": [{"params": ["g0"], "lr": 0.02}, {"params": ["g1"], "lr": 0.3,
                                                          "momentum": 0.8}]}
ADAM = {"type": "Adam", "lr": 0.001, "betas": [0.9, 0.999],
        "param_groups": [{"params": ["g0"], "lr": 0.002, "betas": [0.8, 0.99]}]}

# a noisy metric that improves, stalls, improves: 120 epochs
rng = random.Random(5)
NOISY = [1.0 / (1 + 0.1 * e) + 0.05 * rng.random() + (0.2 if 20 <= e < 35 else 0.0)
         for e in range(120)]
LOSSES = [2.0 * math.exp(-i / 60.0) + 0.3 * rng.random() for i in range(240)]


def case(name, sched, steps=100, optimizer=SGD, per_epoch=1, metrics=None, losses=None,
         no_default=False):
    return dict(name=name, sched=sched, steps=steps, optimizer=optimizer, per_epoch=per_epoch,
                metrics=metrics, losses=losses, no_default=no_default)


def grid():
    S = "StepLR"
    warm = {"type": "LinearLR", "start_factor": 0.1, "total_iters": 5}
    cos = {"type": "CosineAnnealingLR", "T_max": 30}
    return [
        # ---- StepLR, MultiStepLR
        case("step_default_gamma", {"type": S, "step_size": 7}),
        case("step_gamma", {"type": S, "step_size": 3, "gamma": 0.5}, optimizer=SGD3),
        case("step_per_batch", {"type": S, "step_size": 10, "gamma": 0.7, "interval": "step"},
             per_epoch=3),
        case("multistep", {"type": "MultiStepLR", "milestones": [3, 7, 7, 20, 90]}),
        case("multistep_unsorted", {"type": "MultiStepLR", "milestones": [50, 10, 30],
                                    "gamma": 0.3}, per_epoch=2, steps=120),
        # ---- ConstantLR, LinearLR
        case("constant_default", {"type": "ConstantLR"}),
        case("constant", {"type": "ConstantLR", "factor": 0.5, "total_iters": 40}),
        case("constant_zero_iters", {"type": "ConstantLR", "factor": 0.25, "total_iters": 0}),
        case("linear_default", {"type": "LinearLR"}),
        case("linear", {"type": "LinearLR", "start_factor": 0.25, "end_factor": 0.75,
                        "total_iters": 30}, optimizer=SGD3),
        case("linear_decay", {"type": "LinearLR", "start_factor": 1.0, "end_factor": 0.1,
                              "total_iters": 97}),
        # ---- ExponentialLR, PolynomialLR
        case("exponential", {"type": "ExponentialLR", "gamma": 0.97}),
        case("exponential_per_batch", {"type": "ExponentialLR", "gamma": 0.99,
                                       "interval": "step"}, per_epoch=4),
        case("polynomial_default", {"type": "PolynomialLR"}),
        case("polynomial", {"type": "PolynomialLR", "total_iters": 50, "power": 2.0}),
        case("polynomial_sqrt", {"type": "PolynomialLR", "total_iters": 99, "power": 0.5},
             optimizer=SGD3),
        # ---- CosineAnnealingLR, CosineAnnealingWarmRestarts
        case("cosine_periodic", {"type": "CosineAnnealingLR", "T_max": 10, "eta_min": 0.001}),
        case("cosine_long", {"type": "CosineAnnealingLR", "T_max": 100}, steps=150),
        case("restarts_mult1", {"type": "CosineAnnealingWarmRestarts", "T_0": 10}),
        case("restarts_mult2", {"type": "CosineAnnealingWarmRestarts", "T_0": 3, "T_mult": 2,
                                "eta_min": 0.01}, steps=200, optimizer=SGD3),
        case("restarts_per_batch", {"type": "CosineAnnealingWarmRestarts", "T_0": 7,
                                    "T_mult": 3, "interval": "step"}, per_epoch=5, steps=150),
        # ---- CyclicLR (momentum cycles by default)
        case("cyclic_triangular", {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1,
                                   "step_size_up": 5}),
        case("cyclic_triangular2", {"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.05,
                                    "step_size_up": 4, "step_size_down": 7,
                                    "mode": "triangular2"}, optimizer=SGD3),
        case("cyclic_exp_range", {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.2,
                                  "step_size_up": 6, "mode": "exp_range", "gamma": 0.99,
                                  "base_momentum": 0.7, "max_momentum": 0.95}),
        case("cyclic_lists", {"type": "CyclicLR", "base_lr": [0.01, 0.02, 0.005],
                              "max_lr": [0.1, 0.3, 0.05], "step_size_up": 3.5,
                              "base_momentum": [0.8, 0.7, 0.6],
                              "max_momentum": [0.9, 0.95, 0.85]}, optimizer=SGD3),
        case("cyclic_scale_mode", {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1,
                                   "step_size_up": 5, "mode": "triangular2",
                                   "scale_mode": "iterations", "cycle_momentum": False}),
        case("cyclic_per_epoch", {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1,
                                  "step_size_up": 4, "interval": "epoch",
                                  "cycle_momentum": False}, per_epoch=3, steps=150),
        case("cyclic_no_default_group", {"type": "CyclicLR", "base_lr": [0.01], "max_lr": [0.2],
                                         "step_size_up": 5}, no_default=True),
        # ---- OneCycleLR (momentum or beta1 cycles by default)
        case("onecycle_cos", {"type": "OneCycleLR", "max_lr": 1.0, "total_steps": 100}),
        case("onecycle_linear", {"type": "OneCycleLR", "max_lr": 0.5, "total_steps": 120,
                                 "anneal_strategy": "linear", "pct_start": 0.25,
                                 "div_factor": 10.0, "final_div_factor": 100.0},
             steps=120, optimizer=SGD3),
        case("onecycle_three_phase", {"type": "OneCycleLR", "max_lr": [0.3, 0.6],
                                      "epochs": 10, "steps_per_epoch": 11,
                                      "three_phase": True, "base_momentum": [0.8, 0.85],
                                      "max_momentum": [0.9, 0.99]}, steps=110),
        case("onecycle_three_phase_linear", {"type": "OneCycleLR", "max_lr": 0.3,
                                             "total_steps": 100, "three_phase": True,
                                             "anneal_strategy": "linear",
                                             "cycle_momentum": False}),
        case("onecycle_adam_beta1", {"type": "OneCycleLR", "max_lr": 0.01, "total_steps": 100,
                                     "base_momentum": 0.8, "max_momentum": 0.92},
             optimizer=ADAM),
        case("onecycle_per_epoch", {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 30,
                                    "interval": "epoch"}, per_epoch=4, steps=120),
        # ---- ReduceLROnPlateau
        case("plateau_min_rel", {"type": "ReduceLROnPlateau", "patience": 2},
             metrics=NOISY, steps=120),
        case("plateau_min_abs", {"type": "ReduceLROnPlateau", "threshold_mode": "abs",
                                 "threshold": 0.02, "patience": 1, "factor": 0.5,
                                 "cooldown": 2, "min_lr": 0.004},
             metrics=NOISY, per_epoch=2, steps=240, optimizer=SGD3),
        case("plateau_max_rel", {"type": "ReduceLROnPlateau", "mode": "max", "patience": 0,
                                 "threshold": 0.01, "min_lr": [0.01, 0.001]},
             metrics=[-x for x in NOISY], steps=120),
        case("plateau_max_abs", {"type": "ReduceLROnPlateau", "mode": "max",
                                 "threshold_mode": "abs", "threshold": 0.001, "patience": 3,
                                 "cooldown": 1, "eps": 0.003},
             metrics=[-x for x in NOISY], steps=120),
        case("plateau_train_loss", {"type": "ReduceLROnPlateau", "patience": 1,
                                    "threshold": 0.05, "factor": 0.3,
                                    "min_lr": [0.0001, 0.001, 0.01]},
             losses=LOSSES, per_epoch=4, steps=240, optimizer=SGD3),
        # ---- SequentialLR
        case("seq_warmup_cosine", {"type": "SequentialLR", "schedulers": [warm, cos],
                                   "milestones": [5]}),
        case("seq_three", {"type": "SequentialLR", "milestones": [4, 12], "schedulers": [
            {"type": "ConstantLR", "factor": 0.5, "total_iters": 2},
            {"type": "ExponentialLR", "gamma": 0.9},
            {"type": S, "step_size": 5, "gamma": 0.5}]}, optimizer=SGD3),
        case("seq_closed_forms", {"type": "SequentialLR", "milestones": [10, 20, 30, 40, 50, 60],
                                  "schedulers": [
            {"type": "MultiStepLR", "milestones": [2, 5], "gamma": 0.5},
            {"type": "PolynomialLR", "total_iters": 8, "power": 1.5},
            {"type": "LinearLR", "start_factor": 0.5, "total_iters": 4},
            {"type": "CosineAnnealingLR", "T_max": 6, "eta_min": 0.01},
            {"type": "ConstantLR", "factor": 0.2, "total_iters": 5},
            {"type": "CosineAnnealingWarmRestarts", "T_0": 4, "T_mult": 2},
            {"type": S, "step_size": 3}]}),
        case("seq_cyclic_onecycle", {"type": "SequentialLR", "milestones": [30],
                                     "interval": "step", "schedulers": [
            {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4},
            {"type": "OneCycleLR", "max_lr": 0.2, "total_steps": 80}]}, steps=100),
        case("seq_onecycle_first", {"type": "SequentialLR", "milestones": [40], "schedulers": [
            {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 40, "cycle_momentum": False},
            {"type": "ExponentialLR", "gamma": 0.95}]}, steps=100),
        # ---- ChainedScheduler
        case("chain_two", {"type": "ChainedScheduler", "schedulers": [
            {"type": "ConstantLR", "factor": 0.1, "total_iters": 2},
            {"type": "ExponentialLR", "gamma": 0.9}]}),
        case("chain_three", {"type": "ChainedScheduler", "schedulers": [
            {"type": "LinearLR", "start_factor": 0.2, "total_iters": 10},
            {"type": "MultiStepLR", "milestones": [30, 60], "gamma": 0.5},
            {"type": "CosineAnnealingLR", "T_max": 25}]}, optimizer=SGD3),
        case("chain_cyclic_after_step", {"type": "ChainedScheduler", "schedulers": [
            {"type": S, "step_size": 10, "gamma": 0.5},
            {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.05, "step_size_up": 3}]}),
        case("chain_nested", {"type": "ChainedScheduler", "interval": "step", "schedulers": [
            {"type": "SequentialLR", "milestones": [5], "schedulers": [warm, cos]},
            {"type": "ChainedScheduler", "schedulers": [
                {"type": "ExponentialLR", "gamma": 0.995},
                {"type": "CosineAnnealingWarmRestarts", "T_0": 20}]}]},
             per_epoch=3, steps=120),
    ]


# configurations PyTorch refuses, while constructing or while stepping
def refused():
    return [
        case("onecycle_past_total_steps", {"type": "OneCycleLR", "max_lr": 0.1,
                                           "total_steps": 50}),
        case("onecycle_empty_phase", {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 100,
                                      "pct_start": 0.01}),
        case("linear_zero_start", {"type": "LinearLR", "start_factor": 0.0}),
        case("constant_zero_factor", {"type": "ConstantLR", "factor": 0.0}),
        case("cyclic_zero_cycle", {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1,
                                   "step_size_up": 0, "step_size_down": 0}),
        case("cyclic_adam_momentum", {"type": "CyclicLR", "base_lr": 0.0001, "max_lr": 0.001},
             optimizer=ADAM),
        case("polynomial_negative_power", {"type": "PolynomialLR", "total_iters": 5,
                                           "power": -1.0}),
        case("list_length", {"type": "CyclicLR", "base_lr": [0.01, 0.02, 0.03],
                             "max_lr": 0.1}),
    ]


# ---- PyTorch's side -----------------------------------------------------------

def torch_optimizer(spec, no_default):
    spec = dict(spec)
    groups = spec.pop("param_groups", [])
    kind = spec.pop("type")
    params = []
    for g in groups:
        extra = {k: v for k, v in g.items() if k != "params"}
        params.append(dict(params=[torch.nn.Parameter(torch.zeros(1))], **extra))
    if not no_default:
        params.append(dict(params=[torch.nn.Parameter(torch.zeros(1))]))
    return getattr(torch.optim, kind)(params, **spec)


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


def momentum_of(group):
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum")


def torch_trace(c):
    """[[lr of every group] + [momentum of every group]] before each step
    and after the last, or the exception PyTorch raised."""
    try:
        opt = torch_optimizer(c["optimizer"], c["no_default"])
        sched = torch_scheduler(opt, c["sched"])
        kind = c["sched"]["type"]
        per_step = c["sched"].get("interval", "step" if kind in STEP_INTERVAL else "epoch") \
            == "step"
        plateau = kind == "ReduceLROnPlateau"
        rows, epoch_losses = [], []

        def record():
            rows.append([g["lr"] for g in opt.param_groups] +
                        [momentum_of(g) for g in opt.param_groups])

        for i in range(c["steps"]):
            record()
            opt.step()
            if c["losses"]:
                epoch_losses.append(c["losses"][i])
            if per_step:
                sched.step()
            if (i + 1) % c["per_epoch"] == 0:
                epoch = (i + 1) // c["per_epoch"] - 1
                if plateau and c["metrics"]:
                    sched.step(c["metrics"][epoch])
                elif plateau:
                    total = 0.0
                    for x in epoch_losses:
                        total += x
                    sched.step(total / len(epoch_losses))
                    epoch_losses = []
                elif not per_step:
                    sched.step()
        record()
        return rows, None
    except Exception as e:  # PyTorch refusing is a result here
        return None, f"{type(e).__name__}: {e}"


# ---- trainc's side ------------------------------------------------------------

def write_case(tmp, c):
    spec = {"loss": {"type": "output", "input": "loss"}, "optimizer": c["optimizer"],
            "lr_scheduler": c["sched"]}
    path = os.path.join(tmp, c["name"] + ".json")
    with open(path, "w") as f:
        json.dump(spec, f)
    args = [path, str(c["steps"]), "--batches-per-epoch", str(c["per_epoch"])]
    for key, flag in (("metrics", "--metrics"), ("losses", "--train-losses")):
        if c[key]:
            p = os.path.join(tmp, c["name"] + "." + key)
            with open(p, "w") as f:
                f.write("".join(repr(x) + "\n" for x in c[key]))
            args += [flag, p]
    if c["no_default"]:
        args.append("--no-default-group")
    return args


def trainc_trace(trace, args, resume_at=None):
    extra = ["--resume-at", str(resume_at)] if resume_at else []
    r = subprocess.run([trace] + args + extra, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr.strip()


def parse(text, ngroups):
    rows = []
    for line in text.splitlines():
        lrs, _, moms = line.partition("|")
        row = [float(x) for x in lrs.split()]
        row += [float(x) for x in moms.split()] if moms else [None] * ngroups
        rows.append(row)
    return rows


def compare(ours, theirs):
    """(problems, bitwise, worst relative difference)."""
    if len(ours) != len(theirs):
        return [f"{len(ours)} rows, PyTorch {len(theirs)}"], False, math.inf
    bitwise, worst = True, 0.0
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if len(a) != len(b):
            return [f"row {i}: {len(a)} values, PyTorch {len(b)}"], False, math.inf
        for j, (x, y) in enumerate(zip(a, b)):
            if x is None or y is None:
                if x is not y:
                    return [f"row {i} value {j}: {x!r} vs PyTorch {y!r}"], False, math.inf
                continue
            if x == y and math.copysign(1, x) == math.copysign(1, y):
                continue
            bitwise = False
            rel = abs(x - y) / max(abs(y), 1e-300)
            worst = max(worst, rel)
            if not rel <= RTOL:
                what = "lr" if j < len(a) // 2 else "momentum"
                return [f"step {i}: {what}[{j % (len(a) // 2)}] {x!r} vs PyTorch {y!r} "
                        f"(relative {rel:.3g} > {RTOL})"], False, worst
    return [], bitwise, worst


def check_case(trace, tmp, c):
    theirs, raised = torch_trace(c)
    if raised:
        return [f"PyTorch raised: {raised}"], False, 0.0
    args = write_case(tmp, c)
    rc, out, err = trainc_trace(trace, args)
    if rc != 0:
        return [f"sched_trace failed ({rc}): {err}"], False, 0.0
    ngroups = len(theirs[0]) // 2
    problems, bitwise, worst = compare(parse(out, ngroups), theirs)
    # resumed from the checkpoint state in the middle of an epoch, and at
    # the end of one: the same bytes
    for k in sorted({c["steps"] // 3 + 1, (c["steps"] // 2 // c["per_epoch"]) * c["per_epoch"]}):
        rc, resumed, err = trainc_trace(trace, args, resume_at=k)
        if rc != 0 or resumed != out:
            problems.append(f"resumed after {k} steps: " +
                            (err if rc else "the output differs from the uninterrupted run"))
    return problems, bitwise, worst


def check_refused(trace, tmp, c):
    theirs, raised = torch_trace(c)
    if not raised:
        return ["PyTorch does not refuse this (test bug)"]
    rc, _, err = trainc_trace(trace, write_case(tmp, c))
    print(f"     {c['name']}: PyTorch {raised[:90]}\n     {'':{len(c['name'])}}  trainc  "
          f"{err[-150:]}")
    if rc != 2:
        return [f"sched_trace exited {rc}, expected 2 (PyTorch: {raised})"]
    return []


# ---- trainc train end to end --------------------------------------------------

def run_trainc(trainc, tmp, source, name, sched, epochs, samples, batch, valid=False):
    """`trainc train` of models/mlp.onnx on the first `samples` Fashion-MNIST
    images (and the next 64 as validation data if valid); returns the
    metrics' records or the error."""
    x, y = fashion(samples + 64)
    data = {}
    for split, part in (("train", slice(0, samples)), ("valid", slice(samples, None))):
        data[split] = {"format": "npz", "path": os.path.join(tmp, split + ".npz")}
        if not os.path.exists(data[split]["path"]):
            np.savez(data[split]["path"], image=x[part], label=y[part])
    if not valid:
        del data["valid"]
    spec = {"inputs": {"input": "image"},
            "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
            "optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9,
                          "param_groups": [{"params": ["fc1.*"], "lr": 0.02}]},
            "lr_scheduler": sched, "data": data,
            "batch_size": batch, "epochs": epochs, "shuffle": False, "log_interval": 1000}
    spec_path = os.path.join(tmp, name + ".train.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    metrics = os.path.join(tmp, name + ".jsonl")
    r = subprocess.run([trainc, "train", os.path.join(source, "models", "mlp.onnx"),
                        "--spec", spec_path, "--metrics", metrics],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return None, f"trainc train failed ({r.returncode}): {r.stderr.strip()[-400:]}"
    records = [json.loads(line) for line in open(metrics)]
    return records, None


def check_train(trainc, tmp, source):
    """The lr trainc train logs at every step (group 0: fc1's) against
    PyTorch's param_groups[0]['lr'] at the same step."""
    samples, batch, epochs = 96, 32, 4  # 3 steps per epoch
    plateau = {"type": "ReduceLROnPlateau", "patience": 0, "threshold": 0.1, "factor": 0.5}
    runs = [
        # cycle_momentum with base_momentum == max_momentum == SGD's momentum
        # leaves the momentum alone (the step keeps it a constant)
        ("train_onecycle", {"type": "OneCycleLR", "max_lr": [0.1, 0.4],
                            "total_steps": epochs * 3, "base_momentum": 0.9,
                            "max_momentum": 0.9}),
        ("train_multistep", {"type": "MultiStepLR", "milestones": [1, 3], "gamma": 0.5}),
        # without validation data: the epoch's mean training loss (exact:
        # the logged losses are the float32 ones trainc averages)
        ("train_plateau", plateau),
        # with: the validation loss (the log rounds it to float32, which
        # does not change a comparison with a 10% threshold here)
        ("train_plateau_valid", plateau),
        # the momentum cycles from epoch 3 on: the step reads it per step
        ("train_sequential_cycle_momentum", {"type": "SequentialLR", "milestones": [3],
                                             "schedulers": [{"type": "ConstantLR"},
                                                            {"type": "CyclicLR", "base_lr": 0.01,
                                                             "max_lr": 0.1}]}),
    ]
    results = []
    for name, sched in runs:
        valid = name.endswith("_valid")
        recs, error = run_trainc(trainc, tmp, source, name, sched, epochs, samples, batch, valid)
        if error:
            results.append((name, [error]))
            continue
        metrics = [r["loss"] for r in recs if r["kind"] == "valid"]
        recs = [r for r in recs if r["kind"] == "train"]
        losses = [float(np.float32(r["loss"])) for r in recs]
        is_plateau = sched["type"] == "ReduceLROnPlateau"
        c = case(name, sched, steps=epochs * 3, per_epoch=3,
                 optimizer={"type": "SGD", "lr": 0.05, "momentum": 0.9,
                            "param_groups": [{"params": ["g0"], "lr": 0.02}]},
                 losses=losses if is_plateau and not valid else None,
                 metrics=metrics if is_plateau and valid else None)
        theirs, raised = torch_trace(c)
        if raised:
            results.append((name, [f"PyTorch raised: {raised}"]))
            continue
        ours = [r["lr"] for r in recs]
        want = [row[0] for row in theirs[:-1]]
        problems = [] if ours == want else [f"trainc logged lrs {ours}, PyTorch {want}"]
        if len(set(want)) < 2:
            problems.append("the schedule never changes the lr: the case cannot fail")
        if is_plateau and valid:
            other, _ = torch_trace(dict(c, metrics=None, losses=losses))
            if [row[0] for row in other[:-1]] == want:
                problems.append("the training loss gives the same lrs: the case cannot tell "
                                "which loss trainc steps with")
        print(f"     {name}: {len(ours)} steps, lrs {ours}")
        results.append((name, problems))
    return results


def main():
    trainc, source, trace = sys.argv[1], sys.argv[2], sys.argv[3]
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    results, bitwise_cases, worst = [], 0, 0.0
    cases = grid()
    assert all(c["steps"] >= 100 for c in cases)
    with tempfile.TemporaryDirectory() as tmp:
        for c in cases:
            problems, bitwise, w = check_case(trace, tmp, c)
            bitwise_cases += bitwise and not problems
            worst = max(worst, w)
            results.append((c["name"], problems))
        for c in refused():
            results.append(("refused." + c["name"], check_refused(trace, tmp, c)))
        results += check_train(trainc, tmp, source)
    failed = [(n, p) for n, p in results if p]
    for name, problems in results:
        print(("FAIL " if problems else "ok   ") + name + (": " + "; ".join(problems[:3])
                                                        if problems else ""))
    print(f"{len(cases)} schedule cases (each also resumed from its checkpoint state twice), "
          f"{len(refused())} refused configurations, 5 trainc train runs; "
          f"{bitwise_cases} of {len(cases)} schedules match PyTorch bit for bit, worst "
          f"relative difference {worst:.3g} (tolerance {RTOL})")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
