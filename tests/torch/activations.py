"""Differential test: the gradients of the activation, rounding and
selection ops against PyTorch's autograd, live, at their kinks.

The finite-difference gradient checks (unit_test_gradcheck) only show that
each rule is the derivative of trainc's own forward away from the kinks;
what PyTorch returns exactly at them (Elu at 0, HardSwish and HardSigmoid
at +-3, PRelu and ThresholdedRelu at their thresholds, Softplus at its
threshold 20, ties of Max/Min, the zero gradient of Floor/Ceil/Round/Sign)
is a convention this test pins down, together with the forward values.

One ONNX model holds every case as a branch: y_i = OP_i(x_i + p_i) with x_i
a data field (points at and around the kinks, plus random ones), p_i a
zero parameter, and loss = Sum_i ReduceSum(y_i * R_i) with fixed random
R_i. One `trainc train` step of SGD with lr = 1 on one sample leaves
p_i = -dloss/dx_i exactly (0 - g), which is compared with PyTorch's
x.grad for the same loss. PRelu's slope is a parameter too (slope - g).

Tolerance: |ours - torch| <= 1e-6 * max(1, |torch|) per element, about ten
float32 ulps: the formulas are PyTorch's, so only rounding order may
differ (e.g. HardSigmoid's alpha * x + beta against (x + 3) / 6).

usage: /usr/bin/python3 activations.py TRAINC
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.helper as oh
import onnx.numpy_helper as onh
import torch
import torch.nn.functional as F

KINKS = [-30.0, -20.0, -3.5, -3.0, -2.5, -1.0, -0.5, -1e-7, 0.0, 1e-7, 0.5, 1.0, 1.5, 2.5,
         3.0, 3.5, 19.5, 20.0, 20.5, 30.0]

# name: (ONNX op, attributes, torch function of x (and of the extra tensor))
UNARY = {
    "softplus": ("Softplus", {}, F.softplus),
    "softsign": ("Softsign", {}, F.softsign),
    "elu": ("Elu", {"alpha": 0.7}, lambda x: F.elu(x, alpha=0.7)),
    "elu_default": ("Elu", {}, F.elu),
    "selu": ("Selu", {}, F.selu),
    "celu": ("Celu", {"alpha": 1.5}, lambda x: F.celu(x, alpha=1.5)),
    "hardsigmoid": ("HardSigmoid", {"alpha": 1.0 / 6, "beta": 0.5}, F.hardsigmoid),
    "hardswish": ("HardSwish", {}, F.hardswish),
    "thresholdedrelu": ("ThresholdedRelu", {"alpha": 0.5}, lambda x: F.threshold(x, 0.5, 0.0)),
    "sin": ("Sin", {}, torch.sin),
    "cos": ("Cos", {}, torch.cos),
    "floor": ("Floor", {}, torch.floor),
    "ceil": ("Ceil", {}, torch.ceil),
    "round": ("Round", {}, torch.round),
    "sign": ("Sign", {}, torch.sign),
}


def points(rng, k):
    extra = rng.uniform(-4, 4, k - len(KINKS)).astype(np.float32)
    return np.concatenate([np.array(KINKS, np.float32), extra])[None, :]


def build(tmp, rng):
    k = 32
    nodes, inputs, inits, terms, data, cases = [], [], [], [], {}, []

    def branch(name, op, attrs, operands, torch_fn, extra_params=()):
        """operands: the data fields of the op's inputs (each + its own zero
        parameter); extra_params: (name, value) parameters fed as further
        inputs (PRelu's slope)."""
        args = []
        for j, x in enumerate(operands):
            field, param = f"{name}_x{j}", f"{name}_p{j}"
            data[field] = x
            inputs.append(oh.make_tensor_value_info(field, onnx.TensorProto.FLOAT, ["N", k]))
            inits.append(onh.from_array(np.zeros(k, np.float32), param))
            nodes.append(oh.make_node("Add", [field, param], [f"{name}_z{j}"]))
            args.append(f"{name}_z{j}")
        for pname, value in extra_params:
            inits.append(onh.from_array(value, pname))
            args.append(pname)
        nodes.append(oh.make_node(op, args, [f"{name}_y"], **attrs))
        r = rng.choice([-1.0, 1.0], k).astype(np.float32) * rng.uniform(0.5, 1.5, k).astype(np.float32)
        inits.append(onh.from_array(r[None, :], f"{name}_r"))
        nodes.append(oh.make_node("Mul", [f"{name}_y", f"{name}_r"], [f"{name}_m"]))
        nodes.append(oh.make_node("ReduceSum", [f"{name}_m"], [f"{name}_t"], keepdims=0))
        terms.append(f"{name}_t")
        cases.append((name, operands, extra_params, r, torch_fn))

    for name, (op, attrs, fn) in UNARY.items():
        branch(name, op, attrs, [points(rng, k)], fn)
    slope = rng.uniform(-0.5, 0.5, k).astype(np.float32)
    branch("prelu", "PRelu", {}, [points(rng, k)], lambda x, w: F.prelu(x, w),
           [("prelu_slope", slope)])
    # Max/Min: ties in the first half (x0 == x1), random elsewhere
    for op, fn in (("Max", torch.max), ("Min", torch.min)):
        a = points(rng, k)
        b = a.copy()
        b[0, k // 2:] = rng.uniform(-4, 4, k - k // 2)
        branch(op.lower(), op, {}, [a, b], fn)
    nodes.append(oh.make_node("Sum", terms, ["loss"]))
    graph = oh.make_graph(nodes, "activations", inputs,
                          [oh.make_tensor_value_info("loss", onnx.TensorProto.FLOAT, [])], inits)
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    path = os.path.join(tmp, "activations.onnx")
    onnx.save(model, path)
    np.savez(os.path.join(tmp, "data.npz"), **data)
    return path, cases


def main():
    trainc = sys.argv[1]
    rng = np.random.default_rng(6)
    with tempfile.TemporaryDirectory() as tmp:
        path, cases = build(tmp, rng)
        spec = {"loss": {"type": "output", "input": "loss"},
                "optimizer": {"type": "SGD", "lr": 1.0},
                "data": {"train": {"format": "npz", "path": os.path.join(tmp, "data.npz")}},
                "batch_size": 1, "epochs": 1, "shuffle": False, "log_interval": 1}
        with open(os.path.join(tmp, "spec.json"), "w") as f:
            json.dump(spec, f)
        out, metrics = os.path.join(tmp, "trained.onnx"), os.path.join(tmp, "m.jsonl")
        r = subprocess.run([trainc, "train", path, "--spec", os.path.join(tmp, "spec.json"),
                            "--out", out, "--metrics", metrics], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL trainc train ({r.returncode}): {r.stderr.strip()}")
            return 1
        trained = {t.name: onh.to_array(t) for t in onnx.load(out).graph.initializer}
        loss = [json.loads(line) for line in open(metrics) if json.loads(line)["kind"] == "train"]
        failed, total_loss = 0, 0.0
        for name, operands, extra, r, fn in cases:
            xs = [torch.tensor(x, requires_grad=True) for x in operands]
            ws = [torch.tensor(v, requires_grad=True) for _, v in extra]
            term = (fn(*xs, *ws) * torch.tensor(r[None, :])).sum()
            term.backward()
            total_loss += term.item()
            problems = []
            for j, x in enumerate(xs):
                want = x.grad.numpy()[0]
                got = -trained[f"{name}_p{j}"]
                problems += compare(f"d/dx{j}", operands[j][0], got, want)
            for (pname, v), w in zip(extra, ws):
                want = v - w.grad.numpy()
                problems += compare(f"{pname} after the step", operands[0][0], trained[pname], want)
            print(("FAIL " if problems else "ok   ") + name + ("".join("\n     " + p for p in problems[:4])))
            failed += bool(problems)
        ours = loss[0]["loss"]
        if abs(ours - total_loss) > 1e-5 * max(1.0, abs(total_loss)):
            print(f"FAIL loss: trainc {ours!r}, torch {total_loss!r}")
            failed += 1
        print(f"{len(cases) + 1 - failed} passed, {failed} failed")
        return 1 if failed else 0


def compare(what, x, got, want):
    bad = np.abs(got.astype(np.float64) - want) > 1e-6 * np.maximum(1.0, np.abs(want))
    return [f"{what} at x = {x[i]!r}: trainc {got[i]!r}, torch {want[i]!r}" for i in np.flatnonzero(bad)]


if __name__ == "__main__":
    sys.exit(main())
