"""Ahead-of-time steps (trainc compile, trainc build) and the JIT's compile
cache, end to end:

1. JIT and AOT train bit for bit alike: LeNet-5 for 20 steps (2 epochs of
   10 batches, StepLR halving the lr after the first) under `trainc train
   --out` and under a trainer from `trainc build`: same progress lines, same
   written weights, byte for byte. The trainer links no LLVM (ldd, nm).
2. A trainer trains LeNet-5 for one epoch on Fashion-MNIST, and the model
   it writes gives under `trainc eval` the validation loss and accuracy the
   trainer reported.
3. The runtime installs (cmake --install into a temporary prefix), and
   examples/train_step.c builds against the installed header and library
   through pkg-config alone, links a step from `trainc compile`, and its
   loss goes down.
4. `trainc compile --target aarch64-linux-gnu --cpu generic` writes an
   AArch64 object with the prefixed entry points; --weights writes a weights
   file instead of embedding.
5. The compile cache: a second `trainc train` hits, skips code generation,
   and trains to the same weights as a run without the cache.

usage: /usr/bin/python3 aot.py TRAINC SOURCE_DIR BUILD_DIR
"""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper

FASHION = "/usr/share/datasets/fashion-mnist"
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""))
    sys.stdout.flush()
    return ok


def run(cmd, env=None, cwd=None, timeout=600):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=cwd, timeout=timeout)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return data[:4], dims, np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, magic, arr):
    with gzip.open(path, "wb") as f:
        f.write(magic)
        for d in arr.shape:
            f.write(int(d).to_bytes(4, "big"))
        f.write(arr.tobytes())


def weights(path):
    m = onnx.load(path)
    return {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}


def same_weights(a, b):
    wa, wb = weights(a), weights(b)
    if wa.keys() != wb.keys():
        return False, "different initializers"
    for k in wa:
        if wa[k].dtype != wb[k].dtype or wa[k].shape != wb[k].shape or \
                wa[k].tobytes() != wb[k].tobytes():
            return False, f"'{k}' differs (max |diff| {np.abs(wa[k] - wb[k]).max()})"
    return True, ""


def progress(text):
    return [l for l in text.splitlines() if l.startswith(("Training:", "Valid:"))]


def small_spec(tmp, source):
    """LeNet-5 on 320 training and 256 validation images: 10 batches of 32."""
    files = {}
    for split, prefix, n in (("train", "train", 320), ("valid", "t10k", 256)):
        for kind in ("images", "labels"):
            magic, _, arr = read_idx(f"{FASHION}/{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz")
            path = os.path.join(tmp, f"{split}-{kind}.gz")
            write_idx(path, magic, arr[:n])
            files[(split, kind)] = path
    spec = json.load(open(os.path.join(source, "models", "lenet5.json")))
    spec["data"]["train"] = {"format": "idx", "images": files[("train", "images")],
                             "labels": files[("train", "labels")]}
    spec["data"]["valid"] = {"format": "idx", "images": files[("valid", "images")],
                             "labels": files[("valid", "labels")]}
    spec.update(batch_size=32, epochs=2, seed=3, log_interval=2,
                lr_scheduler={"type": "StepLR", "step_size": 1, "gamma": 0.5})
    path = os.path.join(tmp, "small.json")
    json.dump(spec, open(path, "w"))
    return path


def test_jit_equals_aot(trainc, model, spec, tmp):
    env = {"TRAINC_NO_CACHE": "1"}
    jit_out = os.path.join(tmp, "jit.onnx")
    r = run([trainc, "train", model, "--spec", spec, "--out", jit_out], env=env)
    if not check("trainc train (JIT, 20 steps)", r.returncode == 0, r.stderr[-600:]):
        return
    trainer = os.path.join(tmp, "trainer_small")
    r = run([trainc, "build", model, "--spec", spec, "-o", trainer], env=env)
    if not check("trainc build", r.returncode == 0, r.stderr[-600:]):
        return
    aot_out = os.path.join(tmp, "aot.onnx")
    t = run([trainer, "--out", aot_out])
    if not check("the trainer runs", t.returncode == 0, t.stderr[-600:]):
        return
    jit_lines = progress(run([trainc, "train", model, "--spec", spec], env=env).stdout)
    check("same progress lines (loss, accuracy, validation)",
          progress(t.stdout) == jit_lines and len(jit_lines) == 12,
          f"\nJIT: {jit_lines}\nAOT: {progress(t.stdout)}")
    ok, why = same_weights(jit_out, aot_out)
    check("the trainer's weights are the JIT's, bit for bit", ok, why)
    onnx.checker.check_model(onnx.load(aot_out))
    check("the trained model passes onnx.checker", True)
    ldd = run(["ldd", trainer]).stdout
    nm = run(["nm", trainer]).stdout
    check("the trainer links no LLVM, no protobuf-c",
          "llvm" not in ldd.lower() and "protobuf" not in ldd.lower()
          and "llvm" not in nm.lower(), ldd)


def test_trainer_eval(trainc, source, tmp):
    model = os.path.join(source, "models", "lenet5.onnx")
    spec = os.path.join(source, "models", "lenet5.json")
    trainer = os.path.join(tmp, "trainer")
    r = run([trainc, "build", model, "--spec", spec, "--epochs", "1", "-o", trainer])
    if not check("trainc build (LeNet-5, Fashion-MNIST, 1 epoch)", r.returncode == 0,
                 r.stderr[-600:]):
        return
    size = os.path.getsize(trainer)
    print(f"     trainer size: {size} bytes")
    out = os.path.join(tmp, "trained.onnx")
    t = run([trainer], cwd=tmp)
    if not check("the trainer trains one epoch", t.returncode == 0 and os.path.exists(out),
                 t.stderr[-600:]):
        return
    valid = [l for l in t.stdout.splitlines() if l.startswith("Valid:")]
    m = re.search(r"Loss: ([0-9.]+) Acc:([0-9.]+)%", valid[-1] if valid else "")
    e = run([trainc, "eval", out, "--spec", spec])
    em = re.search(r"Eval: Loss: ([0-9.]+) Acc:([0-9.]+)% \((\d+) samples\)", e.stdout)
    if not check("trainc eval on the written model", e.returncode == 0 and em,
                 e.stdout + e.stderr[-600:]):
        return
    check("eval gives the loss and accuracy the trainer reported",
          m and m.group(1) == em.group(1) and m.group(2) == em.group(2)
          and em.group(3) == "10000", f"trainer {valid[-1:]}, eval {e.stdout.strip()}")
    check("one epoch reaches 80% validation accuracy", float(em.group(2)) >= 80.0, em.group(2))


def test_example(trainc, source, build, tmp):
    prefix = os.path.join(tmp, "prefix")
    r = run(["cmake", "--install", build, "--prefix", prefix])
    if not check("cmake --install", r.returncode == 0, r.stdout[-400:] + r.stderr[-400:]):
        return
    lib = os.path.join(prefix, "lib", "libtrainc_runtime.a")
    check("the runtime library is installed", os.path.exists(lib))
    print(f"     runtime library size: {os.path.getsize(lib)} bytes")
    check("the runtime has no LLVM or protobuf symbols",
          not re.search(r"llvm|protobuf", run(["nm", lib]).stdout, re.I))
    pc = os.path.join(prefix, "lib", "pkgconfig")
    env = {"PKG_CONFIG_PATH": pc}
    flags = run(["pkg-config", "--cflags", "--libs", "trainc-runtime"], env=env)
    if not check("pkg-config trainc-runtime", flags.returncode == 0 and prefix in flags.stdout,
                 flags.stdout + flags.stderr):
        return
    work = os.path.join(tmp, "example")
    os.makedirs(work)
    installed = os.path.join(prefix, "bin", "trainc")
    r = run([installed, "compile", os.path.join(source, "models", "mlp.onnx"),
             "--spec", os.path.join(source, "models", "mlp.json"), "--prefix", "step",
             "-o", "step.o", "--header", "step.h"], cwd=work)
    if not check("trainc compile (installed) models/mlp.onnx", r.returncode == 0, r.stderr[-600:]):
        return
    example = os.path.join(prefix, "share", "trainc", "examples", "train_step.c")
    cmd = ["cc", "-std=gnu17", "-O2", example, "step.o", "-I."] + flags.stdout.split() + \
          ["-o", "train_step"]
    r = run(cmd, cwd=work)
    if not check("the example builds with only the installed header and library",
                 r.returncode == 0, " ".join(cmd) + "\n" + r.stderr[-800:]):
        return
    r = run(["./train_step", "300"], cwd=work)
    check("the example trains and its loss goes down",
          r.returncode == 0 and "the loss went down" in r.stdout, r.stdout + r.stderr)

    # two steps in one program: the prefixes keep their symbols apart
    r = run([installed, "compile", os.path.join(source, "models", "lenet5.onnx"),
             "-o", "lenet5.o", "--header", "lenet5.h"], cwd=work)
    with open(os.path.join(work, "two.c"), "w") as f:
        f.write('#include <stdio.h>\n#include "step.h"\n#include "lenet5.h"\n'
                'int main(void) { printf("%zu %zu\\n", step_step()->arena_bytes, '
                'lenet5_step()->arena_bytes); return 0; }\n')
    cmd = ["cc", "two.c", "step.o", "lenet5.o", "-I."] + flags.stdout.split() + ["-o", "two"]
    r2 = run(cmd, cwd=work)
    r3 = run(["./two"], cwd=work) if r2.returncode == 0 else r2
    check("two compiled steps link into one program", r.returncode == 0 and
          r3.returncode == 0 and len(r3.stdout.split()) == 2, r.stderr + r2.stderr[-800:])


def test_cross_and_weights(trainc, source, tmp):
    model = os.path.join(source, "models", "lenet5.onnx")
    obj = os.path.join(tmp, "lenet5_arm.o")
    r = run([trainc, "compile", model, "--target", "aarch64-linux-gnu", "--cpu", "generic",
             "-o", obj, "--header", os.path.join(tmp, "lenet5_arm.h")])
    if not check("trainc compile --target aarch64-linux-gnu", r.returncode == 0, r.stderr[-600:]):
        return
    h = run(["readelf", "-h", obj]).stdout
    check("readelf -h says AArch64", re.search(r"Machine:\s+AArch64", h), h)
    syms = run(["readelf", "-s", "-W", obj]).stdout
    check("the entry points carry the prefix",
          all(re.search(rf"GLOBAL\s+DEFAULT\s+\d+\s+lenet5_{e}$", syms, re.M)
              for e in ("train_step", "grad_step", "apply_update", "eval_step", "infer",
                        "init_arena")), syms[-1500:])
    w = os.path.join(tmp, "lenet5.weights")
    r = run([trainc, "compile", model, "-o", os.path.join(tmp, "lenet5_w.o"), "--weights", w])
    ok = r.returncode == 0 and open(w, "rb").read(8) == b"TCWEIGHT"
    check("--weights writes a weights file, not embedded", ok and "lenet5_init_arena" not in
          run(["nm", os.path.join(tmp, "lenet5_w.o")]).stdout, r.stderr[-600:])
    r = run([trainc, "compile", model, "-o", os.path.join(tmp, "x.s"), "--emit", "asm"])
    check("--emit asm", r.returncode == 0 and "lenet5_train_step:" in open(os.path.join(tmp, "x.s")).read())


def test_cache(trainc, model, spec, tmp):
    cache = os.path.join(tmp, "cache")
    env = {"TRAINC_CACHE_DIR": cache}
    outs = [os.path.join(tmp, f"cache{i}.onnx") for i in range(2)]
    r1 = run([trainc, "train", model, "--spec", spec, "--out", outs[0]], env=env)
    r2 = run([trainc, "train", model, "--spec", spec, "--out", outs[1]], env=env)
    check("first run: a cache miss that stores the object",
          r1.returncode == 0 and "compile cache miss" in r1.stderr, r1.stderr[-600:])
    check("second run: a cache hit without code generation",
          r2.returncode == 0 and "compile cache hit" in r2.stderr
          and "no code generation" in r2.stderr, r2.stderr[-600:])
    for r, what in ((r1, "miss"), (r2, "hit")):
        m = re.search(r"compiled the training step in ([0-9.]+) s", r.stderr)
        print(f"     JIT compile time ({what}): {m.group(1) if m else '?'} s")
    ok, why = same_weights(outs[0], outs[1])
    check("cached code trains to the same weights", ok, why)
    ok, why = same_weights(outs[1], os.path.join(tmp, "jit.onnx"))
    check("... as the JIT without the cache", ok, why)


def main():
    trainc, source, build = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    model = os.path.join(source, "models", "lenet5.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        spec = small_spec(tmp, source)
        test_jit_equals_aot(trainc, model, spec, tmp)
        test_cross_and_weights(trainc, source, tmp)
        test_cache(trainc, model, spec, tmp)
        test_example(trainc, source, build, tmp)
        test_trainer_eval(trainc, source, tmp)
    print(f"{sum(results)}/{len(results)} checks passed")
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
