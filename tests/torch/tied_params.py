"""Tied and shared parameters against PyTorch, live.

Two ways one parameter reaches several nodes of an exported model:

  shared   a module used twice, or a weight tied on purpose (an LM's output
           projection using the embedding table): the export has one
           initializer read by several nodes (here Gather and Gemm).
  merged   two parameters that happen to hold equal values: torch.onnx's eval
           export keeps one initializer and reads it through Identity for
           the other.

Both are one parameter in trainc, whose gradient is the sum over its uses.
For "merged" that is what the ONNX file says (the export did tie them), so
the reference is the torch module with those weights tied. Each case trains
10 Adam steps with `trainc train` and in torch from the same weights and
batches and compares every step's loss and the final weights, within
max(1e-4 relative, 4x the spread one float32 ulp of the initial weights gives
torch).

usage: /usr/bin/python3 tied_params.py TRAINC
"""
import os
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

from reference import compare_trajectory, initializers, report, train_with_trainc

STEPS, BATCH, VOCAB, DIM, T = 10, 8, 50, 16, 6


class TiedLM(nn.Module):
    """Bag of embeddings -> hidden -> logits over the vocabulary, whose
    projection is the embedding table itself."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, DIM)
        self.hidden = nn.Linear(DIM, DIM)
        self.out_bias = nn.Parameter(torch.zeros(VOCAB))

    def forward(self, tokens):
        h = torch.tanh(self.hidden(self.embed(tokens).mean(1)))
        return F.linear(h, self.embed.weight, self.out_bias)


class TwoTowers(nn.Module):
    """Two Linear layers applied to one input and summed. With tied=False
    they are separate parameters that start equal (and get merged by the
    export); with tied=True they are one."""

    def __init__(self, tied):
        super().__init__()
        self.a = nn.Linear(DIM, 4)
        self.b = self.a if tied else nn.Linear(DIM, 4)
        if not tied:
            self.b.load_state_dict(self.a.state_dict())

    def forward(self, x):
        return self.a(torch.tanh(x)) + self.b(x)


def export(model, x, path):
    model.eval()
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})


def torch_run(model, state, data, ulp):
    if ulp:
        state = {k: np.nextafter(v, np.float32(np.inf)).astype(np.float32) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(v.copy()) for k, v in state.items()}, strict=False)
    assert not unexpected and all(model.state_dict()[k].data_ptr() in
                                  {model.state_dict()[j].data_ptr() for j in state}
                                  for k in missing), missing  # only aliases of loaded ones
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for s in range(STEPS):
        opt.zero_grad()
        sl = slice(s * BATCH, (s + 1) * BATCH)
        loss = F.cross_entropy(model(torch.from_numpy(data["x"][sl])), torch.from_numpy(data["y"][sl]))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def run_case(trainc, tmp, name, export_model, reference, x, classes, names):
    """Exports export_model, trains it with trainc and compares with
    `reference` (a module over the same function); `names` maps reference
    state names to the export's initializer names."""
    path = os.path.join(tmp, name + ".onnx")
    export(export_model, torch.from_numpy(x[:2]), path)
    proto = onnx.load(path)
    init = initializers(path)
    problems = []
    for ref_name, onnx_name in names.items():
        if onnx_name not in init:
            problems.append(f"the export has no initializer '{onnx_name}' "
                            f"(it has {sorted(init)})")
    if problems:
        return problems
    rng = np.random.default_rng(3)
    data = {"x": x, "y": rng.integers(0, classes, len(x)).astype(np.int64)}
    npz = os.path.join(tmp, name + ".npz")
    np.savez(npz, **data)
    spec = {"inputs": {"input": "x"}, "loss": {"type": "CrossEntropyLoss", "input": "logits",
                                                 "target": "y"},
            "optimizer": {"type": "Adam", "lr": 1e-2},
            "data": {"train": {"format": "npz", "path": npz}},
            "batch_size": BATCH, "epochs": 1, "shuffle": False, "log_interval": 1}
    records, trained, error = train_with_trainc(trainc, tmp, name, path, spec)
    if error:
        return [error]
    state = {k: init[v] for k, v in names.items()}
    theirs, weights = torch_run(reference, state, data, ulp=False)
    nudged_losses, nudged = torch_run(reference, state, data, ulp=True)
    ours = [r["loss"] for r in records]
    problems = compare_trajectory(STEPS, ours, theirs, nudged_losses, trained, weights, nudged,
                                  names)
    identities = sum(n.op_type == "Identity" for n in proto.graph.node)
    print(f"     {name}: {len(init)} initializers, {identities} Identity nodes")
    return problems


def main():
    trainc = sys.argv[1]
    torch.set_num_threads(1)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        lm = TiedLM()
        tokens = np.random.default_rng(1).integers(0, VOCAB, (STEPS * BATCH, T)).astype(np.int64)
        results.append(("shared (embedding tied to the output projection)",
                        run_case(trainc, tmp, "tied_lm", lm, lm, tokens, VOCAB,
                                 {k: k for k in lm.state_dict()})))
        torch.manual_seed(1)
        untied = TwoTowers(tied=False)
        tied = TwoTowers(tied=True)
        x = np.random.default_rng(2).standard_normal((STEPS * BATCH, DIM)).astype(np.float32)
        # the export keeps a.weight and a.bias and reads b's through Identity
        results.append(("merged (equal initializers through Identity)",
                        run_case(trainc, tmp, "two_towers", untied, tied, x, 4,
                                 {"a.weight": "a.weight", "a.bias": "a.bias"})))
    sys.exit(report(results))


if __name__ == "__main__":
    main()
