"""Differential test: a recurrent text classifier trained by `trainc train`
against the same model trained by PyTorch, live.

The model: Embedding -> bidirectional GRU (batch_first) -> LSTM over the
GRU's outputs -> Linear on the LSTM's last hidden state, exported by
torch.onnx with a dynamic batch (so the batch of the recurrent kernels is
the runtime batch) and without constant folding (the parameters keep
PyTorch's names; the exporter's gate reordering stays in the graph and is
differentiated). The LSTM's Y output is unused: only Y_h carries a
gradient. PyTorch's exporter builds the zero initial states from the
runtime batch with Shape/ConstantOfShape/Expand; this test removes those
inputs from the ONNX nodes instead (ONNX's default initial state is zero,
as PyTorch's), keeping the test about the recurrent ops alone.

Ten Adam steps (lr 0.01, batch 16) from the same weights on the same
batches: every step's loss and every final weight must agree to 1e-4
relative (the training issue's tolerance; the relative L2 distance per
tensor).

usage: /usr/bin/python3 rnn_train.py TRAINC SOURCE_DIR
"""
import os
import sys
import tempfile
import warnings

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
from reference import LOSS_RTOL, WEIGHT_RTOL, relative, train_with_trainc  # noqa: E402

STEPS, BATCH, SEQ, VOCAB, CLASSES = 10, 16, 7, 20, 3


class Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(VOCAB, 8)
        self.gru = torch.nn.GRU(8, 12, batch_first=True, bidirectional=True)
        self.lstm = torch.nn.LSTM(24, 8, batch_first=True)
        self.fc = torch.nn.Linear(8, CLASSES)

    def forward(self, tokens):
        y, _ = self.gru(self.emb(tokens))
        _, (h, _) = self.lstm(y)
        return self.fc(h[-1])


def export(model, path):
    """The export, then the recurrent nodes' initial-state inputs removed and
    the nodes that only computed them dropped."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(4, SEQ, dtype=torch.int64),), path,
                          input_names=["tokens"], output_names=["logits"],
                          dynamic_axes={"tokens": {0: "N"}, "logits": {0: "N"}},
                          opset_version=14, do_constant_folding=False)
    m = onnx.load(path)
    g = m.graph
    for n in g.node:
        if n.op_type in ("GRU", "LSTM"):
            del n.input[5:]
    live, keep = {o.name for o in g.output}, []
    for n in reversed(list(g.node)):
        if any(o in live for o in n.output):
            keep.append(n)
            live.update(i for i in n.input if i)
    del g.node[:]
    g.node.extend(reversed(keep))
    used = {i for n in g.node for i in n.input}
    inits = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(inits)
    onnx.save(m, path)


def main():
    trainc = sys.argv[1]
    torch.manual_seed(0)
    model = Classifier()
    rng = np.random.default_rng(0)
    n = STEPS * BATCH
    tokens = rng.integers(0, VOCAB, (n, SEQ)).astype(np.int64)
    labels = rng.integers(0, CLASSES, n).astype(np.int64)
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rnn_classifier.onnx")
        export(model, path)
        npz = os.path.join(tmp, "data.npz")
        np.savez(npz, tokens=tokens, label=labels)
        spec = {"inputs": {"tokens": "tokens"},
                "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
                "optimizer": {"type": "Adam", "lr": 0.01},
                "data": {"train": {"format": "npz", "path": npz}},
                "batch_size": BATCH, "epochs": 1, "shuffle": False, "log_interval": 1}
        records, trained, error = train_with_trainc(trainc, tmp, "rnn_classifier", path, spec)
    if error:
        print("FAIL", error)
        sys.exit(1)

    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    theirs = []
    for s in range(STEPS):
        x = torch.from_numpy(tokens[s * BATCH:(s + 1) * BATCH])
        y = torch.from_numpy(labels[s * BATCH:(s + 1) * BATCH])
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        theirs.append(loss.item())
    ours = [r["loss"] for r in records]
    if len(ours) != STEPS:
        problems.append(f"{len(ours)} steps logged, expected {STEPS}")
    worst_loss = max((abs(a - b) / abs(b) for a, b in zip(ours, theirs)), default=0.0)
    if worst_loss > LOSS_RTOL:
        problems.append(f"losses differ by {worst_loss:.3g} relative: {ours} vs {theirs}")
    worst_w = 0.0
    for name, p in model.state_dict().items():
        if name not in trained:
            problems.append(f"the trained model has no {name}")
            continue
        d = relative(trained[name], p.numpy())
        worst_w = max(worst_w, d)
        if d > WEIGHT_RTOL:
            problems.append(f"{name} differs by {d:.3g} relative")
    for p in problems:
        print("FAIL", p)
    print(f"{'ok  ' if not problems else 'FAIL'} GRU+LSTM classifier, {STEPS} Adam steps: "
          f"loss {theirs[0]:.4f} -> {theirs[-1]:.4f}, largest loss difference {worst_loss:.2g}, "
          f"largest weight difference {worst_w:.2g} (relative)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
