"""End-to-end: CTCLoss trains a small sequence model exported from torch.

The model maps frames (N, T, F) -> Linear -> Tanh -> Linear -> LogSoftmax
-> transpose to (T, N, C), so the loss reads log_probs with the batch on
axis 1 (a per-batch dimension that is not the leading one). The synthetic
task: each sample is a label sequence (1..4 labels from 1..C-1, repeats
included) drawn as frames, every label held for 1 or 2 frames with blank
frames between and around them, noisy one-hot frames, padded with blank
frames after the sample's input length; the targets are padded (N, S)
int64 with input_lengths and target_lengths per sample. `trainc train`
(Adam, lr 0.01, no shuffling) must give PyTorch's loss at step 1 (the
exported weights on the first batch) and bring the last epoch's mean loss
below HALF of the first epoch's. Then, with trainc's trained weights loaded back into the
torch model, PyTorch's CTCLoss over the whole set must be low as well and
greedy (best-path) decoding must recover most label sequences.

usage: /usr/bin/python3 train_ctc.py TRAINC SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

HALF = 0.5
N, T, C, S = 512, 14, 6, 4  # samples, frames, classes (0 = blank), max target length
FEAT = C

results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail else ""))


class Frames(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(FEAT, 32), nn.Tanh(), nn.Linear(32, C))

    def forward(self, x):  # (N, T, F) -> (T, N, C)
        return F.log_softmax(self.body(x), dim=2).transpose(0, 1)


def task(rng):
    x = np.zeros((N, T, FEAT), np.float32)
    frames = np.zeros((N, T), np.int64)  # blank everywhere at first
    targets = np.zeros((N, S), np.int64)
    il = np.zeros(N, np.int64)
    tl = np.zeros(N, np.int64)
    for i in range(N):
        L = int(rng.integers(1, S + 1))
        seq = list(rng.integers(1, C, L))
        if L >= 2 and rng.random() < 0.3:
            seq[1] = seq[0]  # a repeated label: needs the blank frame between
        t = int(rng.integers(0, 2))
        for k in seq:
            for _ in range(int(rng.integers(1, 3))):
                frames[i, t] = k
                t += 1
            t += 1  # a blank frame after every label
        il[i] = min(T, t + int(rng.integers(0, 2)))
        targets[i, :L] = seq
        targets[i, L:] = rng.integers(0, C, S - L)  # padding: ignored
        tl[i] = L
    x[np.arange(N)[:, None], np.arange(T)[None, :], frames] = 1.0
    x += 0.3 * rng.standard_normal(x.shape).astype(np.float32)
    return x, targets, il, tl


def greedy(lp, il):
    """Best-path decoding of (T, N, C) log-probabilities."""
    best = lp.argmax(2)
    out = []
    for i in range(lp.shape[1]):
        seq, prev = [], 0
        for t in range(il[i]):
            k = int(best[t, i])
            if k != 0 and k != prev:
                seq.append(k)
            prev = k
        out.append(seq)
    return out


def main():
    trainc = os.path.abspath(sys.argv[1])
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x, targets, il, tl = task(rng)
    assert all(tl[i] + sum(targets[i, j] == targets[i, j + 1] for j in range(tl[i] - 1))
               <= il[i] for i in range(N)), "every sample must be alignable"
    with tempfile.TemporaryDirectory() as tmp:
        model = Frames()
        onnx_path = os.path.join(tmp, "frames.onnx")
        torch.onnx.export(model, (torch.zeros(2, T, FEAT),), onnx_path, input_names=["x"],
                          output_names=["log_probs"],
                          dynamic_axes={"x": {0: "N"}, "log_probs": {1: "N"}}, opset_version=13)
        npz = os.path.join(tmp, "train.npz")
        np.savez(npz, x=x, targets=targets, input_lengths=il, target_lengths=tl)
        spec = {"loss": {"type": "CTCLoss", "log_probs": "log_probs", "targets": "targets",
                         "input_lengths": "input_lengths", "target_lengths": "target_lengths"},
                "inputs": {"x": "x"},
                "optimizer": {"type": "Adam", "lr": 0.01},
                "data": {"train": {"format": "npz", "path": npz}},
                "batch_size": 32, "epochs": 10, "shuffle": False, "seed": 1,
                "log_interval": 1000}
        spec_path = os.path.join(tmp, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        metrics = os.path.join(tmp, "m.jsonl")
        out = os.path.join(tmp, "frames.trained.onnx")
        r = subprocess.run([trainc, "train", onnx_path, "--spec", spec_path, "--metrics", metrics,
                            "--out", out], capture_output=True, text=True, timeout=120)
        check("trainc train exits 0", r.returncode == 0, r.stderr.strip()[-800:])
        if r.returncode != 0:
            return
        steps = [json.loads(l) for l in open(metrics)]
        train = [s for s in steps if s["kind"] == "train"]
        losses = np.array([s["loss"] for s in train])
        per_epoch = len(losses) // spec["epochs"]
        check("one record per step", per_epoch == N // spec["batch_size"],
              f"{len(losses)} records")
        # step 1 runs the exported weights on the first batch (no shuffling):
        # PyTorch's loss there, with the batch on axis 1 of log_probs
        with torch.no_grad():
            lp0 = model(torch.from_numpy(x[:32]))
            want = F.ctc_loss(lp0, torch.from_numpy(targets[:32]), torch.from_numpy(il[:32]),
                              torch.from_numpy(tl[:32])).item()
        check("step 1's loss equals PyTorch's", abs(losses[0] - want) <= 1e-4 * abs(want),
              f"trainc {losses[0]:.7f}, torch {want:.7f}")
        first, last = losses[:per_epoch].mean(), losses[-per_epoch:].mean()
        check(f"last epoch's mean loss < {HALF} x the first's",
              np.isfinite(losses).all() and last < HALF * first,
              f"{first:.4f} -> {last:.4f}")

        # the trained weights in torch: the loss on the whole set and decoding
        # torch.onnx.export folds the Linear weights into transposed
        # initializers that the MatMul nodes read (in the model's order)
        m = onnx.load(out)
        init = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
        mats = [n.input[1] for n in m.graph.node if n.op_type == "MatMul"]
        state = {}
        for lin, w in zip(["body.0", "body.2"], mats):
            if w in init and lin + ".bias" in init:
                state[lin + ".weight"] = torch.from_numpy(init[w].T.copy())
                state[lin + ".bias"] = torch.from_numpy(init[lin + ".bias"].copy())
        missing = set(model.state_dict()) - set(state)
        check("the trained model has every parameter", not missing, str(sorted(missing)))
        if missing:
            return
        model.load_state_dict(state)
        with torch.no_grad():
            lp = model(torch.from_numpy(x))
            full = F.ctc_loss(lp, torch.from_numpy(targets), torch.from_numpy(il),
                              torch.from_numpy(tl)).item()
        check("PyTorch's CTCLoss with the trained weights is low too", full < HALF * first,
              f"{full:.4f} (first epoch {first:.4f})")
        dec = greedy(lp.numpy(), il)
        right = np.mean([dec[i] == list(targets[i, :tl[i]]) for i in range(N)])
        check("greedy decoding recovers >= 80% of the label sequences", right >= 0.8,
              f"{right:.3f}")


if __name__ == "__main__":
    main()
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if results and all(results) else 1)
