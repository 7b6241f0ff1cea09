"""Writes the small ONNX models the importer's unit test loads.

Usage: /usr/bin/python3 make_models.py OUTDIR

The models are generated rather than committed so that they stay readable
here, next to the values tests/unit/test_onnx_import.c expects from them:

  ext.onnx (+ ext.bin)  external data, an initializer also listed as a graph
                        input, a rank-0 and a zero-element initializer, an
                        absent optional input, value_info, declared outputs
  typed.onnx            initializers of every supported dtype in the typed
                        fields (no raw_data), attributes of every kind
  bad_*.onnx            one defect each; the unit test checks the message
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 13)]


def external(name, dims, location, offset=None, length=None):
    """A float TensorProto whose data lives in `location`."""
    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims)
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def save(out, name, nodes, inputs, outputs, inits=(), value_info=(), opset=OPSET):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits), value_info=list(value_info))
    m = helper.make_model(g, opset_imports=opset)
    # Serialized directly: onnx.save would try to resolve external data.
    with open(os.path.join(out, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def make_ext(out):
    w = (np.arange(12, dtype=np.float32) * 0.5).reshape(4, 3)
    b = np.array([1, 2, 3], dtype=np.float32)
    with open(os.path.join(out, "ext.bin"), "wb") as f:
        f.write(w.tobytes() + b.tobytes())
    inits = [
        external("w", [4, 3], "ext.bin", offset=0, length=48),
        external("b", [3], "ext.bin", offset=48),
        numpy_helper.from_array(np.array(2.5, dtype=np.float32), "s"),
        numpy_helper.from_array(np.zeros((0, 3), dtype=np.float32), "e"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "b"], ["z"], name="add"),
        helper.make_node("Clip", ["z", "", "s"], ["c"], name="clip"),
        helper.make_node("Relu", ["c"], ["r"]),  # unnamed: node #3
        helper.make_node("Dropout", ["r"], ["d", ""], name="dropout"),
    ]
    inputs = [vi("x", TensorProto.FLOAT, ["batch", 4]),
              vi("w", TensorProto.FLOAT, [4, 3])]  # also an initializer
    outputs = [vi("d", TensorProto.FLOAT, ["batch", 3]),
               vi("c", TensorProto.FLOAT, ["other", 3])]
    value_info = [vi("z", TensorProto.FLOAT, ["batch", 3]),
                  helper.make_tensor_value_info("mm", TensorProto.FLOAT, None),
                  vi("gone", TensorProto.FLOAT, [1])]
    save(out, "ext", nodes, inputs, outputs, inits, value_info)


def make_typed(out):
    T = TensorProto
    inits = [
        helper.make_tensor("f32", T.FLOAT, [2], [1.5, -2.0]),
        helper.make_tensor("f64", T.DOUBLE, [2], [0.25, 1e300]),
        helper.make_tensor("i32", T.INT32, [3], [-1, 0, 2147483647]),
        helper.make_tensor("i8", T.INT8, [3], [-128, 0, 127]),
        helper.make_tensor("u8", T.UINT8, [2], [0, 255]),
        helper.make_tensor("i16", T.INT16, [2], [-32768, 32767]),
        helper.make_tensor("u16", T.UINT16, [2], [0, 65535]),
        helper.make_tensor("bool", T.BOOL, [3], [True, False, True]),
        helper.make_tensor("i64", T.INT64, [2], [-(2**63), 2**63 - 1]),
        helper.make_tensor("u32", T.UINT32, [2], [0, 2**32 - 1]),
        helper.make_tensor("u64", T.UINT64, [2], [0, 2**64 - 1]),
        helper.make_tensor("f32_2x3", T.FLOAT, [2, 3], [1, 2, 3, 4, 5, 6]),
    ]
    leaky = helper.make_node(
        "LeakyRelu", ["x"], ["y"], name="leaky", alpha=0.5, i=7, s="hello",
        t=helper.make_tensor("tv", T.INT64, [2], [3, 4]),
        fs=[1.0, 2.5], is_=[1, -2, 3], ss=["a", "bc"])
    # make_node cannot take the keyword `is`; rename the attribute afterwards.
    for a in leaky.attribute:
        if a.name == "is_":
            a.name = "is"
    const = helper.make_node("Constant", [], ["k"], name="const",
                             value=helper.make_tensor("kv", T.INT64, [3], [5, 6, 7]))
    save(out, "typed", [leaky, const], [vi("x", T.FLOAT, [3])],
         [vi("y", T.FLOAT, [3]), vi("k", T.INT64, [3])], inits)


def one_node(out, name, inits=(), node=None, inputs=None, outputs=None, opset=OPSET):
    """A Relu-shaped model with one defect injected by the caller."""
    node = node or helper.make_node("Relu", ["x"], ["y"], name="relu")
    inputs = inputs if inputs is not None else [vi("x", TensorProto.FLOAT, ["N", 4])]
    outputs = outputs if outputs is not None else [vi("y", TensorProto.FLOAT, ["N", 4])]
    save(out, name, [node], inputs, outputs, inits, opset=opset)


def make_bad(out):
    T = TensorProto
    with open(os.path.join(out, "short.bin"), "wb") as f:
        f.write(b"\0" * 8)
    one_node(out, "bad_ext_missing", [external("w", [2], "missing.bin")])
    one_node(out, "bad_ext_short", [external("w", [4], "short.bin")])
    one_node(out, "bad_ext_length", [external("w", [4], "short.bin", offset=4, length=16)])
    one_node(out, "bad_ext_offset", [external("w", [1], "short.bin", offset=100)])
    one_node(out, "bad_ext_abs", [external("w", [1], "/etc/passwd")])
    one_node(out, "bad_ext_dotdot", [external("w", [1], "sub/../../short.bin")])
    # Built by hand: helper.make_tensor refuses counts that do not match.
    one_node(out, "bad_typed_count", [TensorProto(name="w", data_type=T.FLOAT, dims=[2, 2],
                                                  float_data=[1, 2, 3])])
    one_node(out, "bad_raw_size", [TensorProto(name="w", data_type=T.FLOAT, dims=[2, 2],
                                               raw_data=b"\0" * 12)])
    one_node(out, "bad_negative_dim", [TensorProto(name="w", data_type=T.FLOAT, dims=[-1])])
    one_node(out, "bad_overflow", [TensorProto(name="w", data_type=T.FLOAT,
                                               dims=[2**40, 2**40])])
    one_node(out, "bad_rank", [TensorProto(name="w", data_type=T.FLOAT, dims=[1] * 9,
                                           float_data=[0])])
    one_node(out, "bad_init_dtype", [helper.make_tensor("w", T.FLOAT16, [1], [0])])
    one_node(out, "bad_batch", inputs=[vi("x", T.FLOAT, ["N", 4]), vi("x2", T.FLOAT, ["B", 4])])
    one_node(out, "bad_symbolic", inputs=[vi("x", T.FLOAT, ["N", "seq"])])
    one_node(out, "bad_no_shape", inputs=[helper.make_tensor_value_info("x", T.FLOAT, None)])
    one_node(out, "bad_input_dtype", inputs=[vi("x", T.STRING, ["N", 4])])
    one_node(out, "bad_arity", node=helper.make_node("Add", ["x", "x", "x"], ["y"], name="add3"))
    one_node(out, "bad_undefined", node=helper.make_node("Add", ["x", "nope"], ["y"], name="add"))
    one_node(out, "bad_twice", node=helper.make_node("Relu", ["x"], ["x"], name="relu"))
    one_node(out, "bad_domain", node=helper.make_node("Relu", ["x"], ["y"], name="r",
                                                      domain="com.example"))
    one_node(out, "bad_unnamed_op", node=helper.make_node("Frobnicate", ["x"], ["y"]))
    sub = helper.make_graph([], "body", [], [])
    one_node(out, "bad_attr_graph", node=helper.make_node("Relu", ["x"], ["y"], name="r",
                                                          body=sub))
    ref = helper.make_node("Relu", ["x"], ["y"], name="r")
    a = ref.attribute.add()
    a.name, a.ref_attr_name, a.type = "alpha", "outer_alpha", onnx.AttributeProto.FLOAT
    one_node(out, "bad_attr_ref", node=ref)
    one_node(out, "bad_output", outputs=[vi("nowhere", T.FLOAT, ["N", 4])])
    one_node(out, "bad_opset", opset=[helper.make_opsetid("", 19)])
    one_node(out, "bad_no_opset", opset=[helper.make_opsetid("com.example", 1)])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    make_ext(out)
    make_typed(out)
    make_bad(out)


if __name__ == "__main__":
    main()
