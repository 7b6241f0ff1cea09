"""What the differential tests against PyTorch share: the models (from
models/export.py), the data (real Fashion-MNIST images), ONNX weights, and
the distance they compare with.

Every test states its tolerance; the common floor is 1e-4 relative, raised
to 4x the spread float32 rounding alone gives PyTorch in the same run.
"""
import fnmatch
import gzip
import importlib.util
import json
import os
import subprocess

import numpy as np
import onnx
import onnx.numpy_helper

LOSS_RTOL = 1e-4
WEIGHT_RTOL = 1e-4
FASHION = "/usr/share/datasets/fashion-mnist"


def load_models(source):
    """models/export.py as a module: LeNet5, MLP, ResNet8, ..."""
    spec = importlib.util.spec_from_file_location(
        "export", os.path.join(source, "models", "export.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fashion(n):
    """The first n Fashion-MNIST training images, normalised as ToTensor +
    Normalize(0.2860, 0.3530) would, and their labels."""
    with gzip.open(os.path.join(FASHION, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16)[: n * 784].reshape(n, 1, 28, 28)
    with gzip.open(os.path.join(FASHION, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:n].astype(np.int64)
    x = ((images.astype(np.float32) / np.float32(255)) - np.float32(0.2860)) / np.float32(0.3530)
    return x.astype(np.float32), labels


def synthetic(n, shape, classes=10, seed=0):
    """n random inputs of `shape` and class labels (for models without data)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n,) + shape).astype(np.float32),
            rng.integers(0, classes, n).astype(np.int64))


def initializers(path):
    return {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def relative(a, b):
    """Relative L2 distance of a from b."""
    return float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64))
                 / max(np.linalg.norm(b.astype(np.float64)), 1e-30))


def matches(patterns, name):
    """A parameter name against spec names or * globs, as trainc matches them."""
    return any(p == name or fnmatch.fnmatchcase(name, p) for p in patterns)


def train_with_trainc(trainc, tmp, name, onnx_path, spec):
    """`trainc train` on onnx_path with `spec` (written into tmp), logging
    metrics and writing the trained model. Returns (the per-step "train"
    records, the trained initializers, None), or (None, None, the error)."""
    spec_path = os.path.join(tmp, name + ".json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    metrics = os.path.join(tmp, name + ".jsonl")
    out = os.path.join(tmp, name + ".trained.onnx")
    r = subprocess.run([trainc, "train", onnx_path, "--spec", spec_path, "--metrics", metrics,
                        "--out", out], capture_output=True, text=True)
    if r.returncode != 0:
        return None, None, f"trainc failed ({r.returncode}): {r.stderr.strip()}"
    records = [json.loads(line) for line in open(metrics)]
    return [x for x in records if x["kind"] == "train"], initializers(out), None


def compare_trajectory(steps, ours, theirs, nudged_losses, trained=None, weights=None,
                       nudged=None, names=None):
    """Problems between trainc's per-step losses `ours` and torch's `theirs`
    and, when weights is given, between trainc's trained initializers and
    torch's final state: each within max(LOSS_RTOL / WEIGHT_RTOL relative,
    4x the spread of torch's own run from weights one float32 ulp away
    (nudged_losses, nudged)). names maps torch state names to initializer
    names (default: every state entry under its own name)."""
    if len(ours) != steps:
        return [f"trainc logged {len(ours)} steps, expected {steps}"]
    problems = []
    for s, (a, b, c) in enumerate(zip(ours, theirs, nudged_losses)):
        tol = max(LOSS_RTOL * abs(b), 4 * abs(c - b))
        if abs(a - b) > tol:
            problems.append(f"step {s + 1}: loss {a:.8g} vs torch {b:.8g} (tolerance {tol:.3g})")
            break
    if weights is None:
        return problems
    for ref_name, onnx_name in (names or {k: k for k in weights}).items():
        if onnx_name not in trained:
            problems.append(f"{onnx_name}: not among the trained model's initializers")
            continue
        want = weights[ref_name]
        rel = relative(trained[onnx_name], want)
        tol = max(WEIGHT_RTOL, 4 * relative(nudged[ref_name], want))
        if rel > tol:
            problems.append(f"{onnx_name}: relative L2 difference {rel:.3g} > {tol:.3g}")
    return problems


def report(results):
    """Prints a line per (case name, problems) and the closing "N passed, N
    failed" line; returns the exit status."""
    passed = failed = 0
    for name, problems in results:
        if problems:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(problems[:5]))
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
