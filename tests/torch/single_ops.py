"""Differential test: single ONNX operators in trainc against PyTorch, live.

For each case an ONNX model holding one node (every tensor an initializer)
is run by op_check: the forward outputs and the gradient of sum(Y * U) with
respect to every float initializer. PyTorch computes the same with its own
functions (F.layer_norm, torch.native_layer_norm for Mean/InvStdDev,
F.instance_norm, F.conv_transpose1d/2d/3d, F.conv3d, F.max_pool3d,
F.avg_pool3d, F.interpolate(mode="bicubic"), torch.amax/amin with ties,
torch.prod with zeros, torch.logsumexp, torch.topk, torch.cumsum,
torch.tril/triu, torch.scatter/scatter_add/scatter_reduce, torch.einsum,
...) in float32.

Tolerance, per tensor: |trainc - exact| <= 4 * |torch32 - exact| + 2 ulp of
the tensor's largest value (2 * 2^-23 * max|exact|), where `exact` is
PyTorch's result in float64 from the same float32 data. That is float32
rounding as PyTorch itself incurs it, measured in the same run, plus two
ulp for the different (equally valid) order of summation.

usage: /usr/bin/python3 single_ops.py OP_CHECK
"""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
warnings.filterwarnings("ignore", message="scatter_reduce\\(\\) is in beta")


def rand(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def model(op, inits, attrs, nout=1, extra_int_inits=None, opset=17, order=None):
    """One `op` node over the initializers (name -> array), read in `order`
    (default: the float ones, then the integer ones)."""
    names = list(inits)
    tensors = [numpy_helper.from_array(a, n) for n, a in inits.items()]
    consts = []
    for n, a in (extra_int_inits or {}).items():
        if a is None:  # an omitted optional input
            names.append("")
            continue
        names.append(n)
        if a.dtype.kind == "f":  # op_check differentiates float initializers: a Constant
            consts.append(helper.make_node("Constant", [], [n], value=numpy_helper.from_array(a, n)))
        else:
            tensors.append(numpy_helper.from_array(a, n))
    names = order or names
    outs = [f"y{k}" for k in range(nout)]
    node = helper.make_node(op, names, outs, name="node", **attrs)
    graph = helper.make_graph(consts + [node], "g", [], [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in outs], tensors)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run_trainc(op_check, tmp, name, m, upstream):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    path = os.path.join(d, "model.onnx")
    onnx.save(m, path)
    np.save(os.path.join(d, "u.npy"), upstream)
    r = subprocess.run([op_check, path, os.path.join(d, "u.npy"), d], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    outs, k = [], 0
    while os.path.exists(os.path.join(d, f"out.{k}.npy")):
        outs.append(np.load(os.path.join(d, f"out.{k}.npy")))
        k += 1
    grads = {f[5:-4]: np.load(os.path.join(d, f)) for f in os.listdir(d) if f.startswith("grad.")}
    return (outs, grads), None


def torch_eval(fn, inits, upstream, dtype):
    ts = {n: torch.tensor(a, dtype=dtype, requires_grad=True) for n, a in inits.items()}
    outs = fn(**ts)
    outs = outs if isinstance(outs, tuple) else (outs,)
    outs[0].backward(torch.tensor(upstream, dtype=dtype))
    grads = {n: (t.grad if t.grad is not None else torch.zeros_like(t)).detach().numpy() for n, t in ts.items()}
    return [o.detach().numpy() for o in outs], grads


WORST = [0.0, ""]  # largest |error| / tolerance seen, and where


def compare(what, ours, t32, t64):
    ours = np.asarray(ours, dtype=np.float64)
    if ours.shape != t64.shape:
        return f"{what}: shape {ours.shape}, torch {t64.shape}"
    scale = float(np.max(np.abs(t64))) if t64.size else 0.0
    ref_err = float(np.max(np.abs(t32.astype(np.float64) - t64))) if t64.size else 0.0
    tol = 4 * ref_err + 2 * 2.0 ** -23 * scale
    err = float(np.max(np.abs(ours - t64))) if t64.size else 0.0
    if tol > 0 and err / tol > WORST[0]:
        WORST[0], WORST[1] = err / tol, what
    if not err <= tol:
        return f"{what}: max |error| {err:.3g} > tolerance {tol:.3g} (torch float32's own {ref_err:.3g})"
    return None


CASES = []


def case(name, op, inits, attrs, fn, nout=1, ints=None, exact_outputs=(), opset=17, order=None):
    CASES.append((name, op, inits, attrs, fn, nout, ints or {}, exact_outputs, opset, order))


# ---- LayerNormalization -------------------------------------------------------
def ln(axis, eps=1e-5, bias=True):
    def fn(x, w, b=None):
        shape = x.shape[axis:]
        y, mean, rstd = torch.native_layer_norm(x, shape, w, b, eps)
        return y, mean, rstd
    return fn


x = rand(4, 6, 8)
case("layernorm_last", "LayerNormalization", {"x": x, "w": rand(8), "b": rand(8)},
     {"axis": -1}, ln(2), nout=3)
case("layernorm_axis1_eps", "LayerNormalization", {"x": rand(3, 4, 5), "w": rand(4, 5), "b": rand(4, 5)},
     {"axis": 1, "epsilon": 1e-3}, ln(1, 1e-3), nout=3)
case("layernorm_nobias", "LayerNormalization", {"x": rand(5, 16, lo=-3, hi=5), "w": rand(16)},
     {}, lambda x, w: torch.native_layer_norm(x, x.shape[1:], w, None, 1e-5))
case("layernorm_transformer", "LayerNormalization", {"x": rand(2, 7, 32), "w": rand(32, lo=0.5, hi=1.5), "b": rand(32)},
     {"axis": 2}, lambda x, w, b: F.layer_norm(x, (32,), w, b))

# ---- InstanceNormalization, LpNormalization -----------------------------------
case("instancenorm_2d", "InstanceNormalization", {"x": rand(2, 3, 5, 4), "w": rand(3), "b": rand(3)},
     {"epsilon": 1e-4}, lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-4))
case("instancenorm_1d", "InstanceNormalization", {"x": rand(3, 2, 9), "w": rand(2), "b": rand(2)},
     {}, lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-5))
case("lpnorm_p2", "LpNormalization", {"x": rand(3, 4, 5)}, {"axis": 1, "p": 2},
     lambda x: F.normalize(x, p=2.0, dim=1, eps=0.0))
case("lpnorm_p1", "LpNormalization", {"x": rand(4, 6)}, {"p": 1},
     lambda x: F.normalize(x, p=1.0, dim=-1, eps=0.0))


# ---- ConvTranspose --------------------------------------------------------------
def ct2(stride=1, padding=0, output_padding=0, groups=1, dilation=1, bias=True):
    def fn(x, w, b=None):
        return F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)
    return fn


def ct1(stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    def fn(x, w, b=None):
        return F.conv_transpose1d(x, w, b, stride, padding, output_padding, groups, dilation)
    return fn


case("convtranspose_unet_up", "ConvTranspose", {"x": rand(2, 8, 5, 5), "w": rand(8, 4, 2, 2), "b": rand(4)},
     {"strides": [2, 2]}, ct2(stride=2))
case("convtranspose_pads_outpad", "ConvTranspose", {"x": rand(2, 3, 4, 5), "w": rand(3, 2, 3, 3), "b": rand(2)},
     {"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 1]}, ct2(2, 1, 1))
case("convtranspose_dilation_groups", "ConvTranspose", {"x": rand(1, 4, 4, 4), "w": rand(4, 3, 3, 2), "b": rand(6)},
     {"group": 2, "dilations": [2, 1], "strides": [1, 2], "pads": [2, 1, 2, 1]},
     ct2((1, 2), (2, 1), 0, 2, (2, 1)))
case("convtranspose_depthwise_nobias", "ConvTranspose", {"x": rand(2, 3, 6, 6), "w": rand(3, 1, 3, 3)},
     {"group": 3, "pads": [1, 1, 1, 1]}, ct2(1, 1, 0, 3))
# output_shape [11, 10] from a 5x5 input with stride 2, kernel 3: total
# padding 2*4+3-11 = 0 and 2*4+3-10 = 1 (SAME_UPPER-free: begin = total - total/2)
case("convtranspose_output_shape", "ConvTranspose", {"x": rand(1, 2, 5, 5), "w": rand(2, 3, 3, 3), "b": rand(3)},
     {"strides": [2, 2], "output_shape": [11, 10]},
     lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 0, 0)[:, :, :, 1:])
case("convtranspose_1d", "ConvTranspose", {"x": rand(2, 4, 7), "w": rand(4, 3, 5), "b": rand(3)},
     {"strides": [3], "pads": [2, 2], "output_padding": [1]}, ct1(3, 2, 1))

# ---- reductions, TopK -------------------------------------------------------------
ties = np.array([[1, 3, 3, -2], [0.5, 0.5, 0.5, 0.5], [-1, 2, -1, 2]], dtype=np.float32)
case("reducemax_ties", "ReduceMax", {"x": ties}, {"axes": [1], "keepdims": 0},
     lambda x: torch.amax(x, dim=1))
case("reducemin_ties_keep", "ReduceMin", {"x": np.ascontiguousarray(ties.T)}, {"axes": [0]},
     lambda x: torch.amin(x, dim=0, keepdim=True))
case("reducemax_all", "ReduceMax", {"x": np.tile(ties, (2, 1, 1))}, {"keepdims": 0},
     lambda x: torch.amax(x, dim=(0, 1, 2)))
zeros = rand(5, 4)
zeros[1, 2] = 0
zeros[3, 0] = zeros[3, 3] = 0
case("reduceprod_zeros", "ReduceProd", {"x": zeros}, {"axes": [1], "keepdims": 0},
     lambda x: torch.prod(x, dim=1))
case("reducel2", "ReduceL2", {"x": rand(3, 4, 5)}, {"axes": [0, 2]},
     lambda x: torch.linalg.vector_norm(x, 2, dim=(0, 2), keepdim=True))
case("reducel1", "ReduceL1", {"x": rand(3, 4)}, {"axes": [1], "keepdims": 0},
     lambda x: torch.linalg.vector_norm(x, 1, dim=1))
case("reducesumsquare", "ReduceSumSquare", {"x": rand(3, 4)}, {"axes": [0]},
     lambda x: torch.sum(x * x, dim=0, keepdim=True))
case("reducelogsumexp", "ReduceLogSumExp", {"x": rand(3, 4, 5, lo=-30, hi=30)}, {"axes": [2], "keepdims": 0},
     lambda x: torch.logsumexp(x, dim=2))
case("topk_largest", "TopK", {"x": rand(3, 7)}, {"axis": 1},
     lambda x: torch.topk(x, 3, dim=1), nout=2, ints={"k": np.array([3], dtype=np.int64)},
     exact_outputs=(1,))
case("topk_smallest_axis0", "TopK", {"x": rand(6, 2, 3)}, {"axis": 0, "largest": 0},
     lambda x: torch.topk(x, 2, dim=0, largest=False), nout=2,
     ints={"k": np.array([2], dtype=np.int64)}, exact_outputs=(1,))
case("cumsum", "CumSum", {"x": rand(3, 5)}, {}, lambda x: torch.cumsum(x, 1),
     ints={"axis": np.array(-1, dtype=np.int64)})
case("cumsum_exclusive_reverse", "CumSum", {"x": rand(4, 3, 2)}, {"exclusive": 1, "reverse": 1},
     lambda x: torch.flip(torch.cumsum(torch.flip(x, [0]), 0), [0]) - x,
     ints={"axis": np.array(0, dtype=np.int32)})
case("trilu_lower", "Trilu", {"x": rand(2, 4, 5)}, {"upper": 0}, lambda x: torch.tril(x, 1),
     ints={"k": np.array(1, dtype=np.int64)})
case("trilu_upper", "Trilu", {"x": rand(5, 3)}, {}, lambda x: torch.triu(x, -1),
     ints={"k": np.array(-1, dtype=np.int64)})

# ---- 3-D windows: Conv3d, MaxPool3d, AvgPool3d, ConvTranspose3d (NCDHW) ------------
case("conv3d_stride_pad_dil_groups", "Conv",
     {"x": rand(2, 4, 5, 6, 7), "w": rand(6, 2, 3, 2, 3), "b": rand(6)},
     {"strides": [2, 1, 2], "pads": [1, 0, 1, 1, 0, 1], "dilations": [1, 2, 1], "group": 2},
     lambda x, w, b: F.conv3d(x, w, b, (2, 1, 2), (1, 0, 1), (1, 2, 1), 2))
case("conv3d_nobias", "Conv", {"x": rand(1, 3, 4, 5, 6), "w": rand(4, 3, 2, 2, 2)}, {},
     lambda x, w: F.conv3d(x, w))
case("conv3d_same_even_kernel", "Conv", {"x": rand(2, 2, 5, 4, 6), "w": rand(3, 2, 2, 3, 4), "b": rand(3)},
     {"auto_pad": "SAME_UPPER"},  # torch's padding="same": the odd unit at the end
     lambda x, w, b: F.conv3d(F.pad(x, (1, 2, 1, 1, 0, 1)), w, b))
case("conv3d_1x1x1", "Conv", {"x": rand(2, 3, 3, 4, 5), "w": rand(5, 3, 1, 1, 1), "b": rand(5)},
     {}, lambda x, w, b: F.conv3d(x, w, b))
case("maxpool3d_ceil_pad_dil", "MaxPool", {"x": rand(2, 3, 5, 7, 8)},
     {"kernel_shape": [2, 3, 2], "strides": [2, 1, 2], "pads": [1, 1, 0, 1, 1, 0],
      "dilations": [1, 1, 2], "ceil_mode": 1},
     lambda x: F.max_pool3d(x, (2, 3, 2), (2, 1, 2), (1, 1, 0), (1, 1, 2), ceil_mode=True))
case("maxpool3d_default", "MaxPool", {"x": rand(1, 2, 4, 4, 6)}, {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]},
     lambda x: F.max_pool3d(x, 2))
for cip in (0, 1):
    case(f"avgpool3d_ceil_pad_cip{cip}", "AveragePool", {"x": rand(2, 3, 6, 5, 7)},
         {"kernel_shape": [3, 2, 3], "strides": [2, 2, 2], "pads": [1, 1, 1, 1, 1, 1],
          "ceil_mode": 1, "count_include_pad": cip},
         lambda x, cip=cip: F.avg_pool3d(x, (3, 2, 3), 2, 1, ceil_mode=True,
                                         count_include_pad=bool(cip)))
case("avgpool3d_stride1", "AveragePool", {"x": rand(1, 2, 4, 5, 3)}, {"kernel_shape": [2, 3, 2]},
     lambda x: F.avg_pool3d(x, (2, 3, 2), 1))
case("convtranspose3d", "ConvTranspose", {"x": rand(1, 4, 3, 4, 3), "w": rand(4, 3, 2, 3, 2), "b": rand(6)},
     {"strides": [2, 1, 2], "pads": [1, 1, 0, 1, 1, 0], "output_padding": [1, 0, 1], "group": 2},
     lambda x, w, b: F.conv_transpose3d(x, w, b, (2, 1, 2), (1, 1, 0), (1, 0, 1), 2))

# ---- Resize, cubic: F.interpolate(mode="bicubic") as torch exports it (A = -0.75,
# borders clamped, half_pixel or align_corners), up and down, by size and by scale
def bicubic(align_corners, **kw):
    return lambda x: F.interpolate(x, mode="bicubic", align_corners=align_corners, **kw)


def sizes(*shape):
    return {"roi": None, "scales": None, "sizes": np.array(shape, dtype=np.int64)}


def cubic_attrs(align_corners):
    return {"mode": "cubic", "cubic_coeff_a": -0.75,
            "coordinate_transformation_mode": "align_corners" if align_corners else "half_pixel"}


for ac in (False, True):
    tag = "align_corners" if ac else "half_pixel"
    case(f"bicubic_up_{tag}", "Resize", {"x": rand(2, 3, 5, 6)}, cubic_attrs(ac),
         bicubic(ac, size=(11, 9)), ints=sizes(2, 3, 11, 9))
    case(f"bicubic_down_{tag}", "Resize", {"x": rand(1, 2, 9, 10)}, cubic_attrs(ac),
         bicubic(ac, size=(4, 7)), ints=sizes(1, 2, 4, 7))
    # align_corners maps through (in - 1) / (in * scale - 1) in ONNX but through the
    # rounded output length in torch: the same only when in * scale is whole
    case(f"bicubic_scale_{tag}", "Resize", {"x": rand(1, 2, 6, 6 if ac else 5)}, cubic_attrs(ac),
         bicubic(ac, scale_factor=(2.0, 0.5)),
         ints={"roi": None, "scales": np.array([1, 1, 2.0, 0.5], dtype=np.float32)})


# ---- ScatterElements (torch.scatter, scatter_add, scatter_reduce with
# include_self=True), Scatter; Einsum (torch.einsum) ------------------------------
def scatter(name, data, idx, upd, axis, reduction=None, opset=18, op="ScatterElements"):
    """ONNX gets idx as given (negative entries, int32 allowed); torch the
    same positions as non-negative int64."""
    pos = torch.tensor(np.where(idx < 0, idx + data.shape[axis], idx).astype(np.int64))
    attrs = {"axis": axis}
    if reduction:
        attrs["reduction"] = reduction
    if reduction is None:
        fn = lambda x, u: torch.scatter(x, axis, pos, u)
    elif reduction == "add":
        fn = lambda x, u: torch.scatter_add(x, axis, pos, u)
    else:
        r = {"mul": "prod", "max": "amax", "min": "amin"}[reduction]
        fn = lambda x, u: torch.scatter_reduce(x, axis, pos, u, r, include_self=True)
    case(name, op, {"x": data, "u": upd}, attrs, fn, ints={"i": idx}, opset=opset,
         order=["x", "i", "u"])


perm = np.stack([rng.permutation(5)[:3] for _ in range(4)], axis=1)  # distinct per column
scatter("scatter_none_axis0", rand(5, 4), perm, rand(3, 4), 0)
# repeated targets: the last update in row-major order wins (torch's CPU loop);
# every update still gets gather(dy), as torch's backward gives
scatter("scatter_none_repeated", rand(2, 6), np.array([[1, 1, 1, 3, 3, 1], [0, 0, 2, 2, 2, 0]]),
        rand(2, 6), 1)
scatter("scatter_negative_int32_shorter", rand(3, 5, 4),
        np.array([[[0, -1, 2, 3], [-4, 1, 0, 2], [3, 3, -2, 0]]] * 2, dtype=np.int32), rand(2, 3, 4), -1)
scatter("scatter_add_repeated", rand(4, 3), rng.integers(-4, 4, size=(6, 3)), rand(6, 3), 0, "add")
mul_data, mul_upd = rand(3, 4), rand(3, 6)
mul_data[0, 1] = 0
mul_upd[1, 0] = mul_upd[2, 2] = mul_upd[2, 3] = mul_upd[0, 5] = 0
scatter("scatter_mul_zeros", mul_data, np.array([[1, 1, 2, 0, 3, 3], [0, 0, 1, 2, 3, 3], [2, 1, 1, 1, 0, 0]]),
        mul_upd, 1, "mul")
# ties between data and updates and among updates: dy shared evenly
tie_data = np.array([[0.5, -1, 2], [1, 1, 0]], dtype=np.float32)
tie_upd = np.array([[0.5, 0.5, -3, 2], [1, 0.25, 1, -1]], dtype=np.float32)
tie_idx = np.array([[0, 0, 1, 2], [0, 2, 0, 1]])
scatter("scatter_max_ties", tie_data, tie_idx, tie_upd, 1, "max")
scatter("scatter_min_ties", -tie_data, tie_idx, -tie_upd, 1, "min")
scatter("scatter_max_axis0", rand(3, 4), rng.integers(0, 3, size=(5, 4)), rand(5, 4), 0, "max")
scatter("scatter_opset9", rand(4, 3), np.array([[3, 1, 0], [0, 2, 1]]), rand(2, 3), 0, opset=10,
        op="Scatter")


def einsum(name, eq, *shapes):
    names = [f"x{k}" for k in range(len(shapes))]
    case(name, "Einsum", {n: rand(*s) for n, s in zip(names, shapes)}, {"equation": eq},
         lambda **ts: torch.einsum(eq, *[ts[n] for n in names]))


einsum("einsum_bmm", "bij,bjk->bik", (3, 4, 5), (3, 5, 2))
einsum("einsum_attention", "bhqd,bhkd->bhqk", (2, 3, 4, 8), (2, 3, 6, 8))
einsum("einsum_attention_v", "bhqk,bhkd->bhqd", (2, 3, 4, 6), (2, 3, 6, 8))
einsum("einsum_matmul_implicit", "ij,jk", (4, 5), (5, 3))
einsum("einsum_dot", "i,i->", (7,), (7,))
einsum("einsum_transpose", "ij->ji", (3, 5))
einsum("einsum_diagonal", "ii->i", (4, 4))
einsum("einsum_trace_batch", "...ii->...", (2, 3, 3))
einsum("einsum_sum", "bij->bi", (2, 3, 4))
einsum("einsum_broadcast", "...ij,...jk->...ik", (2, 3, 4, 5), (3, 5, 2))
einsum("einsum_outer", "i,j->ij", (3,), (4,))
einsum("einsum_three", "bi,ij,bj->b", (4, 3), (3, 5), (4, 5))
einsum("einsum_bilinear", "bn,anm,bm->ba", (2, 3), (4, 3, 5), (2, 5))
einsum("einsum_permute_sum", "abcd->dba", (2, 3, 2, 4))

def main():
    op_check = sys.argv[1]
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, op, inits, attrs, fn, nout, ints, exact, opset, order in CASES:
            m = model(op, inits, attrs, nout, ints, opset, order)
            ts32 = {n: torch.tensor(a, requires_grad=True) for n, a in inits.items()}
            y32 = fn(**ts32)
            y32 = y32 if isinstance(y32, tuple) else (y32,)
            upstream = rng.uniform(-1, 1, size=tuple(y32[0].shape)).astype(np.float32)
            o32, g32 = torch_eval(fn, inits, upstream, torch.float32)
            o64, g64 = torch_eval(fn, inits, upstream.astype(np.float64), torch.float64)
            got, err = run_trainc(op_check, tmp, name, m, upstream)
            if err:
                failures.append(f"{name}: trainc failed: {err}")
                continue
            outs, grads = got
            problems = []
            for k in range(nout):
                if k in exact:
                    if not np.array_equal(outs[k], o32[k]):
                        problems.append(f"output {k}: {outs[k].tolist()} != torch {o32[k].tolist()}")
                    continue
                want64 = o64[k].reshape(outs[k].shape) if o64[k].size == outs[k].size else o64[k]
                want32 = o32[k].reshape(want64.shape)
                p = compare(f"{name} output {k}", outs[k], want32, want64)
                if p:
                    problems.append(p)
            for n in inits:
                p = compare(f"{name} d{n}", grads.get(n, np.zeros(0)), g32[n], g64[n])
                if p:
                    problems.append(p)
            checked += 1
            status = "ok  " if not problems else "FAIL"
            print(f"{status} {name}")
            failures += [f"{name}: {p}" for p in problems]
    for f in failures:
        print("FAIL", f)
    print(f"{checked} cases, {len(failures)} failures; largest |error|/tolerance {WORST[0]:.2g} ({WORST[1]})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
