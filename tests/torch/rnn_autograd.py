"""Differential test: torch.nn.RNN, GRU and LSTM exported by torch.onnx,
forward and gradients, trainc against torch autograd, live.

Each case is a 2-layer bidirectional recurrent network (input size 3,
hidden size 4, 5 steps, batch 2), batch_first both ways, wrapped in a module
whose input sequence and initial states are parameters too and whose
outputs are y * w1, h_n * w2 (and c_n * w3) with random parameter weights:
the differentiated scalar, the sum of every output element, then weights
every element of Y, Y_h and Y_c differently. The export keeps PyTorch's
parameters as initializers (no constant folding), so trainc's gradient of
each initializer is the gradient of the PyTorch parameter of that name;
the exporter's Slice/Concat gate reordering, the Transposes of batch_first
and the per-layer state slicing are differentiated by trainc too. GRU is
exported with linear_before_reset=1, as PyTorch computes it.

Compared: every model output, and the gradient of every parameter (x, the
initial states, every weight and bias of both layers and directions, w1..w3,
whose gradients are the forward outputs again). Tolerance, float32:
max |trainc - torch| <= 1e-5 * max |torch| per tensor (a relative error of
the tensor's scale: both sides round sums of products of O(1) terms in
float32, ~1e-7 relative each, over at most a few hundred terms).

usage: /usr/bin/python3 rnn_autograd.py MODEL_GRAD
"""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch

RTOL = 1e-5
T, B, I, H, LAYERS = 5, 2, 3, 4, 2


class Wrapped(torch.nn.Module):
    def __init__(self, cell, batch_first):
        super().__init__()
        self.cell = cell
        self.rnn = getattr(torch.nn, cell)(I, H, num_layers=LAYERS, bidirectional=True,
                                           batch_first=batch_first)
        seq = (B, T) if batch_first else (T, B)
        self.x = torch.nn.Parameter(torch.randn(*seq, I))
        self.h0 = torch.nn.Parameter(torch.randn(2 * LAYERS, B, H))
        self.w1 = torch.nn.Parameter(torch.randn(*seq, 2 * H))
        self.w2 = torch.nn.Parameter(torch.randn(2 * LAYERS, B, H))
        if cell == "LSTM":
            self.c0 = torch.nn.Parameter(torch.randn(2 * LAYERS, B, H))
            self.w3 = torch.nn.Parameter(torch.randn(2 * LAYERS, B, H))

    def forward(self):
        if self.cell == "LSTM":
            y, (h, c) = self.rnn(self.x, (self.h0, self.c0))
            return y * self.w1, h * self.w2, c * self.w3
        y, h = self.rnn(self.x, self.h0)
        return y * self.w1, h * self.w2


def check(name, got, want):
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    err = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
    ok = got.shape == want.shape and err <= RTOL * scale
    return ok, err / scale if scale else 0.0, \
        f"{name}: shape {list(got.shape)}, max|diff| {err:.3g} (scale {scale:.3g})"


def run_case(model_grad, tmp, cell, batch_first, seed):
    torch.manual_seed(seed)
    m = Wrapped(cell, batch_first)
    tag = f"{cell} bidirectional 2 layers batch_first={batch_first}"
    path = os.path.join(tmp, f"{cell}_{int(batch_first)}.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (), path, opset_version=14, do_constant_folding=False)
    outdir = os.path.join(tmp, f"{cell}_{int(batch_first)}")
    os.makedirs(outdir)
    r = subprocess.run([model_grad, path, outdir], capture_output=True, text=True)
    if r.returncode != 0:
        return [f"{tag}: model_grad failed: {r.stderr.strip()}"]
    outs = m()
    sum(o.sum() for o in outs).backward()
    failures, worst = [], 0.0
    results = [check(f"output {k}", np.load(os.path.join(outdir, f"output.{k}.npy")),
                     o.detach().double().numpy()) for k, o in enumerate(outs)]
    for pname, p in m.named_parameters():
        f = os.path.join(outdir, f"grad.{pname}.npy")
        if not os.path.exists(f):
            failures.append(f"{tag}: trainc gave no gradient for {pname}")
            continue
        results.append(check(f"d/d {pname}", np.load(f), p.grad.double().numpy()))
    for ok, rel, msg in results:
        worst = max(worst, rel)
        if not ok:
            failures.append(f"{tag}: {msg}")
    print(f"{'ok  ' if not failures else 'FAIL'} {tag}: {len(results)} tensors, "
          f"largest max|diff| / max|torch| {worst:.2g}")
    return failures


# ONNX's gate order against PyTorch's, as rows of H: ONNX row block k is
# PyTorch's block ONNX_FROM_TORCH[cell][k] (GRU z r h / r z n; LSTM i o f c
# / i f g o).
ONNX_FROM_TORCH = {"GRU": [1, 0, 2], "LSTM": [0, 3, 1, 2]}


def torch_from_onnx(cell, m):
    """PyTorch's weight rows (or bias) from ONNX-ordered ones."""
    blocks = list(m.split(H))
    order = ONNX_FROM_TORCH[cell]
    return torch.cat([blocks[order.index(k)] for k in range(len(order))])


def onnx_from_torch(cell, m):
    """The inverse reordering (a permutation: gradients map the same way)."""
    blocks = list(m.split(H))
    return torch.cat([blocks[k] for k in ONNX_FROM_TORCH[cell]])


def run_packed_case(model_grad, tmp, cell, seed):
    """One bidirectional layer over sequences of different lengths: trainc
    runs an ONNX node with sequence_lens (built here, weights in ONNX's
    layout), PyTorch the same weights over a packed sequence; Y is zero past
    each length and Y_h the state after each direction's last valid step in
    both. The gradients are with respect to the ONNX-layout tensors, through
    the reordering (a permutation of rows, so the gradients of PyTorch's
    parameters reordered back are those of the ONNX tensors)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    torch.manual_seed(seed)
    G = 3 if cell == "GRU" else 4
    lens = [T, 3]
    leaves = {
        "X": torch.randn(T, B, I), "W": torch.randn(2, G * H, I) * 0.5,
        "R": torch.randn(2, G * H, H) * 0.5, "B": torch.randn(2, 2 * G * H) * 0.5,
        "initial_h": torch.randn(2, B, H), "w1": torch.randn(T, 2, B, H),
        "w2": torch.randn(2, B, H),
    }
    if cell == "LSTM":
        leaves.update(initial_c=torch.randn(2, B, H), w3=torch.randn(2, B, H))
    for k in ("X", "initial_h", "initial_c", "w1", "w2", "w3"):
        if k in leaves:
            leaves[k].requires_grad_(True)
    tag = f"{cell} bidirectional sequence_lens={lens}"

    inputs = ["X", "W", "R", "B", "sequence_lens", "initial_h"] + (["initial_c"] if cell == "LSTM" else [])
    outs = ["Y", "Y_h"] + (["Y_c"] if cell == "LSTM" else [])
    attrs = {"hidden_size": H, "direction": "bidirectional"}
    if cell == "GRU":
        attrs["linear_before_reset"] = 1
    nodes = [helper.make_node(cell, inputs, outs, name="rnn", **attrs)]
    graph_outs = []
    for k, (o, w) in enumerate(zip(outs, ["w1", "w2", "w3"])):
        nodes.append(helper.make_node("Mul", [o, w], [f"out{k}"]))
        graph_outs.append(helper.make_tensor_value_info(f"out{k}", TensorProto.FLOAT, None))
    inits = [numpy_helper.from_array(v.detach().numpy(), k) for k, v in leaves.items()]
    inits.append(numpy_helper.from_array(np.array(lens, np.int32), "sequence_lens"))
    model = helper.make_model(helper.make_graph(nodes, "packed", [], graph_outs, inits),
                              opset_imports=[helper.make_opsetid("", 14)])
    path = os.path.join(tmp, f"packed_{cell}.onnx")
    onnx.save(model, path)
    outdir = os.path.join(tmp, f"packed_{cell}")
    os.makedirs(outdir)
    r = subprocess.run([model_grad, path, outdir], capture_output=True, text=True)
    if r.returncode != 0:
        return [f"{tag}: model_grad failed: {r.stderr.strip()}"]

    rnn = getattr(torch.nn, cell)(I, H, bidirectional=True)
    suffixes = ["", "_reverse"]
    with torch.no_grad():
        for d, suffix in enumerate(suffixes):
            getattr(rnn, "weight_ih_l0" + suffix).copy_(torch_from_onnx(cell, leaves["W"][d]))
            getattr(rnn, "weight_hh_l0" + suffix).copy_(torch_from_onnx(cell, leaves["R"][d]))
            getattr(rnn, "bias_ih_l0" + suffix).copy_(torch_from_onnx(cell, leaves["B"][d][: G * H]))
            getattr(rnn, "bias_hh_l0" + suffix).copy_(torch_from_onnx(cell, leaves["B"][d][G * H:]))
    packed = torch.nn.utils.rnn.pack_padded_sequence(leaves["X"], lens)
    state = (leaves["initial_h"], leaves["initial_c"]) if cell == "LSTM" else leaves["initial_h"]
    y, hn = rnn(packed, state)
    y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, total_length=T)
    y = y.view(T, B, 2, H).permute(0, 2, 1, 3)  # ONNX's Y [T, D, B, H]
    results = [y * leaves["w1"]]
    if cell == "LSTM":
        results += [hn[0] * leaves["w2"], hn[1] * leaves["w3"]]
    else:
        results += [hn * leaves["w2"]]
    sum(o.sum() for o in results).backward()
    grads = {k: v.grad for k, v in leaves.items()}

    def onnx_grad(prefix, part=slice(None)):
        return torch.stack([onnx_from_torch(cell, getattr(rnn, prefix + s).grad[part])
                            for s in suffixes])
    grads["W"], grads["R"] = onnx_grad("weight_ih_l0"), onnx_grad("weight_hh_l0")
    grads["B"] = torch.cat([onnx_grad("bias_ih_l0"), onnx_grad("bias_hh_l0")], 1)
    checks = [check(f"output {k}", np.load(os.path.join(outdir, f"output.{k}.npy")),
                    o.detach().double().numpy()) for k, o in enumerate(results)]
    failures, worst = [], 0.0
    for name, v in leaves.items():
        f = os.path.join(outdir, f"grad.{name}.npy")
        if not os.path.exists(f):
            failures.append(f"{tag}: trainc gave no gradient for {name}")
            continue
        checks.append(check(f"d/d {name}", np.load(f), grads[name].double().numpy()))
    for ok, rel, msg in checks:
        worst = max(worst, rel)
        if not ok:
            failures.append(f"{tag}: {msg}")
    print(f"{'ok  ' if not failures else 'FAIL'} {tag}: {len(checks)} tensors, "
          f"largest max|diff| / max|torch| {worst:.2g}")
    return failures


def main():
    model_grad = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        seed = 0
        for cell in ("RNN", "GRU", "LSTM"):
            for batch_first in (False, True):
                seed += 1
                failures += run_case(model_grad, tmp, cell, batch_first, seed)
        for cell in ("GRU", "LSTM"):
            seed += 1
            failures += run_packed_case(model_grad, tmp, cell, seed)
    for f in failures:
        print("FAIL", f)
    print(f"{'PASS' if not failures else 'FAIL'}: {len(failures)} mismatches")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
