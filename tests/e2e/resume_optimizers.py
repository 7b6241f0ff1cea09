"""Stop and resume is bitwise for every kind of optimizer state: SGD with
momentum, Adam, Adam with gradient accumulation, and L-BFGS (whose state
lives in the runtime, not the arena) with the strong-Wolfe line search.

For each: a reference run trains models/mlp.onnx for 2 epochs of 10
batches; a second run is stopped with SIGTERM in the first epoch (trainc
finishes the step, writes a checkpoint and exits 143) and resumed with
--resume to the end; the written weights must equal the reference's bit for
bit, and the resumed run must start where the stopped one ended (not at 0).

usage: /usr/bin/python3 resume_optimizers.py TRAINC SOURCE_DIR
"""
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnx.numpy_helper

FASHION = "/usr/share/datasets/fashion-mnist"
BATCH, BATCHES = 32, 10

CASES = [
    ("sgd_momentum", {"type": "SGD", "lr": 0.05, "momentum": 0.9}, {}),
    ("adam", {"type": "Adam", "lr": 1e-3}, {}),
    ("adam_accumulation", {"type": "Adam", "lr": 1e-3}, {"grad_accumulation": 3}),
    ("lbfgs_strong_wolfe", {"type": "LBFGS", "lr": 1, "max_iter": 4, "history_size": 5,
                            "line_search_fn": "strong_wolfe"}, {}),
]


def weights(path):
    return {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def steps_logged(metrics):
    if not os.path.exists(metrics):
        return 0
    with open(metrics) as f:
        return sum(1 for line in f if '"kind":"train"' in line)


def main():
    trainc, source = sys.argv[1], sys.argv[2]
    model = os.path.join(source, "models", "mlp.onnx")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        with gzip.open(f"{FASHION}/train-images-idx3-ubyte.gz") as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
        with gzip.open(f"{FASHION}/train-labels-idx1-ubyte.gz") as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
        n = BATCH * BATCHES
        np.savez(os.path.join(tmp, "train.npz"), image=images[:n], label=labels[:n])
        for name, optimizer, extra in CASES:
            spec = {"inputs": {"input": "image"},
                    "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
                    "optimizer": optimizer,
                    "data": {"train": {"format": "npz", "path": "train.npz"},
                             "transforms": [{"type": "ToTensor"}]},
                    "batch_size": BATCH, "epochs": 2, "shuffle": True, "seed": 3,
                    "checkpoint": {"dir": name + ".ckpt"}, **extra}
            spec_path = os.path.join(tmp, name + ".json")
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            ref, out = os.path.join(tmp, name + ".ref.onnx"), os.path.join(tmp, name + ".onnx")
            problems = []
            r = subprocess.run([trainc, "train", model, "--spec", spec_path, "--out", ref,
                                "--checkpoint.dir", os.path.join(tmp, name + ".refckpt")],
                               capture_output=True, text=True, cwd=tmp)
            if r.returncode != 0:
                problems.append(f"reference run: exit {r.returncode}: {r.stderr[-300:]}")
            metrics = os.path.join(tmp, name + ".jsonl")
            p = subprocess.Popen([trainc, "train", model, "--spec", spec_path, "--metrics",
                                  metrics, "--checkpoint-every-steps", "1"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 cwd=tmp)
            deadline = time.time() + 120
            while steps_logged(metrics) < 3 and p.poll() is None and time.time() < deadline:
                time.sleep(0.01)
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=120)
            stopped_at = steps_logged(metrics)
            if p.returncode != 143:
                problems.append(f"SIGTERM: exit {p.returncode}, expected 143: {err[-300:]}")
            if not 3 <= stopped_at < 2 * BATCHES:
                problems.append(f"stopped after {stopped_at} logged batches: not mid-run")
            r = subprocess.run([trainc, "train", model, "--spec", spec_path, "--resume",
                                "--out", out], capture_output=True, text=True, cwd=tmp)
            if r.returncode != 0:
                problems.append(f"resume: exit {r.returncode}: {r.stderr[-300:]}")
            elif "resuming after step" not in r.stderr:
                problems.append(f"the resumed run did not resume: {r.stderr[-300:]}")
            if not problems:
                a, b = weights(ref), weights(out)
                diff = [k for k in a if not np.array_equal(a[k].view(np.uint8), b[k].view(np.uint8))]
                if diff:
                    problems.append(f"not bitwise the reference: {', '.join(diff)}")
            print(("ok   " if not problems else "FAIL ") + f"{name} (stopped after {stopped_at} "
                  f"batches)" + ("" if not problems else ": " + "; ".join(problems)), flush=True)
            failed += bool(problems)
    print(f"{len(CASES) - failed} passed, {failed} failed (resumed weights bitwise equal to an "
          f"uninterrupted run)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
