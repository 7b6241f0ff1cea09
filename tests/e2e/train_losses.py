"""Every torch.nn loss trains a model end to end: for each loss, a small
model made with torch (and exported to ONNX) learns a synthetic task with
`trainc train` from a spec naming that loss, and the training loss goes
down: the mean over the last 10 steps is below the mean over the first 10 by
at least 30% of the latter's magnitude (losses such as GaussianNLLLoss go
negative).

Models with several inputs and outputs (siamese and triplet encoders, a
Gaussian head with a variance output) check that the loss's PyTorch
argument names bind to model outputs and data fields.

usage: /usr/bin/python3 train_losses.py TRAINC
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

FACTOR = 0.7  # the loss falls by at least 30% of its first value
N, F, K = 512, 8, 5  # samples, input features, outputs / classes


class Head(nn.Module):
    """x -> Linear -> Tanh -> Linear (-> an optional final op)."""

    def __init__(self, out, final=None):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(F, 32), nn.Tanh(), nn.Linear(32, out))
        self.final = final

    def forward(self, x):
        y = self.body(x)
        return self.final(y) if self.final else y


class Gaussian(nn.Module):
    """x -> (mean, variance = exp(log-variance)): GaussianNLLLoss's input and var."""

    def __init__(self):
        super().__init__()
        self.mean, self.log_var = Head(K), Head(K)

    def forward(self, x):
        return self.mean(x), torch.exp(self.log_var(x))


class Siamese(nn.Module):
    """(x1, x2) -> the same encoder on both (score heads squeeze to [N])."""

    def __init__(self, out, squeeze=False):
        super().__init__()
        self.enc, self.squeeze = Head(out), squeeze

    def forward(self, x1, x2):
        a, b = self.enc(x1), self.enc(x2)
        return (a.squeeze(-1), b.squeeze(-1)) if self.squeeze else (a, b)


class Triplet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = Head(K)

    def forward(self, a, p, n):
        return self.enc(a), self.enc(p), self.enc(n)


def export(model, path, inputs, outputs):
    args = tuple(torch.zeros(2, F) for _ in inputs)
    axes = {name: {0: "N"} for name in inputs + outputs}
    torch.onnx.export(model, args, path, input_names=inputs, output_names=outputs,
                      dynamic_axes=axes, opset_version=13)


def data(rng):
    """Inputs and targets of learnable synthetic tasks, by field name."""
    x = rng.standard_normal((N, F)).astype(np.float32)
    w = rng.standard_normal((F, K)).astype(np.float32) / np.sqrt(F)
    z = x @ w                                     # the signal every target follows
    cls = z.argmax(1).astype(np.int64)
    sign = np.where(z > 0, 1.0, -1.0).astype(np.float32)
    multi = np.full((N, K), -1, np.int64)         # MultiLabelMargin: classes with z > 0, -1 padded
    for i in range(N):
        pos = np.flatnonzero(z[i] > 0)
        multi[i, :len(pos)] = pos
    x2 = rng.standard_normal((N, F)).astype(np.float32)
    pair = np.where((x * x2).sum(1) > 0, 1.0, -1.0).astype(np.float32)
    # a ranking target: is x1's hidden score above x2's?
    s1, s2 = z[:, 0], (x2 @ w)[:, 0]
    rank = np.where(s1 > s2, 1.0, -1.0).astype(np.float32)
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return {
        "x": x, "x1": x, "x2": x2,
        "anchor": x, "positive": x + 0.1 * rng.standard_normal((N, F)).astype(np.float32),
        "negative": rng.standard_normal((N, F)).astype(np.float32),
        "value": np.tanh(z).astype(np.float32),
        "noisy": (z + 0.3 * rng.standard_normal((N, K))).astype(np.float32),
        "counts": rng.poisson(np.exp(np.clip(z, -3, 2))).astype(np.float32),
        "bits": (z > 0).astype(np.float32), "sign": sign, "cls": cls, "multi": multi,
        "probs": probs.astype(np.float32), "pair": pair, "rank": rank,
    }


# (loss spec, model, model inputs, model outputs, data fields)
CASES = [
    ({"type": "L1Loss", "input": "y", "target": "value"}, lambda: Head(K), ["x"], ["y"]),
    ({"type": "MSELoss", "input": "y", "target": "value"}, lambda: Head(K), ["x"], ["y"]),
    ({"type": "HuberLoss", "input": "y", "target": "value", "delta": 0.5},
     lambda: Head(K), ["x"], ["y"]),
    ({"type": "SmoothL1Loss", "input": "y", "target": "value", "beta": 0.5},
     lambda: Head(K), ["x"], ["y"]),
    # (full=True only adds the Stirling term, a constant the model cannot lower)
    ({"type": "PoissonNLLLoss", "input": "y", "target": "counts"},
     lambda: Head(K), ["x"], ["y"]),
    ({"type": "GaussianNLLLoss", "input": "mean", "var": "var", "target": "noisy"},
     Gaussian, ["x"], ["mean", "var"]),
    ({"type": "KLDivLoss", "input": "y", "target": "probs", "reduction": "batchmean"},
     lambda: Head(K, nn.LogSoftmax(1)), ["x"], ["y"]),
    ({"type": "BCELoss", "input": "y", "target": "bits"},
     lambda: Head(K, nn.Sigmoid()), ["x"], ["y"]),
    ({"type": "BCEWithLogitsLoss", "input": "y", "target": "bits", "pos_weight": [1, 2, 1, 2, 1]},
     lambda: Head(K), ["x"], ["y"]),
    ({"type": "SoftMarginLoss", "input": "y", "target": "sign"}, lambda: Head(K), ["x"], ["y"]),
    ({"type": "MultiLabelSoftMarginLoss", "input": "y", "target": "bits"},
     lambda: Head(K), ["x"], ["y"]),
    ({"type": "HingeEmbeddingLoss", "input": "y", "target": "sign"},
     lambda: Head(K), ["x"], ["y"]),
    ({"type": "CrossEntropyLoss", "input": "y", "target": "cls", "label_smoothing": 0.1},
     lambda: Head(K), ["x"], ["y"]),
    ({"type": "NLLLoss", "input": "y", "target": "cls"},
     lambda: Head(K, nn.LogSoftmax(1)), ["x"], ["y"]),
    ({"type": "MultiMarginLoss", "input": "y", "target": "cls", "p": 2},
     lambda: Head(K), ["x"], ["y"]),
    ({"type": "MultiLabelMarginLoss", "input": "y", "target": "multi"},
     lambda: Head(K), ["x"], ["y"]),
    ({"type": "MarginRankingLoss", "input1": "s1", "input2": "s2", "target": "rank",
      "margin": 0.1}, lambda: Siamese(1, squeeze=True), ["x1", "x2"], ["s1", "s2"]),
    ({"type": "CosineEmbeddingLoss", "input1": "e1", "input2": "e2", "target": "pair",
      "margin": 0.2}, lambda: Siamese(K), ["x1", "x2"], ["e1", "e2"],
     {"epochs": 12, "optimizer": {"type": "Adam", "lr": 0.03}}),
    ({"type": "TripletMarginLoss", "anchor": "ea", "positive": "ep", "negative": "en"},
     Triplet, ["anchor", "positive", "negative"], ["ea", "ep", "en"]),
    ({"type": "TripletMarginWithDistanceLoss", "anchor": "ea", "positive": "ep",
      "negative": "en", "distance_function": "cosine", "swap": True},
     Triplet, ["anchor", "positive", "negative"], ["ea", "ep", "en"]),
]


def main():
    trainc = sys.argv[1]
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    fields = data(rng)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        npz = os.path.join(tmp, "train.npz")
        np.savez(npz, **fields)
        for loss, make, inputs, outputs, *more in CASES:
            name = loss["type"]
            onnx_path = os.path.join(tmp, name + ".onnx")
            export(make(), onnx_path, inputs, outputs)
            spec = {"loss": loss, "optimizer": {"type": "Adam", "lr": 0.01},
                    "data": {"train": {"format": "npz", "path": npz}},
                    "batch_size": 32, "epochs": 3, "seed": 1, "log_interval": 1000,
                    **(more[0] if more else {})}
            spec_path = os.path.join(tmp, name + ".json")
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            metrics = os.path.join(tmp, name + ".jsonl")
            r = subprocess.run([trainc, "train", onnx_path, "--spec", spec_path,
                                "--metrics", metrics], capture_output=True, text=True,
                               timeout=300)
            if r.returncode != 0:
                print(f"FAIL {name}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
                failed += 1
                continue
            steps = [json.loads(l) for l in open(metrics)]
            losses = [s["loss"] for s in steps if s["kind"] == "train"]
            first, last = np.mean(losses[:10]), np.mean(losses[-10:])
            ok = np.isfinite(losses).all() and last < first - (1 - FACTOR) * abs(first)
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(losses)} steps, loss "
                  f"{first:.4f} -> {last:.4f}")
            passed += ok
            failed += not ok
    print(f"{passed} passed, {failed} failed (the last 10 steps' mean loss must be below the "
          f"first 10 steps' by {1 - FACTOR:.0%} of its magnitude)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
