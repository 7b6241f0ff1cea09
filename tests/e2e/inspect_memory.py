"""`trainc inspect MODEL --spec SPEC`: the training step's memory.

Checked against what does not come from inspect's own arithmetic:
  - parameters and gradients are 4 bytes per value of the model's float
    initializers (counted here with onnx), optimizer state 0, 1 or 2 times
    that for plain SGD, SGD with momentum and Adam, BatchNorm buffers 4
    bytes per running mean and variance value;
  - the arena equals ARENA_BYTES of the header `trainc compile` writes for
    the same spec (a real code generation) and the "arena X MiB" of the
    `trainc train` log;
  - the parts add up to the arena; only activations grow with the batch;
  - --spec with --print-after is refused, a missing spec names its file.

usage: inspect_memory.py TRAINC SOURCE_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper

TRAINC, SOURCE = sys.argv[1], sys.argv[2]
failures = []
PARTS = ["parameters", "gradients", "optimizer state", "buffers", "constants",
         "folded constants, padding", "activations and scratch"]


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print(f"FAIL {name}\n{detail}", file=sys.stderr)


def run(*args):
    return subprocess.run([TRAINC, *args], capture_output=True, text=True, timeout=300)


def write_spec(tmp, tag, model_shape, n, optimizer, batch):
    rng = np.random.default_rng(0)
    npz = os.path.join(tmp, f"{tag}.npz")
    np.savez(npz, x=rng.standard_normal((n,) + model_shape).astype(np.float32),
             y=rng.integers(0, 10, n).astype(np.int64))
    path = os.path.join(tmp, f"{tag}.json")
    with open(path, "w") as f:
        json.dump({"inputs": {"input": "x"},
                   "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "y"},
                   "optimizer": optimizer, "data": {"train": {"format": "npz", "path": npz}},
                   "batch_size": batch, "epochs": 1, "shuffle": False}, f)
    return path


def inspect(model, spec, *extra):
    """Parsed output: {"arena": bytes, part: bytes...}, or None."""
    r = run("inspect", model, "--spec", spec, *extra)
    detail = f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    check(f"inspect {os.path.basename(spec)} {extra}: exit 0", r.returncode == 0, detail)
    m = re.search(r"^arena (\d+) bytes", r.stdout, re.M)
    check("arena line", m is not None, detail)
    if not m:
        return None
    got = {"arena": int(m.group(1))}
    for part in PARTS:
        p = re.search(r"^  " + re.escape(part) + r"\s+(\d+) bytes", r.stdout, re.M)
        check(f"{part} line", p is not None, detail)
        got[part] = int(p.group(1)) if p else -1
    return got


def float_values(model, pick=lambda name: True):
    return sum(int(np.prod(t.dims)) for t in onnx.load(model).graph.initializer
               if t.data_type == onnx.TensorProto.FLOAT and pick(t.name))


def compiled_arena(tmp, model, spec, *extra):
    header = os.path.join(tmp, "step.h")
    r = run("compile", model, "--spec", spec, "-o", os.path.join(tmp, "step.o"),
            "--header", header, "--prefix", "s", *extra)
    check("trainc compile: exit 0", r.returncode == 0, r.stderr)
    if r.returncode:
        return None
    m = re.search(r"#define S_ARENA_BYTES (\d+)u", open(header).read())
    return int(m.group(1)) if m else None


def test_mlp(tmp):
    model = os.path.join(SOURCE, "models", "mlp.onnx")
    params = 4 * float_values(model)
    sgd = write_spec(tmp, "mlp_sgd", (1, 28, 28), 64, {"type": "SGD", "lr": 0.01}, 32)
    mom = write_spec(tmp, "mlp_mom", (1, 28, 28), 64,
                     {"type": "SGD", "lr": 0.01, "momentum": 0.9}, 32)
    adam = write_spec(tmp, "mlp_adam", (1, 28, 28), 64, {"type": "Adam", "lr": 0.001}, 32)
    for spec, states in ((sgd, 0), (mom, 1), (adam, 2)):
        got = inspect(model, spec)
        if not got:
            continue
        tag = os.path.basename(spec)
        check(f"{tag}: parameters {got['parameters']} == {params}", got["parameters"] == params)
        check(f"{tag}: gradients == parameters", got["gradients"] == params)
        check(f"{tag}: optimizer state {got['optimizer state']} == {states} x {params}",
              got["optimizer state"] == states * params)
        check(f"{tag}: no buffers", got["buffers"] == 0)
        check(f"{tag}: parts add up to the arena",
              sum(got[p] for p in PARTS) == got["arena"], str(got))
        want = compiled_arena(tmp, model, spec)
        check(f"{tag}: arena {got['arena']} == compiled ARENA_BYTES {want}", got["arena"] == want)
    small, big = inspect(model, mom), inspect(model, mom, "--batch_size", "64")
    if small and big:
        check("batch 64: more activations than batch 32",
              big["activations and scratch"] > small["activations and scratch"],
              f"{small}\n{big}")
        check("batch 64: the same parameters and state",
              all(big[p] == small[p] for p in PARTS[:5]), f"{small}\n{big}")
        check("batch 64: compiled arena",
              big["arena"] == compiled_arena(tmp, model, mom, "--batch_size", "64"))
    r = run("train", model, "--spec", mom)
    m = re.search(r"arena ([\d.]+) MiB", r.stderr)
    check("train log names the arena", r.returncode == 0 and m is not None, r.stderr)
    if m and small:
        check(f"train log arena {m.group(1)} MiB == inspect {small['arena']} bytes",
              m.group(1) == f"{small['arena'] / (1 << 20):.1f}")


def test_resnet8(tmp):
    """BatchNorm's running statistics are buffers."""
    model = os.path.join(SOURCE, "models", "resnet8.onnx")
    spec = write_spec(tmp, "resnet8", (3, 32, 32), 8,
                      {"type": "SGD", "lr": 0.01, "momentum": 0.9}, 8)
    got = inspect(model, spec)
    if not got:
        return
    stats = 4 * float_values(model, lambda n: n.endswith(("running_mean", "running_var")))
    params = 4 * float_values(model) - stats
    check(f"resnet8: buffers {got['buffers']} == {stats}", stats > 0 and got["buffers"] == stats)
    check(f"resnet8: parameters {got['parameters']} == {params}", got["parameters"] == params)
    check("resnet8: parts add up", sum(got[p] for p in PARTS) == got["arena"], str(got))
    check("resnet8: compiled arena", got["arena"] == compiled_arena(tmp, model, spec))


def test_errors(tmp):
    model = os.path.join(SOURCE, "models", "mlp.onnx")
    r = run("inspect", model, "--spec", os.path.join(SOURCE, "models", "mlp.json"),
            "--print-after", "dce")
    check("--spec with --print-after: usage error",
          r.returncode == 1 and "does not go with --spec" in r.stderr, r.stderr)
    missing = os.path.join(tmp, "missing.json")
    r = run("inspect", model, "--spec", missing)
    check("missing spec: exit 2 naming it", r.returncode == 2 and missing in r.stderr, r.stderr)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_mlp(tmp)
        test_resnet8(tmp)
        test_errors(tmp)
    print(f"{len(failures)} failed" if failures else "inspect memory: ok")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
