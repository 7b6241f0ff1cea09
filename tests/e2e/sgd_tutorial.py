"""The classic tutorial's SGD example through `trainc train`: a weight
[[0.6614, 0.2669], [0.0617, 0.6213]] whose gradient is all ones (the model
computes loss = sum(x @ W) with x = [[1, 1]]) after one SGD step of lr 0.1 is
[[0.5614, 0.1669], [-0.0383, 0.5213]] (to the tutorial's 4 decimals; the
float32 results must equal W - 0.1 computed in float32 exactly).

usage: /usr/bin/python3 sgd_tutorial.py TRAINC
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

W0 = np.array([[0.6614, 0.2669], [0.0617, 0.6213]], np.float32)
WANT = np.array([[0.5614, 0.1669], [-0.0383, 0.5213]], np.float32)


def main():
    trainc = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["x", "W"], ["y"]),
             helper.make_node("ReduceSum", ["y"], ["loss"], keepdims=0)],
            "tutorial", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
            [helper.make_tensor_value_info("loss", TensorProto.FLOAT, [])],
            [numpy_helper.from_array(W0, "W")])
        model = os.path.join(tmp, "m.onnx")
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), model)
        npz = os.path.join(tmp, "d.npz")
        np.savez(npz, x=np.ones((1, 2), np.float32))
        spec = os.path.join(tmp, "s.json")
        json.dump({"loss": {"type": "output", "input": "loss"},
                   "optimizer": {"type": "SGD", "lr": 0.1},
                   "data": {"train": {"format": "npz", "path": npz}},
                   "batch_size": 1, "epochs": 1}, open(spec, "w"))
        out = os.path.join(tmp, "out.onnx")
        r = subprocess.run([trainc, "train", model, "--spec", spec, "--out", out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL: exit {r.returncode}: {r.stderr}")
            sys.exit(1)
        w = numpy_helper.to_array(onnx.load(out).graph.initializer[0])
        exact = W0 - np.float32(0.1)
        ok = np.array_equal(w, exact) and np.allclose(w, WANT, rtol=0, atol=5e-5)
        print(("ok  " if ok else "FAIL") + f" SGD lr 0.1 on gradient ones: {w.tolist()} "
              f"(tutorial {WANT.tolist()})")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
