"""Determinism: the same seed gives bitwise-identical weights run to run.

A small MLP with a Dropout layer (p = 0.5, seeded masks) trains for two
epochs with shuffling and validation, twice with seed 7, through the JIT
(`trainc train`) and through a standalone trainer (`trainc build`); every
written initializer must be bitwise equal between the two runs of each. The
same run with seed 8 must differ (the seed reaches shuffling and dropout, so
the comparison can fail), and a run with dropout at p = 0 must differ from
one at p = 0.5 (dropout really is applied).

The thread count of the kernels is varied by tests/e2e/threads.py (the
loader's prefetch threads fill batches in a fixed order).

usage: /usr/bin/python3 determinism.py TRAINC [--jit-only]
(--jit-only under TC_SANITIZE: `trainc build` links trainers with the system
compiler, which does not add the sanitizer runtime.)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper
from onnx import TensorProto, helper


def dropout_mlp(path, p):
    """784 -> 64 -> Relu -> Dropout(p) -> 10, Kaiming-like random weights."""
    rng = np.random.default_rng(0)
    inits = [onnx.numpy_helper.from_array(a.astype(np.float32), n) for n, a in [
        ("fc1.weight", rng.standard_normal((64, 784)) / 28),
        ("fc1.bias", np.zeros(64)),
        ("fc2.weight", rng.standard_normal((10, 64)) / 8),
        ("fc2.bias", np.zeros(10)),
        ("ratio", np.array(p))]]
    nodes = [helper.make_node("Flatten", ["input"], ["flat"], name="flatten"),
             helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["h"], name="fc1",
                              transB=1),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Dropout", ["r", "ratio"], ["d"], name="dropout"),
             helper.make_node("Gemm", ["d", "fc2.weight", "fc2.bias"], ["logits"], name="fc2",
                              transB=1)]
    graph = helper.make_graph(
        nodes, "dropout_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def weights(path):
    return {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def same_bits(a, b):
    return a.keys() == b.keys() and all(a[k].tobytes() == b[k].tobytes() for k in a)


def main():
    trainc = os.path.abspath(sys.argv[1])
    jit_only = "--jit-only" in sys.argv[2:]
    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))

    with tempfile.TemporaryDirectory(prefix="tc_determinism_") as tmp:
        rng = np.random.default_rng(1)
        np.savez(os.path.join(tmp, "train.npz"),
                 image=rng.integers(0, 256, (96, 1, 28, 28)).astype(np.uint8),
                 label=rng.integers(0, 10, 96).astype(np.int64))
        spec = {"inputs": {"input": "image"},
                "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
                "optimizer": {"type": "Adam", "lr": 0.01},
                "data": {"train": {"format": "npz", "path": "train.npz"},
                         "valid": {"format": "npz", "path": "train.npz"},
                         "transforms": [{"type": "ToTensor"}]},
                "batch_size": 16, "epochs": 2, "shuffle": True, "seed": 7}
        spec_path = os.path.join(tmp, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        for name, p in (("dropout", 0.5), ("nodrop", 0.0)):
            dropout_mlp(os.path.join(tmp, name + ".onnx"), p)

        def train(model, out, *extra):
            r = subprocess.run([trainc, "train", os.path.join(tmp, model + ".onnx"), "--spec",
                                spec_path, "--out", os.path.join(tmp, out)] + list(extra),
                               capture_output=True, text=True, cwd=tmp)
            if r.returncode != 0:
                check("train %s" % out, False, r.stderr[-500:])
                return None
            return weights(os.path.join(tmp, out))

        a = train("dropout", "a.onnx")
        b = train("dropout", "b.onnx", "--no-cache")  # compiled again, not the cached code
        c = train("dropout", "c.onnx", "--seed", "8")
        d = train("nodrop", "d.onnx")
        if None in (a, b, c, d):
            print("%d passed, %d failed" % (sum(results), len(results) - sum(results)))
            return 1
        check("JIT: same seed, bitwise the same weights", same_bits(a, b))
        check("JIT: another seed, other weights", not same_bits(a, c))
        check("dropout is applied (p = 0.5 differs from p = 0)",
              not np.array_equal(a["fc1.weight"], d["fc1.weight"]))

        if jit_only:
            print("%d passed, %d failed" % (sum(results), len(results) - sum(results)))
            return 0 if all(results) else 1
        r = subprocess.run([trainc, "build", os.path.join(tmp, "dropout.onnx"), "--spec",
                            spec_path, "-o", os.path.join(tmp, "trainer")],
                           capture_output=True, text=True, cwd=tmp)
        check("trainc build", r.returncode == 0, r.stderr[-500:])
        if r.returncode == 0:
            outs = []
            for out in ("t1.onnx", "t2.onnx"):
                r = subprocess.run([os.path.join(tmp, "trainer"), "--quiet", "--out",
                                    os.path.join(tmp, out)], capture_output=True, text=True,
                                   cwd=tmp)
                check("trainer run %s" % out, r.returncode == 0, r.stderr[-500:])
                outs.append(weights(os.path.join(tmp, out)) if r.returncode == 0 else None)
            if None not in outs:
                check("standalone trainer: same seed, bitwise the same weights",
                      same_bits(outs[0], outs[1]))
                check("standalone trainer equals the JIT bitwise", same_bits(outs[0], a))
    print("%d passed, %d failed" % (sum(results), len(results) - sum(results)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
