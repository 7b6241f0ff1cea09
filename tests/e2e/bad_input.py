"""Bad-input tests of the command line: malformed models must give exit code 2
and a message on stderr that names the model file and the place.

Usage: /usr/bin/python3 bad_input.py TRAINC_EXE SOURCE_DIR

Each case builds one broken model with the onnx Python API in a temporary
folder, runs `TRAINC inspect MODEL`, and checks the exit code and that every
expected fragment appears in stderr. One line per case, then
"N passed, N failed"; the exit status is 1 if any case failed.

A second list, COMMAND_CASES, builds a folder of files (models with external
data, symbolic links, specs, datasets) and runs any trainc command on it:
absurd sizes, --max-memory, external data and spec paths that try to leave
their folder (and the flag that allows it), output names that try to leave
the output folder.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
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
    ("2^40-element initializer with 16 bytes of raw_data",
     lambda: relu_model(inits=[TensorProto(name="huge.w", data_type=TensorProto.FLOAT,
                                           dims=[1 << 20, 1 << 20], raw_data=b"\0" * 16)]),
     ["initializer 'huge.w'", "raw_data holds 16 bytes", "4398046511104"]),
    ("2^40-element initializer in float_data with 2 values",
     lambda: relu_model(inits=[TensorProto(name="huge.w", data_type=TensorProto.FLOAT,
                                           dims=[1 << 20, 1 << 20], float_data=[1.0, 2.0])]),
     ["initializer 'huge.w'", "float_data holds 2 values", "need 1099511627776"]),
    ("initializer element count overflows int64",
     lambda: relu_model(inits=[TensorProto(name="w", data_type=TensorProto.FLOAT,
                                           dims=[1 << 32, 1 << 32, 1 << 32], raw_data=b"")]),
     ["initializer 'w'", "element count overflows"]),
    ("initializer byte size overflows int64",
     lambda: relu_model(inits=[TensorProto(name="w", data_type=TensorProto.DOUBLE,
                                           dims=[1 << 31, 1 << 31], raw_data=b"")]),
     ["initializer 'w'", "byte size overflows"]),
    ("negative initializer dimension",
     lambda: relu_model(inits=[TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[-4],
                                           raw_data=b"")]),
     ["initializer 'w'", "dimension 0 is negative"]),
    ("rank-9 input",
     lambda: relu_model(inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                              ["N"] + [1] * 8)]),
     ["input 'x'", "rank 9", "at most 8"]),
    ("rank-9 initializer",
     lambda: relu_model(inits=[helper.make_tensor("w9", TensorProto.FLOAT, [1] * 9, [0.0])]),
     ["initializer 'w9'", "rank 9", "at most 8"]),
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


# ---- commands on generated folders ----------------------------------------------------

def write_model(path, inits=(), inputs=None, outputs=None, nodes=None):
    with open(path, "wb") as f:
        f.write(relu_model(nodes=nodes, inputs=inputs, outputs=outputs, inits=inits))


def ext_model(folder, location, name="fc.weight"):
    """folder/model.onnx with a 4-float initializer in external data at `location`."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    write_model(path, inits=[external_init(name, [4], location)])
    return path


def weights_file(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(np.arange(4, dtype=np.float32).tobytes())
    return path


def absolute_location(d):
    outside = weights_file(os.path.join(d, "elsewhere", "w.bin"))
    return [ext_model(os.path.join(d, "m"), outside)], outside


def dotdot_location(d):
    weights_file(os.path.join(d, "elsewhere", "w.bin"))
    return [ext_model(os.path.join(d, "m"), "../elsewhere/w.bin")], "../elsewhere/w.bin"


def symlinked_file(d):
    weights_file(os.path.join(d, "elsewhere", "w.bin"))
    model = ext_model(os.path.join(d, "m"), "w.bin")
    os.symlink(os.path.join(d, "elsewhere", "w.bin"), os.path.join(d, "m", "w.bin"))
    return [model], "w.bin"


def symlinked_folder(d):
    weights_file(os.path.join(d, "elsewhere", "w.bin"))
    model = ext_model(os.path.join(d, "m"), "data/w.bin")
    os.symlink(os.path.join(d, "elsewhere"), os.path.join(d, "m", "data"))
    return [model], "data/w.bin"


def symlink_inside(d):
    weights_file(os.path.join(d, "m", "store", "w.bin"))
    model = ext_model(os.path.join(d, "m"), "w.bin")
    os.symlink("store/w.bin", os.path.join(d, "m", "w.bin"))
    return [model], "w.bin"


def refused_location(make, allowed=False):
    """Case builder: inspect a model whose external data leaves its folder."""
    def case(d):
        args, location = make(d)
        if allowed:
            return ["inspect", args[0], "--allow-external-data-outside-model-dir"], 0, []
        return (["inspect", args[0]], 2,
                [args[0], "initializer 'fc.weight'", location,
                 "--allow-external-data-outside-model-dir"])
    return case


MLP = None  # set in main: SOURCE_DIR/models/mlp.onnx


def tiny_training(d, data_path="data/train.npz", extra=None):
    """d/spec/train.json training models/mlp.onnx on 8 samples at data_path."""
    os.makedirs(os.path.join(d, "spec", "data"), exist_ok=True)
    os.makedirs(os.path.join(d, "elsewhere"), exist_ok=True)
    rng = np.random.RandomState(0)
    for where in ("spec/data", "elsewhere"):
        np.savez(os.path.join(d, where, "train.npz"),
                 image=rng.randint(0, 255, (8, 1, 28, 28)).astype(np.uint8),
                 label=np.arange(8) % 10)
    spec = {"inputs": {"input": "image"},
            "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
            "optimizer": {"type": "SGD", "lr": 0.01},
            "data": {"train": {"format": "npz", "path": data_path},
                     "valid": {"format": "npz", "path": data_path},
                     "transforms": [{"type": "ToTensor"}]},
            "batch_size": 4, "epochs": 1, **(extra or {})}
    path = os.path.join(d, "spec", "train.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def spec_dotdot(d):
    spec = tiny_training(d, "../elsewhere/train.npz")
    return (["train", MLP, "--spec", spec], 2,
            [spec, "$.data.train.path", "'../elsewhere/train.npz'", "leads out of the spec's folder"])


def spec_symlink(d):
    spec = tiny_training(d, "link/train.npz")
    os.symlink(os.path.join(d, "elsewhere"), os.path.join(d, "spec", "link"))
    return (["train", MLP, "--spec", spec], 2,
            [spec, "$.data.train.path", "through a symbolic link", "outside the spec's folder"])


def spec_absolute(d):
    spec = tiny_training(d, os.path.join(d, "elsewhere", "train.npz"))
    return ["train", MLP, "--spec", spec], 0, []


def spec_inside(d):
    return ["train", MLP, "--spec", tiny_training(d)], 0, []


def max_memory(cap, command="train", fragments=()):
    def case(d):
        return ([command, MLP, "--spec", tiny_training(d), "--max-memory", cap], 2,
                ["--max-memory " + cap, "over the cap of"] + list(fragments))
    return case


def max_memory_bad_size(d):
    return (["train", MLP, "--spec", tiny_training(d), "--max-memory", "12Q"], 1,
            ["--max-memory: expected a size", "'12Q'"])


def max_memory_fits(d):
    return ["train", MLP, "--spec", tiny_training(d), "--max-memory", "64M"], 0, []


def max_memory_run(d):
    np.save(os.path.join(d, "x.npy"), np.ones((2, 1, 28, 28), np.float32))
    return (["run", MLP, "--input", "input=" + os.path.join(d, "x.npy"), "--output-dir",
             os.path.join(d, "out"), "--max-memory", "8K"], 2,
            ["--max-memory 8K", "the arena", "over the cap of 8.0 KiB"])


def huge_declared_arena(d):
    # 40 outputs of 2^45 floats each: 5 * 2^50 bytes of arena, never allocated
    big = 1 << 45
    path = os.path.join(d, "wide.onnx")
    write_model(path, nodes=[helper.make_node("Relu", ["x"], ["y%d" % i], name="r%d" % i)
                             for i in range(40)],
                inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", big])],
                outputs=[helper.make_tensor_value_info("y%d" % i, TensorProto.FLOAT, ["N", big])
                         for i in range(40)])
    return ["inspect", path, "--print-llvm"], 2, [path, "the arena", "would exceed"]


def output_names_stay_inside(d):
    # graph outputs named like paths: written inside --output-dir, nowhere else
    path = os.path.join(d, "m", "names.onnx")
    os.makedirs(os.path.dirname(path))
    names = ["../../escaped", "/tmp/abs_escaped", ".hidden"]
    write_model(path, nodes=[helper.make_node("Relu", ["x"], [n], name="r%d" % i)
                             for i, n in enumerate(names)],
                outputs=[helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 4])
                         for n in names])
    np.save(os.path.join(d, "x.npy"), np.ones((2, 4), np.float32))
    out = os.path.join(d, "m", "out")
    return (["run", path, "--input", "x=" + os.path.join(d, "x.npy"), "--output-dir", out], 0,
            [], lambda: check_only_inside(d, out, len(names)))


def check_only_inside(d, out, count):
    files = sorted(os.listdir(out))
    problems = []
    if len(files) != count:
        problems.append("expected %d files in the output folder, found %r" % (count, files))
    for root, _, names in os.walk(d):
        for n in names:
            if "escaped" in n and os.path.dirname(os.path.join(root, n)) != out:
                problems.append("%s written outside the output folder" % os.path.join(root, n))
    if os.path.exists("/tmp/abs_escaped.npy"):
        problems.append("/tmp/abs_escaped.npy was written")
    return problems


def index_out_of_range(d):
    # the error names the node after the graph is freed: the program keeps
    # its own copy of the node descriptions
    path = os.path.join(d, "gather.onnx")
    write_model(path, nodes=[helper.make_node("Gather", ["table", "idx"], ["y"], name="lookup")],
                inputs=[helper.make_tensor_value_info("idx", TensorProto.INT64, ["N"])],
                outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                inits=[helper.make_tensor("table", TensorProto.FLOAT, [3, 4], [0.0] * 12)])
    np.save(os.path.join(d, "idx.npy"), np.array([0, 7], np.int64))
    return (["run", path, "--input", "idx=" + os.path.join(d, "idx.npy"), "--output-dir",
             os.path.join(d, "out")], 2, [path, "node 'lookup' (Gather)", "out of range"])


# (name, builder(folder) -> (argv after trainc, exit code, stderr fragments[, check]))
COMMAND_CASES = [
    ("external data at an absolute path", refused_location(absolute_location)),
    ("external data through '..'", refused_location(dotdot_location)),
    ("external data through a symlinked file", refused_location(symlinked_file)),
    ("external data through a symlinked folder", refused_location(symlinked_folder)),
    ("external data outside, allowed by the flag (absolute)",
     refused_location(absolute_location, allowed=True)),
    ("external data outside, allowed by the flag ('..')",
     refused_location(dotdot_location, allowed=True)),
    ("external data outside, allowed by the flag (symlink)",
     refused_location(symlinked_folder, allowed=True)),
    ("external data through a symlink that stays inside", refused_location(symlink_inside, True)),
    ("spec data path through '..'", spec_dotdot),
    ("spec data path through a symlinked folder", spec_symlink),
    ("spec data path absolute (allowed)", spec_absolute),
    ("spec data path inside its folder", spec_inside),
    ("--max-memory below the datasets", max_memory("1K", fragments=["train.npz", "datasets 0 B"])),
    ("--max-memory below the batch buffers",
     max_memory("20K", fragments=["the batch buffers for", "datasets 6.4 KiB"])),
    ("--max-memory below the arena",
     max_memory("1M", fragments=["the training arena", "loader buffers"])),
    ("--max-memory in trainc eval", max_memory("1M", "eval", ["the training arena"])),
    ("--max-memory in trainc run", max_memory_run),
    ("--max-memory with a bad size", max_memory_bad_size),
    ("--max-memory that fits", max_memory_fits),
    ("declared shapes too large for any arena", huge_declared_arena),
    ("output names cannot leave --output-dir", output_names_stay_inside),
    ("an index out of range at run time names the node", index_out_of_range),
]


def run_command_case(trainc, folder, build):
    made = build(folder)
    argv, code, fragments = made[:3]
    check = made[3] if len(made) > 3 else None
    try:
        proc = subprocess.run([trainc] + argv, capture_output=True, text=True, timeout=300,
                              cwd=folder, env=dict(os.environ, TRAINC_NO_CACHE="1"))
    except (OSError, subprocess.TimeoutExpired) as e:
        return "could not run %s: %s" % (trainc, e)
    problems = []
    if proc.returncode != code:
        problems.append("exit code %d, expected %d" % (proc.returncode, code))
    for frag in fragments:
        if frag not in proc.stderr:
            problems.append("stderr lacks %r" % frag)
    if check:
        problems += check()
    if problems:
        return "; ".join(problems) + "; stderr was: %r" % proc.stderr.strip()[-1500:]
    return None


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
    trainc = os.path.abspath(sys.argv[1])
    global MLP
    MLP = os.path.abspath(os.path.join(sys.argv[2], "models", "mlp.onnx"))
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
        for i, (name, build) in enumerate(COMMAND_CASES):
            case_dir = os.path.join(folder, "cmd%02d" % i)
            os.makedirs(case_dir)
            problem = run_command_case(trainc, case_dir, build)
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
