"""Fault test of checkpoints: trainc is killed with SIGKILL at random
moments, many times, and resumed with --resume until it completes; every
time, the newest checkpoint must be intact and load (no fallback, no
damage), training must never go backwards, and the final weights must be
bitwise those of a reference run that was never interrupted. Also: SIGTERM
and SIGINT write a final checkpoint and exit with 143 and 130, the metrics
log is appended on resume, a damaged last.onnx falls back to prev.onnx, and
a checkpoint of another training spec is refused.

The model is LeNet-5 on 960 Fashion-MNIST images (30 batches of 32, 3
epochs, StepLR), checkpointed every optimizer step. The random moments come
from a seed printed at the start (TC_KILL_SEED=N repeats a run; TC_KILLS=N
sets the number of kills, 20 by default to stay under a minute).

usage: /usr/bin/python3 checkpoint_kill.py TRAINC SOURCE_DIR
"""
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np
import onnx
import onnx.numpy_helper

FASHION = "/usr/share/datasets/fashion-mnist"
KILLS = int(os.environ.get("TC_KILLS", "20"))  # SIGKILLs across all chains
BATCHES, BATCH, EPOCHS = 30, 32, 3

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""),
          flush=True)
    return ok


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def make_data(tmp):
    images = idx(f"{FASHION}/train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    labels = idx(f"{FASHION}/train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    n = BATCHES * BATCH
    np.savez(os.path.join(tmp, "train.npz"), image=images[:n], label=labels[:n])
    np.savez(os.path.join(tmp, "valid.npz"), image=images[n:n + 256], label=labels[n:n + 256])
    spec = {
        "inputs": {"input": "image"},
        "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
        "optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9},
        "lr_scheduler": {"type": "StepLR", "step_size": 1, "gamma": 0.5},
        "data": {"train": {"format": "npz", "path": "train.npz"},
                 "valid": {"format": "npz", "path": "valid.npz"},
                 "transforms": [{"type": "ToTensor"},
                                {"type": "Normalize", "mean": [0.286], "std": [0.353]}]},
        "batch_size": BATCH, "epochs": EPOCHS, "shuffle": True, "seed": 7, "log_interval": 10,
    }
    path = os.path.join(tmp, "spec.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def weights(path):
    m = onnx.load(path)
    return {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}


def same_weights(a, b):
    wa, wb = weights(a), weights(b)
    if wa.keys() != wb.keys():
        return False, "different initializers"
    bad = [k for k in wa if wa[k].dtype != wb[k].dtype or wa[k].tobytes() != wb[k].tobytes()]
    return not bad, ("differ: " + ", ".join(bad[:5])) if bad else ""


def verify_file(path):
    """Independent check of the format (tc_checkpoint.h): an ONNX model from
    producer "trainc", format version 2, its last 26 bytes the trainc.crc32
    entry holding the CRC-32 of every byte before it. Returns (ok, steps or
    reason)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 40 or data[2:10] != b"\x12\x06trainc":
        return False, "not a trainc checkpoint or short"
    try:
        m = onnx.load_from_string(data)
    except Exception as e:  # noqa: BLE001 - any parse failure is a bad file
        return False, f"onnx cannot parse it: {e}"
    meta = {p.key: p.value for p in m.metadata_props}
    if meta.get("trainc.format") != "2":
        return False, f"format {meta.get('trainc.format')}"
    if data[-26:-8] != b"\x72\x18\x0a\x0ctrainc.crc32\x12\x08":
        return False, "the checksum entry is not last"
    if zlib.crc32(data[:-26]) != int(meta["trainc.crc32"], 16):
        return False, "checksum"
    return True, int(meta["trainc.steps"])


class Trainer:
    def __init__(self, trainc, model, spec, tmp):
        self.trainc, self.model, self.spec, self.tmp = trainc, model, spec, tmp
        self.runs = 0

    def start(self, args, log):
        self.runs += 1
        err = open(log, "w")
        # SIGINT default in the child even when this test runs in the background
        p = subprocess.Popen([self.trainc, "train", self.model, "--spec", self.spec] + args,
                             stdout=subprocess.DEVNULL, stderr=err, cwd=self.tmp,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        err.close()
        return p

    def run(self, args, log):
        p = self.start(args, log)
        rc = p.wait(timeout=120)
        return rc, open(log).read()


def wait_for(p, log, text, timeout=60):
    """Waits until `text` is in the log or p exits; True if it appeared."""
    end = time.time() + timeout
    while time.time() < end:
        if text in open(log).read():
            return True
        if p.poll() is not None:
            return text in open(log).read()
        time.sleep(0.005)
    return False


def main():
    trainc, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    model = os.path.join(source, "models", "lenet5.onnx")
    seed = int(os.environ.get("TC_KILL_SEED", time.time_ns() % (1 << 32)))
    rng = random.Random(seed)
    print(f"seed {seed} (TC_KILL_SEED={seed} repeats this run)")
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        spec = make_data(tmp)
        tr = Trainer(trainc, model, spec, tmp)
        log = os.path.join(tmp, "stderr.txt")

        # the reference: never interrupted, no checkpoints at all
        ref = os.path.join(tmp, "ref.onnx")
        start = time.time()
        rc, err = tr.run(["--out", ref], log)
        elapsed = time.time() - start
        if not check("reference run", rc == 0, err[-500:]):
            return
        compile_s = float(err.split("compiled the training step in ")[1].split(" s")[0])
        train_s = max(0.2, elapsed - compile_s)
        print(f"reference: {elapsed:.2f} s, compile {compile_s:.2f} s")

        # chains of SIGKILL + --resume until each completes
        kills = chains = resumes = no_ckpt = missing_last = 0
        problems = []
        while kills < KILLS:
            chains += 1
            ckpt = os.path.join(tmp, f"ckpt{chains}")
            out = os.path.join(tmp, f"out{chains}.onnx")
            args = ["--checkpoint.dir", ckpt, "--checkpoint-every-steps", "1", "--resume",
                    "--out", out]
            last_steps = -1
            for attempt in range(200):
                p = tr.start(args, log)
                # a few kills while compiling, most while training
                if rng.random() < 0.15:
                    time.sleep(rng.uniform(0, compile_s))
                else:
                    wait_for(p, log, "compiled the training step")
                    time.sleep(rng.uniform(0, train_s * 0.6))
                done = p.poll() is not None
                if not done:
                    p.send_signal(signal.SIGKILL)
                rc = p.wait(timeout=60)
                text = open(log).read()
                if attempt > 0:
                    resumes += 1
                    # what this run found: the newest checkpoint, intact
                    if "falling back" in text or "corrupt" in text or "truncated" in text:
                        problems.append(f"chain {chains} run {attempt}: {text.strip()[-300:]}")
                    if "no checkpoint in" in text:
                        no_ckpt += 1
                    if "is missing (a save was interrupted)" in text:
                        missing_last += 1
                    if "resuming after step " in text:
                        steps = int(text.split("resuming after step ")[1].split(" ")[0])
                        if steps < last_steps:
                            problems.append(f"chain {chains}: went back from step {last_steps} "
                                            f"to {steps}")
                        last_steps = steps
                if rc == 0:  # completed (possibly between poll and kill)
                    break
                if rc != -signal.SIGKILL:
                    problems.append(f"chain {chains} run {attempt}: exit {rc}: "
                                    f"{text.strip()[-300:]}")
                    break
                kills += 1
                # after every kill the newest checkpoint on disk must be intact
                for name in ("last.onnx", "prev.onnx"):
                    path = os.path.join(ckpt, name)
                    if os.path.exists(path):
                        ok, what = verify_file(path)
                        if not ok:
                            problems.append(f"chain {chains}: {name} after kill {kills}: {what}")
                        break
            same, detail = same_weights(ref, out) if os.path.exists(out) else (False, "no --out")
            check(f"chain {chains}: resumed to the reference's weights, bitwise", same, detail)
            leftovers = [n for n in os.listdir(ckpt) if n.startswith(".")] \
                if os.path.isdir(ckpt) else []
            check(f"chain {chains}: no temporary files left", not leftovers, str(leftovers))
        check(f"{kills} SIGKILLs: every newest checkpoint intact and loaded", not problems,
              "; ".join(problems[:5]))
        print(f"{kills} kills in {chains} chains, {resumes} resumes "
              f"({no_ckpt} before any checkpoint, {missing_last} between the renames)")

        # a damaged last.onnx: refused, prev.onnx serves, same weights
        ckpt = os.path.join(tmp, "ckpt1")
        last = os.path.join(ckpt, "last.onnx")
        with open(last, "r+b") as f:
            f.seek(1000)
            b = f.read(1)
            f.seek(1000)
            f.write(bytes([b[0] ^ 0xff]))
        out = os.path.join(tmp, "fallback.onnx")
        rc, err = tr.run(["--checkpoint.dir", ckpt, "--resume", "--out", out], log)
        check("damaged last.onnx: refused, naming it", rc == 0 and f"{last}: the checkpoint is "
              "corrupt" in err and "falling back to " + os.path.join(ckpt, "prev.onnx") in err,
              err.strip()[-400:])
        same, detail = same_weights(ref, out) if rc == 0 else (False, "no --out")
        check("damaged last.onnx: prev.onnx resumes to the same weights", same, detail)

        # another spec (no momentum: no optimizer state) is refused
        rc, err = tr.run(["--checkpoint.dir", ckpt, "--resume", "--optimizer.momentum", "0"],
                         log)
        check("a checkpoint of another spec is refused", rc == 2 and
              "written for another model or training spec" in err, err.strip()[-300:])

        # SIGTERM and SIGINT: a final checkpoint, a clean exit, the metrics appended
        for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
            name = signal.Signals(sig).name
            ckpt = os.path.join(tmp, f"ckpt_{name}")
            out = os.path.join(tmp, f"{name}.onnx")
            metrics = os.path.join(tmp, f"{name}.jsonl")
            args = ["--checkpoint.dir", ckpt, "--metrics", metrics, "--out", out]
            for attempt in range(3):  # the run must still be training when signalled
                for f in (ckpt, metrics):
                    subprocess.run(["rm", "-rf", f])
                p = tr.start(args, log)
                wait_for(p, log, "compiled the training step")
                time.sleep(rng.uniform(0.02, train_s * 0.3 / (attempt + 1)))
                if p.poll() is None:
                    break
                p.wait()
            p.send_signal(sig)
            rc = p.wait(timeout=60)
            err = open(log).read()
            check(f"{name}: exit {code} with a checkpoint", rc == code and
                  f"interrupted by {name}; checkpoint written to " + os.path.join(ckpt, "last.onnx")
                  in err and verify_file(os.path.join(ckpt, "last.onnx"))[0], f"exit {rc}: "
                  + err.strip()[-300:])
            rc, err = tr.run(args + ["--resume"], log)
            same, detail = same_weights(ref, out) if rc == 0 else (False, err.strip()[-300:])
            check(f"{name}: resumed to the reference's weights, bitwise", same, detail)
            records = [json.loads(line) for line in open(metrics)]
            train = [r["iteration"] for r in records if r["kind"] == "train"]
            check(f"{name}: the metrics log was appended on resume",
                  train == list(range(1, BATCHES * EPOCHS + 1)) and
                  sum(r["kind"] == "valid" for r in records) == EPOCHS,
                  f"{len(train)} train records")
        print(f"{tr.runs} trainc runs in {time.time() - t0:.1f} s; {kills} kills")


if __name__ == "__main__":
    main()
    passed = sum(results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not results else 0)
