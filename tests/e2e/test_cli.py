"""End-to-end tests of the trainc command line: help and usage errors, exit
codes, `inspect`, and `run` on small models built here with onnx.helper,
checked against numpy.

usage: test_cli.py TRAINC SOURCE_DIR
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TRAINC = sys.argv[1]
failures = []


def run(*args, cwd=None):
    p = subprocess.run([TRAINC, *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print(f"FAIL {name}\n{detail}", file=sys.stderr)


def expect(name, args, code, stderr_has=(), stdout_has=(), stdout_empty=False, cwd=None):
    rc, out, err = run(*args, cwd=cwd)
    detail = f"  args: {args}\n  exit {rc}\n  stdout: {out!r}\n  stderr: {err!r}"
    check(name + ": exit code", rc == code, detail)
    for s in stderr_has:
        check(f"{name}: stderr has {s!r}", s in err, detail)
    for s in stdout_has:
        check(f"{name}: stdout has {s!r}", s in out, detail)
    if stdout_empty:
        check(name + ": stdout is empty", out == "", detail)
    if code != 0:
        check(name + ": errors start with 'trainc: '", err.startswith("trainc: "), detail)
    return out, err


def mlp_model(path):
    """y = Relu(x @ W + b) and "logits/raw:0" = x @ W + b, x: f32[N,4]."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"], name="mm"),
        helper.make_node("Add", ["xw", "b"], ["logits/raw:0"], name="add"),
        helper.make_node("Relu", ["logits/raw:0"], ["y"], name="relu"),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("logits/raw:0", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return W, b


def two_input_model(path):
    """s = a + b with a, b: f32[N,2] and a static input c: i64[3]; t = c."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["s"], name="add"),
         helper.make_node("Identity", ["c"], ["t"], name="id")],
        "two",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 2]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 2]),
         helper.make_tensor_value_info("c", TensorProto.INT64, [3])],
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, ["N", 2]),
         helper.make_tensor_value_info("t", TensorProto.INT64, [3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def test_usage():
    out, _ = expect("--help", ["--help"], 0, stdout_has=["usage: trainc", "inspect", "run"])
    expect("help run", ["help", "run"], 0, stdout_has=["usage: trainc run"])
    expect("--version", ["--version"], 0, stdout_has=["trainc "])
    expect("no args", [], 1, stderr_has=["usage: trainc"], stdout_empty=True)
    expect("unknown command", ["frobnicate"], 1,
           stderr_has=["trainc: unknown command 'frobnicate'", "usage:"], stdout_empty=True)
    expect("unknown global option", ["--frob"], 1, stderr_has=["unknown option '--frob'"])
    for cmd in ["eval", "compile", "build"]:
        expect(f"help {cmd}", ["help", cmd], 0, stdout_has=[f"usage: trainc {cmd}"])
        expect(f"{cmd} no model", [cmd], 1, stderr_has=["no model given"], stdout_empty=True)
    expect("inspect --help", ["inspect", "--help"], 0, stdout_has=["usage: trainc inspect"])
    expect("run -h", ["run", "-h"], 0, stdout_has=["usage: trainc run"])
    expect("inspect no model", ["inspect"], 1, stderr_has=["missing MODEL.onnx"],
           stdout_empty=True)
    expect("inspect bad flag", ["inspect", "m.onnx", "--bogus"], 1,
           stderr_has=["unknown option '--bogus'"])
    expect("inspect two models", ["inspect", "a.onnx", "b.onnx"], 1,
           stderr_has=["unexpected argument 'b.onnx'"])
    expect("inspect --print-after missing value", ["inspect", "m.onnx", "--print-after"], 1,
           stderr_has=["option '--print-after' needs a value"])
    expect("run no output dir", ["run", "m.onnx", "--input", "x=x.npy"], 1,
           stderr_has=["missing --output-dir"])
    expect("run bad --input", ["run", "m.onnx", "--input", "x", "--output-dir", "o"], 1,
           stderr_has=["not of the form NAME=FILE.npy"])
    expect("run twice the same input",
           ["run", "m.onnx", "--input", "x=1.npy", "--input=x=2.npy", "--output-dir", "o"], 1,
           stderr_has=["input 'x' is given twice"])
    expect("run bad --batch-max", ["run", "m.onnx", "--output-dir", "o", "--batch-max", "0"],
           1, stderr_has=["--batch-max '0' is not a positive integer"])


def test_inspect(tmp):
    model = os.path.join(tmp, "mlp.onnx")
    mlp_model(model)
    out, _ = expect("inspect", ["inspect", model], 0, stdout_has=['graph "', "MatMul", "Relu"])
    check("inspect: shapes inferred", "f32[N,3]" in out, out)
    out, _ = expect("inspect --print-after all", ["inspect", model, "--print-after", "all"], 0,
                    stdout_has=["MatMul"])
    check("inspect --print-after all: several dumps", out.count('graph "') >= 2, out)
    expect("inspect --print-after unknown", ["inspect", model, "--print-after=nope"], 1,
           stderr_has=["unknown pass 'nope'"], stdout_empty=True)
    expect("inspect missing file", ["inspect", os.path.join(tmp, "nope.onnx")], 2,
           stderr_has=["nope.onnx"], stdout_empty=True)
    garbage = os.path.join(tmp, "garbage.onnx")
    with open(garbage, "wb") as f:
        f.write(b"\xff\xff\xff\xff not a protobuf")
    expect("inspect garbage", ["inspect", garbage], 2, stderr_has=["garbage.onnx"],
           stdout_empty=True)


def test_run(tmp):
    model = os.path.join(tmp, "mlp.onnx")
    W, b = mlp_model(model)
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    xp = os.path.join(tmp, "x.npy")
    np.save(xp, x)
    outdir = os.path.join(tmp, "out")
    out, _ = expect("run", ["run", model, "--input", f"x={xp}", "--output-dir", outdir], 0)
    lines = out.splitlines()
    check("run: one line per output", len(lines) == 2, out)
    check("run: lists y", any('"y" f32[3,3]' in l for l in lines), out)
    want = x @ W + b
    y_path = os.path.join(outdir, "y.npy")
    raw_path = os.path.join(outdir, "logits_raw_0.npy")
    for path, ref in [(y_path, np.maximum(want, 0)), (raw_path, want)]:
        check(f"run: {os.path.basename(path)} written", os.path.exists(path), out)
        if os.path.exists(path):
            got = np.load(path)
            check(f"run: {os.path.basename(path)} dtype/shape",
                  got.dtype == np.float32 and got.shape == ref.shape, repr(got))
            check(f"run: {os.path.basename(path)} values",
                  np.allclose(got, ref, rtol=1e-5, atol=1e-6), f"{got}\n{ref}")

    # a larger compiled batch serves a smaller one
    expect("run --batch-max 8", ["run", model, "--input", f"x={xp}", "--output-dir", outdir,
                                 "--batch-max", "8"], 0)
    expect("run --batch-max too small", ["run", model, "--input", f"x={xp}", "--output-dir",
                                         outdir, "--batch-max", "2"], 1,
           stderr_has=["--batch-max 2 is smaller than the batch 3"], stdout_empty=True)

    # bad inputs: exit 2, the input named, both shapes
    bad = os.path.join(tmp, "bad.npy")
    np.save(bad, x.astype(np.float64))
    expect("run wrong dtype", ["run", model, "--input", f"x={bad}", "--output-dir", outdir], 2,
           stderr_has=["input 'x'", "f64[3,4]", "f32[N,4]"], stdout_empty=True)
    np.save(bad, np.zeros((3, 5), np.float32))
    expect("run wrong shape", ["run", model, "--input", f"x={bad}", "--output-dir", outdir], 2,
           stderr_has=["input 'x'", "[3,5]", "[N,4]"], stdout_empty=True)
    np.save(bad, np.zeros((3, 4, 1), np.float32))
    expect("run wrong rank", ["run", model, "--input", f"x={bad}", "--output-dir", outdir], 2,
           stderr_has=["input 'x'", "[3,4,1]", "[N,4]"], stdout_empty=True)
    with open(bad, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00\x04\x00[]  ")
    expect("run corrupt npy", ["run", model, "--input", f"x={bad}", "--output-dir", outdir], 2,
           stderr_has=["bad.npy: byte 10: header is not a Python dict literal"],
           stdout_empty=True)
    expect("run missing npy", ["run", model, "--input", f"x={tmp}/none.npy", "--output-dir",
                               outdir], 2, stderr_has=["none.npy"], stdout_empty=True)
    expect("run missing input", ["run", model, "--output-dir", outdir], 2,
           stderr_has=["missing --input x=FILE.npy"], stdout_empty=True)
    expect("run unknown input", ["run", model, "--input", f"x={xp}", "--input", f"z={xp}",
                                 "--output-dir", outdir], 2,
           stderr_has=["no input 'z'", "'x'"], stdout_empty=True)
    blocker = os.path.join(tmp, "file")
    open(blocker, "w").close()
    expect("run output dir is a file", ["run", model, "--input", f"x={xp}", "--output-dir",
                                        blocker], 2, stderr_has=["file"])

    # several inputs: the batch must agree; static inputs are exact
    model2 = os.path.join(tmp, "two.onnx")
    two_input_model(model2)
    a, b2 = os.path.join(tmp, "a.npy"), os.path.join(tmp, "b.npy")
    c = os.path.join(tmp, "c.npy")
    np.save(a, np.ones((2, 2), np.float32))
    np.save(b2, np.full((2, 2), 2, np.float32))
    np.save(c, np.array([7, 8, 9], np.int64))
    out, _ = expect("run two inputs", ["run", model2, "--input", f"a={a}", "--input",
                                       f"b={b2}", "--input", f"c={c}", "--output-dir", outdir],
                    0)
    s = np.load(os.path.join(outdir, "s.npy"))
    t = np.load(os.path.join(outdir, "t.npy"))
    check("run two inputs: s", s.shape == (2, 2) and (s == 3).all(), repr(s))
    check("run two inputs: t", t.dtype == np.int64 and list(t) == [7, 8, 9], repr(t))
    np.save(b2, np.ones((4, 2), np.float32))
    expect("run batch disagreement", ["run", model2, "--input", f"a={a}", "--input", f"b={b2}",
                                      "--input", f"c={c}", "--output-dir", outdir], 2,
           stderr_has=["input 'b'", "input 'a'"], stdout_empty=True)


def main():
    test_usage()
    with tempfile.TemporaryDirectory() as tmp:
        test_inspect(tmp)
        test_run(tmp)
    if failures:
        print(f"test_cli: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("test_cli: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
