"""The thread pool (--threads N) changes speed, never results.

LeNet-5 and ResNet-8 (BatchNorm, SGD with momentum, checkpoints), and the
GRU text classifier and the bidirectional LSTM tagger (the recurrent
kernels, whose per-step products are split over the threads at batch 32)
train a few steps on random images or tokens with --threads 1, 2 and 3;
the trained weights, the checkpoint's arrays (weights, momentum or Adam
buffers, running statistics) and every logged loss must be bitwise equal across thread counts. `eval`
prints the same report with 1 and 2 threads, and the standalone trainer of `trainc build` accepts --threads and gives the
JIT's weights bit for bit with 1 and 2. A thread count that is not a
positive integer up to 256 is a usage error (exit 1) naming the option.

usage: /usr/bin/python3 threads.py TRAINC SOURCE_DIR [--jit-only]
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


def arrays(path):
    return {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def same_bits(a, b):
    return a.keys() == b.keys() and all(a[k].tobytes() == b[k].tobytes() for k in a)


def losses(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r["loss"] for r in rows if "loss" in r]


def write_spec(tmp, name, field, target, opt, batch, transforms):
    """A spec training `name` one epoch on tmp/name.npz, logging every step."""
    data = {"train": {"format": "npz", "path": name + ".npz"},
            "valid": {"format": "npz", "path": name + ".npz"}}
    if transforms:
        data["transforms"] = transforms
    spec = {"inputs": {"input": field},
            "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": target},
            "optimizer": opt, "data": data,
            "batch_size": batch, "epochs": 1, "shuffle": True, "seed": 3, "log_interval": 1}
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def main():
    trainc, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    jit_only = "--jit-only" in sys.argv[3:]
    results = []

    def check(name, ok, detail=""):
        results.append(bool(ok))
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
        return ok

    def finish():
        print("%d passed, %d failed" % (sum(results), len(results) - sum(results)))
        return 0 if all(results) else 1

    with tempfile.TemporaryDirectory(prefix="tc_threads_") as tmp:
        env = dict(os.environ, TRAINC_CACHE_DIR=os.path.join(tmp, "cache"))

        def run(args):
            return subprocess.run([trainc] + args, capture_output=True, text=True, cwd=tmp,
                                  env=env, timeout=600)

        rng = np.random.default_rng(5)
        specs = {}
        for name, shape, batch, n, opt in (
                ("lenet5", (1, 28, 28), 16, 64, {"type": "Adam", "lr": 0.01}),
                ("resnet8", (3, 32, 32), 16, 32, {"type": "SGD", "lr": 0.05, "momentum": 0.9})):
            np.savez(os.path.join(tmp, name + ".npz"),
                     image=rng.integers(0, 256, (n,) + shape).astype(np.uint8),
                     label=rng.integers(0, 10, n).astype(np.int64))
            specs[name] = write_spec(tmp, name, "image", "label", opt, batch,
                                     [{"type": "ToTensor"},
                                      {"type": "Normalize", "mean": [0.5], "std": [0.25]}])
        # token models (models/zoo.py: vocabulary 100, 12 tokens)
        for name, target, classes, opt in (
                ("gru_text", (), 4, {"type": "Adam", "lr": 0.01}),
                ("lstm_tagger", (12,), 5, {"type": "SGD", "lr": 0.5, "momentum": 0.9})):
            n = 96
            np.savez(os.path.join(tmp, name + ".npz"),
                     tokens=rng.integers(0, 100, (n, 12)).astype(np.int64),
                     target=rng.integers(0, classes, (n,) + target).astype(np.int64))
            specs[name] = write_spec(tmp, name, "tokens", "target", opt, 32, [])

        for name in ("lenet5", "resnet8", "gru_text", "lstm_tagger"):
            model = os.path.join(source, "models", name + ".onnx")
            runs = {}
            for t in (1, 2, 3):
                out = os.path.join(tmp, "%s_t%d.onnx" % (name, t))
                log = os.path.join(tmp, "%s_t%d.jsonl" % (name, t))
                ckpt = os.path.join(tmp, "%s_ckpt%d" % (name, t))
                r = run(["train", model, "--spec", specs[name], "--threads", str(t), "--out", out,
                         "--metrics", log, "--checkpoint.dir", ckpt])
                if check("%s: trainc train --threads %d" % (name, t), r.returncode == 0,
                         r.stderr[-500:]):
                    runs[t] = (arrays(out), losses(log),
                               arrays(os.path.join(ckpt, "last.onnx")))
            if len(runs) != 3:
                continue
            w1, l1, c1 = runs[1]
            check("%s: a loss per step was logged" % name, len(l1) >= 2, str(l1))
            check("%s: training moved the weights" % name,
                  not same_bits(w1, arrays(model)))
            for t in (2, 3):
                w, l, c = runs[t]
                check("%s: --threads %d gives bitwise the weights of --threads 1" % (name, t),
                      same_bits(w1, w))
                check("%s: --threads %d gives bitwise the losses of --threads 1" % (name, t),
                      l == l1 and len(l) == len(l1), "%s vs %s" % (l, l1))
                check("%s: --threads %d gives bitwise the checkpoint of --threads 1" % (name, t),
                      same_bits(c1, c) and len(c) > len(w))

        # eval: the same report with 1 and 2 threads
        trained = os.path.join(tmp, "resnet8_t1.onnx")
        reports = []
        for t in (1, 2):
            r = run(["eval", trained, "--spec", specs["resnet8"], "--threads", str(t)])
            check("eval --threads %d" % t, r.returncode == 0, r.stderr[-500:])
            reports.append(r.stdout)
        check("eval: the same report with 1 and 2 threads",
              reports[0] and reports[0] == reports[1], repr(reports)[:500])

        for bad in ("0", "-2", "two", "257", ""):
            r = run(["train", os.path.join(source, "models", "lenet5.onnx"), "--spec",
                     specs["lenet5"], "--threads=" + bad])
            check("--threads '%s' is a usage error naming the option" % bad,
                  r.returncode == 1 and "--threads" in r.stderr, r.stderr[-300:])

        if jit_only:
            return finish()
        trainer = os.path.join(tmp, "trainer")
        r = run(["build", os.path.join(source, "models", "lenet5.onnx"), "--spec",
                 specs["lenet5"], "-o", trainer])
        if check("trainc build", r.returncode == 0, r.stderr[-500:]):
            outs = []
            for t in (1, 2):
                out = os.path.join(tmp, "trainer_t%d.onnx" % t)
                r = subprocess.run([trainer, "--quiet", "--threads", str(t), "--out", out],
                                   capture_output=True, text=True, cwd=tmp, timeout=600)
                check("standalone trainer --threads %d" % t, r.returncode == 0, r.stderr[-500:])
                outs.append(arrays(out) if r.returncode == 0 else None)
            if None not in outs:
                check("standalone trainer: --threads 2 equals --threads 1 bitwise",
                      same_bits(outs[0], outs[1]))
                check("standalone trainer equals the JIT bitwise",
                      same_bits(outs[0], arrays(os.path.join(tmp, "lenet5_t1.onnx"))))
            r = subprocess.run([trainer, "--threads", "0"], capture_output=True, text=True,
                               cwd=tmp)
            check("standalone trainer: --threads 0 is a usage error",
                  r.returncode == 1 and "--threads" in r.stderr, r.stderr[-300:])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
