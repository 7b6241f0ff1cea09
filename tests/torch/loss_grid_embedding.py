"""Differential grid of the embedding losses against PyTorch (see
loss_harness.py): CosineEmbeddingLoss, TripletMarginLoss and
TripletMarginWithDistanceLoss ("pairwise" and "cosine" distances), every
option and reduction, broadcast shapes, the kinks (clamp at 0, the norm at a
zero difference, ties of max|x| and of the swapped distance) and the errors
trainc raises before compiling."""
import itertools
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from loss_harness import Case, main

REDUCTIONS = ["none", "sum", "mean"]


def rand(rng, shape, dtype=np.float32, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape).astype(dtype)


def signs(rng, n, dtype=np.int64):
    return rng.choice([1, -1], size=n).astype(dtype)


def sname(shape):
    return "x".join(map(str, shape)) or "scalar"


# ---- CosineEmbeddingLoss ---------------------------------------------------

def cosine_torch(margin, red):
    return lambda t: nn.CosineEmbeddingLoss(margin=margin, reduction=red)(
        t["input1"], t["input2"], t["target"])


def cosine_case(cid, x1, x2, y, margin=0.0, red="mean", grad=("input1", "input2"), **kw):
    loss = {"type": "CosineEmbeddingLoss", "margin": margin, "reduction": red}
    return Case(f"cos_{cid}", loss, {"input1": x1, "input2": x2, "target": y}, list(grad),
                torch=cosine_torch(margin, red), **kw)


def cosine_cases(rng):
    out = []
    # the grid: reductions x shapes (batch 1, D = 1) x target dtypes, margins rotating
    shapes = [(1, 3), (4, 5), (6, 1)]
    for i, (red, shape, tdt) in enumerate(itertools.product(REDUCTIONS, shapes,
                                                            [np.int64, np.float32])):
        margin = [0.0, 0.5, -0.3][i % 3]
        y = signs(rng, shape[0], tdt)
        out.append(cosine_case(f"{red}_{sname(shape)}_m{margin}_{np.dtype(tdt).name}",
                               rand(rng, shape), rand(rng, shape), y, margin, red))
    # one option each, the reductions rotating.
    # (1-D inputs with a 0-D target are checked by the gradcheck only: the
    # harness saves arrays with np.ascontiguousarray, which makes a 0-D target 1-D.)
    reds = itertools.cycle(REDUCTIONS)
    # only one input differentiated (the other a data field)
    out.append(cosine_case("grad1", rand(rng, (4, 3)), rand(rng, (4, 3)), signs(rng, 4), 0.2,
                           next(reds), grad=["input1"]))
    out.append(cosine_case("grad2", rand(rng, (4, 3)), rand(rng, (4, 3)), signs(rng, 4), 0.2,
                           next(reds), grad=["input2"]))
    # targets other than 1/-1 give 0; int32, bool and float64 targets
    out.append(cosine_case("t_other", rand(rng, (5, 3)), rand(rng, (5, 3)),
                           np.array([1, -1, 0, 2, 0.5], np.float32), 0.0, next(reds)))
    out.append(cosine_case("t_i32", rand(rng, (4, 3)), rand(rng, (4, 3)),
                           signs(rng, 4, np.int32), -0.2, next(reds)))
    out.append(cosine_case("t_bool", rand(rng, (4, 3)), rand(rng, (4, 3)),
                           np.array([True, False, True, False]), 0.0, next(reds)))
    out.append(cosine_case("t_f64", rand(rng, (4, 3)), rand(rng, (4, 3)),
                           signs(rng, 4, np.float64), 0.0, next(reds)))
    # float64 inputs
    for red in ("none", "mean"):
        out.append(cosine_case(f"f64_{red}", rand(rng, (4, 6), np.float64),
                               rand(rng, (4, 6), np.float64), signs(rng, 4), 0.3, red))
    # broadcasting as torch: rows, columns, the target
    out.append(cosine_case("bc_rows", rand(rng, (1, 4)), rand(rng, (5, 4)), signs(rng, 5), 0.0,
                           next(reds)))
    out.append(cosine_case("bc_cols", rand(rng, (5, 1)), rand(rng, (5, 4)), signs(rng, 5), -0.5,
                           next(reds)))
    out.append(cosine_case("bc_target", rand(rng, (5, 4)), rand(rng, (5, 4)),
                           np.array([-1], np.int64), -0.5, next(reds)))
    out.append(cosine_case("bc_inputs", rand(rng, (1, 4)), rand(rng, (1, 4)), signs(rng, 3),
                           -0.5, next(reds)))
    # extreme magnitudes, zero and tiny rows (EPSILON = 1e-12 in the denominator)
    x1 = rand(rng, (4, 3)) * np.array([[100.0], [1e-3], [0.0], [1e-7]], np.float32)
    x2 = rand(rng, (4, 3)) * np.array([[-100.0], [1e3], [1.0], [1e-7]], np.float32)
    out.append(cosine_case("extreme", x1, x2, np.array([1, -1, 1, -1]), -0.5, "none"))
    out.append(cosine_case("extreme_pos", x1, x2, np.array([1, 1, 1, 1]), 0.0, "mean"))
    # the kink: cos - margin == 0 exactly (torch's clamp_min passes the gradient)
    out.append(cosine_case("kink", np.array([[1, 0], [0, 2]], np.float32),
                           np.array([[0, 1], [3, 0]], np.float32), np.array([-1, -1]), 0.0,
                           "sum"))
    # parallel and antiparallel rows (cos = +-1)
    x = rand(rng, (3, 4))
    out.append(cosine_case("parallel", x, np.float32(2) * x, np.array([1, -1, -1]), 0.5, "none"))
    out.append(cosine_case("antiparallel", x, np.float32(-0.5) * x, np.array([1, -1, 1]), -0.9,
                           "none"))

    # The tutorial example of the issue: [0.0167, 0.9833] to 4 decimals,
    # against torch and, explicitly, against the tutorial's printed values.
    x1 = np.array([[0.3, 0.5, 0.7]] * 2, np.float32)
    x2 = np.array([[0.1, 0.3, 0.5]] * 2, np.float32)
    y = np.array([1, -1], np.int64)
    want = np.array([0.0167, 0.9833], np.float32)
    got = F.cosine_embedding_loss(torch.from_numpy(x1), torch.from_numpy(x2),
                                  torch.from_numpy(y), reduction="none")
    assert np.array_equal(np.round(got.numpy(), 4), want), got
    out.append(cosine_case("tutorial", x1, x2, y, 0.0, "none"))
    out.append(Case("cos_tutorial_values",
                    {"type": "CosineEmbeddingLoss", "reduction": "none"},
                    {"input1": x1, "input2": x2, "target": y}, [],
                    torch=lambda t, w=want: torch.from_numpy(w), atol=5e-5, rtol=0.0,
                    why="the tutorial prints the loss rounded to 4 decimals"))

    # errors
    def err(cid, x1, x2, y, msg):
        out.append(Case(f"cos_err_{cid}", {"type": "CosineEmbeddingLoss"},
                        {"input1": x1, "input2": x2, "target": y}, ["input1"], error=msg))
    err("target_2d", rand(rng, (4, 3)), rand(rng, (4, 3)), np.ones((4, 1), np.int64),
        "0D or 1D target tensor expected, multi-target not supported")
    err("target_1d_inputs_1d", rand(rng, (3,)), rand(rng, (3,)), np.ones((1,), np.int64),
        "1D target tensor expects 2D input tensors")
    err("inputs_3d", rand(rng, (2, 4, 3)), rand(rng, (2, 4, 3)), np.ones((2, 4), np.int64),
        "0D or 1D target tensor expected")
    err("input_ranks", rand(rng, (4, 3)), rand(rng, (3,)), np.ones((4,), np.int64),
        "1D target tensor expects 2D input tensors")
    err("D_mismatch", rand(rng, (4, 3)), rand(rng, (4, 2)), np.ones((4,), np.int64),
        "input1 and input2 must have one shape")
    err("N_mismatch", rand(rng, (4, 3)), rand(rng, (3, 3)), np.ones((4,), np.int64),
        "input1 and input2 must have one shape")
    err("target_length", rand(rng, (4, 3)), rand(rng, (4, 3)), np.ones((3,), np.int64),
        "target must have shape [N]")
    err("dtypes", rand(rng, (4, 3)), rand(rng, (4, 3), np.float64), np.ones((4,), np.int64),
        "input1 and input2 must be float tensors of one dtype")
    # a float target that is a model output: torch gives it no gradient
    out.append(Case("cos_err_target_grad", {"type": "CosineEmbeddingLoss"},
                    {"input1": rand(rng, (4, 3)), "input2": rand(rng, (4, 3)),
                     "target": signs(rng, 4, np.float32)}, ["input1", "target"],
                    error="has no gradient with respect to its input 2"))
    err("target_u8", rand(rng, (4, 3)), rand(rng, (4, 3)), np.ones((4,), np.uint8),
        "target must hold 1 or -1")
    return out


# ---- TripletMarginLoss -----------------------------------------------------

def triplet_case(cid, a, p, n, margin=1.0, pnorm=2.0, eps=1e-6, swap=False, red="mean",
                 grad=("anchor", "positive", "negative"), **kw):
    loss = {"type": "TripletMarginLoss", "margin": margin, "p": pnorm, "eps": eps,
            "swap": swap, "reduction": red}
    return Case(f"tri_{cid}", loss, {"anchor": a, "positive": p, "negative": n}, list(grad),
                torch=lambda t: nn.TripletMarginLoss(margin=margin, p=pnorm, eps=eps, swap=swap,
                                                     reduction=red)(
                    t["anchor"], t["positive"], t["negative"]), **kw)


# p = +-inf: JSON has no infinity and the spec's p is a number (spec_tables.c);
# the kernel's inf/-inf branches are covered by tests/unit/gradcheck_loss_embedding.h.
PNORMS = [2.0, 1.0, 3.0, 1.5, 0.5, 0.0, -1.0, -2.5]


def triplet_cases(rng):
    out = []
    # the grid: reductions x p, swap alternating; shapes (batch 1 or 5), margins and eps rotating
    for i, (red, pn) in enumerate(itertools.product(REDUCTIONS, PNORMS)):
        swap = i % 2 == 1
        shape = [(1, 4), (5, 3)][i // 2 % 2]
        margin = [1.0, 0.3, 2.5][i % 3]
        eps = [1e-6, 0.0, 0.1][i % 3]
        out.append(triplet_case(f"{red}_p{pn}_s{int(swap)}_{sname(shape)}_{i}",
                                rand(rng, shape), rand(rng, shape), rand(rng, shape),
                                margin, pn, eps, swap, red))
    # zero differences (eps 0, anchor row == positive row): the norm's gradient
    # at 0 for every p; also negative == anchor in another row
    reds = itertools.cycle(REDUCTIONS)
    for i, pn in enumerate(PNORMS):
        a = rand(rng, (3, 4))
        p = rand(rng, (3, 4))
        n = rand(rng, (3, 4))
        p[0] = a[0]
        n[1] = a[1]
        out.append(triplet_case(f"zero_p{pn}", a, p, n, 0.7, pn, 0.0, i % 2 == 0, next(reds)))
    # rank 1, rank 3, float64, extreme values
    out.append(triplet_case("rank1", rand(rng, (6,)), rand(rng, (6,)), rand(rng, (6,)), 1.0, 2.0,
                            1e-6, False, next(reds)))
    out.append(triplet_case("rank3", rand(rng, (2, 3, 4)), rand(rng, (2, 3, 4)),
                            rand(rng, (2, 3, 4)), 1.0, 1.5, 1e-6, True, "none"))
    out.append(triplet_case("f64", rand(rng, (4, 5), np.float64), rand(rng, (4, 5), np.float64),
                            rand(rng, (4, 5), np.float64), 0.5, 3.0, 1e-6, True, next(reds)))
    for red in ("none", "mean"):
        out.append(triplet_case(f"extreme_{red}", rand(rng, (4, 3), lo=-100, hi=100),
                                rand(rng, (4, 3), lo=-100, hi=100),
                                rand(rng, (4, 3), lo=-100, hi=100), 50.0, 2.0, 1e-6, True, red))
    # broadcasting as torch (same rank, sizes 1)
    out.append(triplet_case("bc", rand(rng, (1, 4)), rand(rng, (5, 4)), rand(rng, (5, 1)), 2.0,
                            2.0, 1e-6, True, "none"))
    out.append(triplet_case("bc3", rand(rng, (2, 1, 4)), rand(rng, (1, 3, 4)),
                            rand(rng, (2, 3, 4)), 2.0, 1.0, 1e-6, False, next(reds)))
    # only some inputs differentiated
    out.append(triplet_case("grad_a", rand(rng, (4, 3)), rand(rng, (4, 3)), rand(rng, (4, 3)),
                            1.0, 2.0, 1e-6, True, next(reds), grad=["anchor"]))
    out.append(triplet_case("grad_pn", rand(rng, (4, 3)), rand(rng, (4, 3)), rand(rng, (4, 3)),
                            1.0, 2.0, 1e-6, True, next(reds), grad=["positive", "negative"]))
    # the clamp at exactly 0: margin + d(a,p) - d(a,n) == 0 (gradient passes)
    out.append(triplet_case("clamp0", np.array([[1, 0]], np.float32),
                            np.array([[1, 1]], np.float32), np.array([[2, 0]], np.float32),
                            0.0, 2.0, 0.0, False, "sum"))
    # swap tie: d(a,n) == d(p,n) (torch.min gives each half the gradient)
    out.append(triplet_case("swap_tie", np.array([[1, 0], [0, 1]], np.float32),
                            np.array([[1, 0], [0, 1]], np.float32),
                            np.array([[0, 1], [1, 1]], np.float32), 2.0, 2.0, 0.0, True, "none"))
    out.append(triplet_case("swap_tie_pos", np.array([[1, 0]], np.float32),
                            np.array([[0, 1]], np.float32), np.array([[1, 1]], np.float32),
                            2.0, 2.0, 0.0, True, "sum"))
    # margin 0 with every row inactive, and negative margins
    out.append(triplet_case("inactive", rand(rng, (4, 3)), rand(rng, (4, 3)), rand(rng, (4, 3)),
                            -10.0, 2.0, 1e-6, False, "mean"))

    def err(cid, a, p, n, msg, **loss):
        out.append(Case(f"tri_err_{cid}", dict({"type": "TripletMarginLoss"}, **loss),
                        {"anchor": a, "positive": p, "negative": n}, ["anchor"], error=msg))
    err("ranks", rand(rng, (3, 4)), rand(rng, (4,)), rand(rng, (3, 4)),
        "All inputs should have same dimension but got 2D, 1D and 2D inputs")
    err("D_mismatch", rand(rng, (3, 4)), rand(rng, (3, 5)), rand(rng, (3, 4)),
        "anchor, positive and negative must have one shape")
    err("N_mismatch", rand(rng, (3, 4)), rand(rng, (3, 4)), rand(rng, (2, 4)),
        "anchor, positive and negative must have one shape")
    err("swap_D_mismatch", rand(rng, (3, 1)), rand(rng, (3, 4)), rand(rng, (3, 5)),
        "anchor, positive and negative must have one shape", swap=True)
    err("dtypes", rand(rng, (3, 4)), rand(rng, (3, 4), np.float64), rand(rng, (3, 4)),
        "anchor, positive and negative must be float tensors of one dtype")
    err("int_input", rand(rng, (3, 4)), np.ones((3, 4), np.int64), rand(rng, (3, 4)),
        "anchor, positive and negative must be float tensors of one dtype")
    return out


# ---- TripletMarginWithDistanceLoss -----------------------------------------

def distance_fn(name):
    if name == "pairwise":
        return None  # PairwiseDistance(), torch's default
    return lambda x1, x2: 1.0 - F.cosine_similarity(x1, x2, dim=-1, eps=1e-8)


def twd_case(cid, a, p, n, dist="pairwise", margin=1.0, swap=False, red="mean",
             grad=("anchor", "positive", "negative"), **kw):
    loss = {"type": "TripletMarginWithDistanceLoss", "distance_function": dist,
            "margin": margin, "swap": swap, "reduction": red}
    return Case(f"twd_{cid}", loss, {"anchor": a, "positive": p, "negative": n}, list(grad),
                torch=lambda t: nn.TripletMarginWithDistanceLoss(
                    distance_function=distance_fn(dist), margin=margin, swap=swap,
                    reduction=red)(t["anchor"], t["positive"], t["negative"]), **kw)


def twd_cases(rng):
    out = []
    # the grid: reductions x distance x swap; shapes (batch 1 or 6) and margins rotating
    for i, (red, dist, swap) in enumerate(itertools.product(
            REDUCTIONS, ["pairwise", "cosine"], [False, True])):
        shape = [(1, 4), (6, 3)][i % 2]
        margin = [1.0, 0.25, 0.0][i % 3]
        out.append(twd_case(f"{red}_{dist}_s{int(swap)}_{sname(shape)}_m{margin}",
                            rand(rng, shape), rand(rng, shape), rand(rng, shape), dist, margin,
                            swap, red))
    reds = itertools.cycle(REDUCTIONS)
    for dist in ["pairwise", "cosine"]:
        # norms below cosine_similarity's eps (1e-8: the clamp) and zero rows
        scale = np.array([[1.0], [1e-9], [0.0], [3e-9]], np.float32)
        a = rand(rng, (4, 5)) * scale
        p = rand(rng, (4, 5)) * scale[::-1]
        n = rand(rng, (4, 5))
        out.append(twd_case(f"tiny_{dist}", a, p, n, dist, 1.5, True, "none"))
        # equal rows (pairwise: the difference is eps only; cosine: y = 1)
        a = rand(rng, (3, 4))
        out.append(twd_case(f"equal_{dist}", a, a.copy(), rand(rng, (3, 4)), dist, 0.5, True,
                            next(reds)))
        # broadcasting: rows, columns, and ranks that differ (no rank check in Python)
        out.append(twd_case(f"bc_rows_{dist}", rand(rng, (1, 4)), rand(rng, (5, 4)),
                            rand(rng, (5, 4)), dist, 1.0, True, next(reds)))
        out.append(twd_case(f"bc_rank_{dist}", rand(rng, (3, 4)), rand(rng, (4,)),
                            rand(rng, (2, 3, 4)), dist, 1.0, False, "none"))
        out.append(twd_case(f"bc_cols_{dist}", rand(rng, (3, 1)), rand(rng, (3, 4)),
                            rand(rng, (3, 4)), dist, 1.0, True, next(reds)))
        out.append(twd_case(f"rank1_{dist}", rand(rng, (5,)), rand(rng, (5,)), rand(rng, (5,)),
                            dist, 1.0, False, next(reds)))
        out.append(twd_case(f"f64_{dist}", rand(rng, (4, 3), np.float64),
                            rand(rng, (4, 3), np.float64), rand(rng, (4, 3), np.float64), dist,
                            0.8, True, next(reds)))
        out.append(twd_case(f"extreme_{dist}", rand(rng, (4, 3), lo=-100, hi=100),
                            rand(rng, (4, 3), lo=-100, hi=100),
                            rand(rng, (4, 3), lo=-100, hi=100), dist, 50.0, True, next(reds)))
        out.append(twd_case(f"grad_n_{dist}", rand(rng, (4, 3)), rand(rng, (4, 3)),
                            rand(rng, (4, 3)), dist, 1.0, True, next(reds), grad=["negative"]))
    # clamp at exactly 0 (cosine: orthogonal rows, d = 1 each)
    out.append(twd_case("clamp0_cosine", np.array([[1, 0, 0]], np.float32),
                        np.array([[0, 1, 0]], np.float32), np.array([[0, 0, 1]], np.float32),
                        "cosine", 0.0, False, "sum"))
    out.append(twd_case("swap_tie_cosine", np.array([[1, 0, 0]], np.float32),
                        np.array([[1, 0, 0]], np.float32), np.array([[0, 1, 0]], np.float32),
                        "cosine", 1.0, True, "sum"))

    def err(cid, a, p, n, msg, **loss):
        out.append(Case(f"twd_err_{cid}", dict({"type": "TripletMarginWithDistanceLoss"}, **loss),
                        {"anchor": a, "positive": p, "negative": n}, ["anchor"], error=msg))
    err("distance", rand(rng, (3, 4)), rand(rng, (3, 4)), rand(rng, (3, 4)),
        "distance_function", distance_function="euclidean")
    err("D_mismatch", rand(rng, (3, 4)), rand(rng, (3, 5)), rand(rng, (3, 4)),
        "anchor, positive and negative must have one shape")
    err("N_mismatch", rand(rng, (3, 4)), rand(rng, (3, 4)), rand(rng, (2, 4)),
        "anchor, positive and negative must have one shape", distance_function="cosine")
    err("dtypes", rand(rng, (3, 4)), rand(rng, (3, 4)), rand(rng, (3, 4), np.float64),
        "anchor, positive and negative must be float tensors of one dtype")
    return out


def infinite_p_cases(rng):
    """p = +-inf, which a spec writes as the strings "inf" and "-inf"."""
    out = []
    for ps, red in (("inf", "mean"), ("-inf", "none")):
        a, po, ne = (rng.standard_normal((4, 5)).astype(np.float32) for _ in range(3))
        pv = float(ps)
        out.append(Case(f"tri_p_{ps}_{red}", {"type": "TripletMarginLoss", "p": ps, "reduction": red},
                        {"anchor": a, "positive": po, "negative": ne},
                        ["anchor", "positive", "negative"],
                        torch=lambda t, pv=pv, red=red: nn.TripletMarginLoss(p=pv, reduction=red)(
                            t["anchor"], t["positive"], t["negative"])))
    return out


def cases():
    rng = np.random.default_rng(0)
    return cosine_cases(rng) + triplet_cases(rng) + twd_cases(rng) + infinite_p_cases(rng)


if __name__ == "__main__":
    main(cases)
