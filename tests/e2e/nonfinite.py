"""Numerical faults: a NaN in the data makes batch 3's loss and gradients
NaN. By default trainc stops with exit 2, naming the step and the first
parameter whose gradient is not finite; with "nonfinite": "skip_step" it
drops that step's update and goes on, so its weights are bitwise those of a
run that never saw the batch (and all finite).

usage: /usr/bin/python3 nonfinite.py TRAINC SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper

BATCH = 16


def main():
    trainc, source = sys.argv[1], sys.argv[2]
    model = os.path.join(source, "models", "mlp.onnx")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5 * BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 5 * BATCH).astype(np.int64)
    bad = x.copy()
    bad[2 * BATCH + 3, 0, 5, 5] = np.nan  # batch 3
    keep = np.r_[0:2 * BATCH, 3 * BATCH:5 * BATCH]
    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))

    with tempfile.TemporaryDirectory() as tmp:
        np.savez(os.path.join(tmp, "bad.npz"), input=bad, label=y)
        np.savez(os.path.join(tmp, "clean.npz"), input=x[keep], label=y[keep])

        def run(data, extra, out):
            spec = {"loss": {"type": "CrossEntropyLoss"},
                    "optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9},
                    "data": {"train": {"format": "npz", "path": data}},
                    "batch_size": BATCH, "epochs": 1, "shuffle": False, **extra}
            path = os.path.join(tmp, out + ".json")
            json.dump(spec, open(path, "w"))
            return subprocess.run([trainc, "train", model, "--spec", path, "--out",
                                   os.path.join(tmp, out + ".onnx")],
                                  capture_output=True, text=True, cwd=tmp)

        r = run("bad.npz", {}, "stop")
        check("stop: exit 2", r.returncode == 2, f"exit {r.returncode}: {r.stderr[-300:]}")
        check("stop: names the step and the first parameter",
              "step 3 (epoch 1, batch 3)" in r.stderr and "the gradient of 'fc1.weight' is nan"
              in r.stderr, r.stderr[-300:])
        check("stop: writes no model", not os.path.exists(os.path.join(tmp, "stop.onnx")))
        r = run("bad.npz", {"nonfinite": "skip_step"}, "skip")
        check("skip_step: trains to the end", r.returncode == 0, r.stderr[-300:])
        check("skip_step: says which update it dropped",
              "batch 3: update skipped: the gradient of 'fc1.weight' is nan" in r.stderr,
              r.stderr[-300:])
        r = run("clean.npz", {}, "clean")
        check("reference run without the batch", r.returncode == 0, r.stderr[-300:])
        if all(results):
            a = {t.name: onnx.numpy_helper.to_array(t)
                 for t in onnx.load(os.path.join(tmp, "skip.onnx")).graph.initializer}
            b = {t.name: onnx.numpy_helper.to_array(t)
                 for t in onnx.load(os.path.join(tmp, "clean.onnx")).graph.initializer}
            check("skip_step: weights finite and bitwise those of the run without the batch",
                  all(np.isfinite(a[k]).all() and np.array_equal(a[k], b[k]) for k in a),
                  "weights differ")
        r = subprocess.run([trainc, "train", model, "--nonfinite", "ignore"],
                           capture_output=True, text=True)
        check("a bad nonfinite value is refused", r.returncode == 2 and "$.nonfinite" in r.stderr,
              r.stderr[-300:])
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
