#!/usr/bin/python3
"""Makes the small ONNX models the lit tests of compiler/passes read.

Run from anywhere: /usr/bin/python3 tests/lit/Inputs/make_inputs.py
The outputs are committed (a few KB each), so the tests need neither torch
nor onnx at run time. Weights are seeded, so a rerun gives the same files
up to the exporter's version.

  conv_batch.onnx       a small conv net exported by torch (opset 13) with a
                        dynamic batch axis: shapes inferred with N
  view_chain.onnx       x.view(x.size(0), -1) exported by torch (opset 13):
                        Shape -> Gather -> Unsqueeze -> Concat -> Reshape
  view_static.onnx      x.reshape(-1, x.size(1) * x.size(3)) (torch, opset 13):
                        static dims from a Shape chain fold to Constants
  dead_branch.onnx      hand-built: a branch and an initializer nothing uses
  canon_opset11.onnx    hand-built Squeeze/Unsqueeze (axes attributes) and
                        Softmax/LogSoftmax with the pre-13 axis semantics
  canon_opset13.onnx    the same graph at opset 13 (axes as inputs)
  einsum_scatter.onnx   hand-built Einsum (attention scores, a batched
                        diagonal) and ScatterElements (negative axis, add)
  bad_gemm.onnx, bad_declared.onnx, bad_reshape.onnx
                        hand-built shape errors (message tests)
"""
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


class ConvBatch(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.pool = torch.nn.MaxPool2d(2, ceil_mode=True)
        self.conv2 = torch.nn.Conv2d(4, 6, 3, stride=2)
        self.avg = torch.nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False)
        self.fc = torch.nn.Linear(6 * 4 * 4, 5)

    def forward(self, x):                          # [N,1,14,14]
        x = self.pool(torch.relu(self.conv1(x)))  # [N,4,7,7] (ceil_mode)
        x = self.avg(torch.relu(self.conv2(x)))   # [N,6,3,3] -> [N,6,4,4]
        return self.fc(torch.flatten(x, 1))       # [N,96] -> [N,5]


class ViewChain(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.fc = torch.nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        x = x.view(x.size(0), -1)
        return self.fc(x)


class ViewStatic(torch.nn.Module):
    def forward(self, x):                       # [N,2,3,4]
        x = torch.relu(x)
        return x.reshape(-1, x.size(1) * x.size(3))  # [3N,8]


def export(make, shape, name, out_dim0="batch"):
    torch.manual_seed(0)
    model = make().eval()
    torch.onnx.export(model, torch.zeros(*shape), path(name), opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: out_dim0}})


def save(graph, opset, name):
    model = helper.make_model(graph, producer_name="make_inputs.py",
                              opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, path(name))


def dead_branch():
    f32 = TensorProto.FLOAT
    w = helper.make_tensor("w", f32, [4, 3], np.arange(12, dtype=np.float32).ravel())
    unused = helper.make_tensor("unused_bias", f32, [3], [1, 2, 3])
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["mm"], name="live_matmul"),
        helper.make_node("Relu", ["mm"], ["y"], name="live_relu"),
        helper.make_node("Sigmoid", ["x"], ["s"], name="dead_sigmoid"),
        helper.make_node("Add", ["s", "s"], ["s2"], name="dead_add"),
        helper.make_node("Shape", ["mm"], ["shp"], name="dead_shape"),
    ]
    graph = helper.make_graph(
        nodes, "dead_branch",
        [helper.make_tensor_value_info("x", f32, ["batch", 4])],
        [helper.make_tensor_value_info("y", f32, ["batch", 3])],
        initializer=[w, unused])
    save(graph, 13, "dead_branch.onnx")


def canon(opset):
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    inits = []

    def axes_node(op, inp, out, axes):
        if opset < 13:
            return helper.make_node(op, [inp], [out], name=out, axes=axes)
        inits.append(helper.make_tensor(out + "_axes", i64, [len(axes)], axes))
        return helper.make_node(op, [inp, out + "_axes"], [out], name=out)

    nodes = [
        axes_node("Unsqueeze", "x", "unsq", [1, -1]),      # [N,1,3,4,1]
        axes_node("Squeeze", "unsq", "sq", [-1]),          # [N,1,3,4]
        helper.make_node("Squeeze", ["sq"], ["sq_all"], name="sq_all"),  # [N,3,4]
        helper.make_node("Softmax", ["sq_all"], ["sm_default"], name="sm_default"),
        helper.make_node("Softmax", ["sm_default"], ["sm_axis1"], name="sm_axis1", axis=1),
        helper.make_node("LogSoftmax", ["sm_axis1"], ["y"], name="lsm_last", axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "canon",
        [helper.make_tensor_value_info("x", f32, ["batch", 3, 4])],
        [helper.make_tensor_value_info("y", f32, ["batch", 3, 4])],
        initializer=inits)
    save(graph, opset, "canon_opset%d.onnx" % opset)


def bad_models():
    """Models whose shapes do not add up; the tests check the messages."""
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], name="/fc1/Gemm", transB=1)],
        "bad_gemm",
        [helper.make_tensor_value_info("x", f32, ["batch", 25]),
         helper.make_tensor_value_info("w", f32, [12, 40])],
        [helper.make_tensor_value_info("y", f32, ["batch", 12])])
    save(graph, 13, "bad_gemm.onnx")
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("Flatten", ["r"], ["y"], name="flat")],
        "bad_declared",
        [helper.make_tensor_value_info("x", f32, ["batch", 3, 4])],
        [helper.make_tensor_value_info("y", f32, ["batch", 7])])
    save(graph, 13, "bad_declared.onnx")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape")],
        "bad_reshape",
        [helper.make_tensor_value_info("x", f32, ["batch", 12]),
         helper.make_tensor_value_info("s", i64, [2])],
        [helper.make_tensor_value_info("y", f32, ["batch", "cols"])])
    save(graph, 13, "bad_reshape.onnx")


def elementwise_chain():
    """y = tanh(relu(x * s + b)): one fused loop when compiled."""
    f32 = TensorProto.FLOAT
    scale = helper.make_tensor("scale", f32, [64], np.linspace(-1, 1, 64, dtype=np.float32))
    bias = helper.make_tensor("bias", f32, [64], np.linspace(1, -1, 64, dtype=np.float32))
    nodes = [
        helper.make_node("Mul", ["x", "scale"], ["m"], name="scale_mul"),
        helper.make_node("Add", ["m", "bias"], ["a"], name="bias_add"),
        helper.make_node("Relu", ["a"], ["r"], name="relu"),
        helper.make_node("Tanh", ["r"], ["y"], name="tanh"),
    ]
    graph = helper.make_graph(
        nodes, "elementwise_chain",
        [helper.make_tensor_value_info("x", f32, ["batch", 64])],
        [helper.make_tensor_value_info("y", f32, ["batch", 64])],
        initializer=[scale, bias])
    save(graph, 13, "elementwise_chain.onnx")


def einsum_scatter():
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    nodes = [
        helper.make_node("Einsum", ["q", "k"], ["att"], name="scores",
                         equation="bhqd, bhkd -> bhqk"),
        helper.make_node("Einsum", ["sq"], ["diag"], name="diag", equation="...ii->...i"),
        helper.make_node("ScatterElements", ["att", "idx", "upd"], ["y"], name="scatter",
                         axis=-1, reduction="add"),
    ]
    graph = helper.make_graph(
        nodes, "einsum_scatter",
        [helper.make_tensor_value_info("q", f32, ["batch", 2, 3, 4]),
         helper.make_tensor_value_info("k", f32, ["batch", 2, 5, 4]),
         helper.make_tensor_value_info("sq", f32, ["batch", 3, 3]),
         helper.make_tensor_value_info("idx", i64, ["batch", 2, 3, 2]),
         helper.make_tensor_value_info("upd", f32, ["batch", 2, 3, 2])],
        [helper.make_tensor_value_info("y", f32, ["batch", 2, 3, 5]),
         helper.make_tensor_value_info("diag", f32, ["batch", 3])])
    save(graph, 16, "einsum_scatter.onnx")


def main():
    elementwise_chain()
    einsum_scatter()
    export(ConvBatch, (2, 1, 14, 14), "conv_batch.onnx")
    export(ViewChain, (2, 1, 6, 6), "view_chain.onnx")
    # the output's dim 0 is 3N, not the batch: give it a name of its own
    export(ViewStatic, (2, 2, 3, 4), "view_static.onnx", out_dim0="rows")
    dead_branch()
    canon(11)
    canon(13)
    bad_models()
    for name in sorted(os.listdir(HERE)):
        if name.endswith(".onnx"):
            print("%-22s %6d bytes" % (name, os.path.getsize(path(name))))


if __name__ == "__main__":
    main()
