"""Bad-input tests of the command line: malformed models must give exit code 2
and a message on stderr that names the model file and the place.

Usage: /usr/bin/python3 bad_input.py TRAINC_EXE SOURCE_DIR

Each case builds one broken model with the onnx Python API in a temporary
folder, runs `TRAINC inspect MODEL`, and checks the exit code and that every
expected fragment appears in stderr. One line per case, then
"N passed, N failed"; the exit status is 1 if any case failed.
"""
import os
import random
import subprocess
import sys
import tempfile

from onnx import TensorProto, helper

OPSET = [helper.make_opsetid("", 13)]


def relu_model(nodes=None, inputs=None, outputs=None, inits=(), opset=OPSET):
    """A one-Relu model with parts replaced by the caller."""
    nodes = nodes or [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])]
    outputs = outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])]
    graph = helper.make_graph(nodes, "bad", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=opset).SerializeToString()


def gru_model(op="GRU", gates=3, **attrs):
    """A one-node recurrent model (hidden size 4, input size 3) with W and R
    of `gates` gates."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inits = [helper.make_tensor("W", TensorProto.FLOAT, [1, gates * 4, 3], [0.0] * gates * 12),
             helper.make_tensor("R", TensorProto.FLOAT, [1, gates * 4, 4], [0.0] * gates * 16)]
    node = helper.make_node(op, ["x", "W", "R"], ["y"], name="gru_1", hidden_size=4, **attrs)
    return relu_model(nodes=[node], inputs=[x], outputs=[y], inits=inits)


def external_init(name, dims, location):
    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims)
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", location
    return t


def truncated():
    # Half of a valid model ends inside a field.
    data = relu_model(inits=[helper.make_tensor("w", TensorProto.FLOAT, [64], [0.0] * 64)])
    return data[: len(data) // 2]


def random_bytes():
    # Field number 0 is invalid in every protobuf message, so the parse fails
    # at the first byte whatever the (seeded) rest happens to be.
    rng = random.Random(20240601)
    return bytes([0x07]) + bytes(rng.randrange(256) for _ in range(511))


# (name, model bytes, fragments stderr must contain besides the model path)
CASES = [
    ("truncated protobuf", truncated, ["not a valid ONNX model", "truncated or invalid protobuf"]),
    ("random bytes", random_bytes, ["not a valid ONNX model", "(512 bytes)"]),
    ("empty file", lambda: b"", ["not a valid ONNX model", "(0 bytes)"]),
    ("unknown op",
     lambda: relu_model(nodes=[helper.make_node("Frobnicate", ["x"], ["y"], name="frob_1")]),
     ["node 'frob_1'", "Frobnicate", "unsupported operator"]),
    ("unsupported opset", lambda: relu_model(opset=[helper.make_opsetid("", 3)]),
     ["unsupported opset 3", "'ai.onnx'"]),
    ("missing external data file",
     lambda: relu_model(inits=[external_init("fc.weight", [4, 4], "weights.bin")]),
     ["initializer 'fc.weight'", "weights.bin"]),
    ("float16 input",
     lambda: relu_model(inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["N", 4])]),
     ["input 'x'", "f16"]),
    ("raw_data length does not match dims",
     lambda: relu_model(inits=[TensorProto(name="conv.bias", data_type=TensorProto.FLOAT,
                                           dims=[3, 2], raw_data=b"\0" * 20)]),
     ["initializer 'conv.bias'", "20 bytes", "24"]),
    ("symbolic non-batch dimension",
     lambda: relu_model(inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                              ["N", "seq"])]),
     ["input 'x' dimension 1 ('seq') is symbolic"]),
    ("GRU with an unknown activation",
     lambda: gru_model(activations=["Sigmoid", "Cube"]),
     ["node 'gru_1' (GRU)", "activation 'Cube' is not supported"]),
    ("LSTM whose W does not match hidden_size",
     lambda: gru_model(op="LSTM", gates=3),
     ["node 'gru_1' (LSTM)", "input 1 (W, 'W') has shape [1,12,3] but must be [1,16,3]"]),
    ("node input names an undefined value",
     lambda: relu_model(nodes=[helper.make_node("Add", ["x", "ghost"], ["y"], name="add_1")]),
     ["node 'add_1'", "input 1 ('ghost')"]),
    # found by tests/fuzz: window arithmetic at the int64 limits
    ("MaxPool pads overflow int64",
     lambda: relu_model(nodes=[helper.make_node("MaxPool", ["x"], ["y"], name="pool_1",
                                                kernel_shape=[2], pads=[2**63 - 1, 1])],
                        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8])],
                        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]),
     ["node 'pool_1' (MaxPool)", "spatial axis 0", "overflows int64"]),
    ("Conv dilation overflows int64",
     lambda: relu_model(nodes=[helper.make_node("Conv", ["x", "w"], ["y"], name="conv_1",
                                                dilations=[2**62])],
                        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8])],
                        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                        inits=[helper.make_tensor("w", TensorProto.FLOAT, [1, 1, 3], [0.0] * 3)]),
     ["node 'conv_1' (Conv)", "dilation 4611686018427387904", "overflows int64"]),
]


def run_case(trainc, folder, index, name, make, fragments):
    path = os.path.join(folder, "case%02d.onnx" % index)
    with open(path, "wb") as f:
        f.write(make())
    try:
        proc = subprocess.run([trainc, "inspect", path], capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "could not run %s: %s" % (trainc, e)
    problems = []
    if proc.returncode != 2:
        problems.append("exit code %d, expected 2" % proc.returncode)
    for frag in [path] + fragments:
        if frag not in proc.stderr:
            problems.append("stderr lacks %r" % frag)
    if problems:
        return "; ".join(problems) + "; stderr was: %r" % proc.stderr.strip()
    return None


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: bad_input.py TRAINC_EXE SOURCE_DIR\n")
        return 2
    trainc = sys.argv[1]
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="tc_bad_input_") as folder:
        for i, (name, make, fragments) in enumerate(CASES):
            problem = run_case(trainc, folder, i, name, make, fragments)
            if problem:
                failed += 1
                print("FAIL %s: %s" % (name, problem))
            else:
                passed += 1
                print("ok   %s" % name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
