"""Differential grid of the pointwise losses against PyTorch (see
loss_harness.py): L1Loss, MSELoss, HuberLoss, SmoothL1Loss, SoftMarginLoss,
BCELoss, BCEWithLogitsLoss, PoissonNLLLoss, GaussianNLLLoss, KLDivLoss,
HingeEmbeddingLoss, MarginRankingLoss.

Each loss runs over its options x the reductions, on shapes that rotate
through a batch of 1, [N, C] and a K-dim [N, C, d], with the gradient of
every input PyTorch differentiates, plus the edge cases of its formula
(kinks, extreme logits, zeros where PyTorch's gradient is NaN or inf,
zero weights), one float64 case, and the configurations trainc refuses."""
import itertools

import numpy as np
import torch
import torch.nn as nn

from loss_harness import Case, main

REDUCTIONS = ["none", "sum", "mean"]
SHAPES = [(1,), (4, 3), (2, 3, 5), (1, 4)]


def rand(rng, shape, lo=-2.0, hi=2.0, dtype=np.float32):
    return rng.uniform(lo, hi, shape).astype(dtype)


def sign(rng, shape, dtype=np.float32):
    return np.where(rng.uniform(size=shape) < 0.5, -1, 1).astype(dtype)


def sid(shape):
    return "x".join(map(str, shape))


def tt(v, t):
    """an option list as torch builds it from a Python list (float32), in
    the dtype of tensor t"""
    return None if v is None else torch.tensor(v).to(t.dtype)


class Grid:
    def __init__(self):
        self.rng = np.random.default_rng(0)
        self.cases = []
        self.n = 0

    def shape(self):
        """the next shape of the rotation"""
        self.n += 1
        return SHAPES[self.n % len(SHAPES)]

    def add(self, id, loss, tensors, grad, fn=None, **kw):
        self.cases.append(Case(id, loss, tensors, grad, torch=fn, **kw))


def pairs(g):
    """L1Loss, MSELoss, HuberLoss, SmoothL1Loss"""
    rng = g.rng
    for cls, opt, vals in [("L1Loss", None, [None]), ("MSELoss", None, [None]),
                           ("HuberLoss", "delta", [1.0, 0.5, 2.5]),
                           ("SmoothL1Loss", "beta", [1.0, 0.0, 0.3])]:
        for v, red in itertools.product(vals, REDUCTIONS):
            s = g.shape()
            kw = {} if opt is None else {opt: v}
            g.add(f"{cls}_{v}_{red}_{sid(s)}", {"type": cls, "reduction": red, **kw},
                  {"input": rand(rng, s), "target": rand(rng, s)}, ["input", "target"],
                  lambda t, cls=cls, red=red, kw=kw: getattr(nn, cls)(reduction=red, **kw)(
                      t["input"], t["target"]))
        # the kinks: x - t exactly 0 and +-opt (ATen's backward branches)
        if opt is not None:
            for v in vals:
                x = np.array([0.0, v, -v, 0.5, 3.0, -3.0, 1.0], np.float32)
                y = np.array([0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0 - v], np.float32)
                g.add(f"{cls}_kinks_{v}", {"type": cls, "reduction": "none", opt: v},
                      {"input": x, "target": y}, ["input", "target"],
                      lambda t, cls=cls, opt=opt, v=v: getattr(nn, cls)(
                          reduction="none", **{opt: v})(t["input"], t["target"]))
        # float64
        g.add(f"{cls}_f64", {"type": cls, "reduction": "mean"},
              {"input": rand(rng, (3, 4), dtype=np.float64),
               "target": rand(rng, (3, 4), dtype=np.float64)}, ["input", "target"],
              lambda t, cls=cls: getattr(nn, cls)()(t["input"], t["target"]))
    g.add("L1Loss_shape_mismatch", {"type": "L1Loss"},
          {"input": rand(rng, (4, 3)), "target": rand(rng, (4, 2))}, ["input"],
          error="input and target must be float tensors of one shape")
    g.add("MSELoss_dtype_mismatch", {"type": "MSELoss"},
          {"input": rand(rng, (4, 3)), "target": rand(rng, (4, 3), dtype=np.float64)},
          ["input"], error="input and target must be float tensors of one shape and dtype")
    g.add("HuberLoss_delta_0", {"type": "HuberLoss", "delta": 0.0},
          {"input": rand(rng, (4, 3)), "target": rand(rng, (4, 3))}, ["input"],
          error="huber_loss does not support non-positive values for delta")
    g.add("SmoothL1Loss_beta_neg", {"type": "SmoothL1Loss", "beta": -1.0},
          {"input": rand(rng, (4, 3)), "target": rand(rng, (4, 3))}, ["input"],
          error="smooth_l1_loss does not support negative values for beta")
    g.add("HuberLoss_shape_mismatch", {"type": "HuberLoss"},
          {"input": rand(rng, (4, 3)), "target": rand(rng, (3,))}, ["input"],
          error="input and target must be float tensors of one shape")


def soft_margin(g):
    rng = g.rng
    f = lambda red: (lambda t: nn.SoftMarginLoss(reduction=red)(t["input"], t["target"]))
    for red in REDUCTIONS:
        s = g.shape()
        g.add(f"SoftMargin_{red}_{sid(s)}", {"type": "SoftMarginLoss", "reduction": red},
              {"input": rand(rng, s), "target": sign(rng, s)}, ["input"], f(red))
    # +-100: exp(100) overflows float32 to inf, so does PyTorch's loss (and NaN grad)
    x = np.array([-100.0, 100.0, 100.0, -100.0, 0.0, 20.0], np.float32)
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0], np.float32)
    for red in ["none", "sum"]:
        g.add(f"SoftMargin_extreme_{red}", {"type": "SoftMarginLoss", "reduction": red},
              {"input": x, "target": y}, ["input"], f(red))
    g.add("SoftMargin_int_target", {"type": "SoftMarginLoss", "reduction": "mean"},
          {"input": rand(rng, (4, 3)), "target": sign(rng, (4, 3), np.int64)}, ["input"], f("mean"))
    g.add("SoftMargin_f64", {"type": "SoftMarginLoss", "reduction": "none"},
          {"input": rand(rng, (4, 3), dtype=np.float64), "target": sign(rng, (4, 3), np.float64)},
          ["input"], f("none"))
    g.add("SoftMargin_target_grad", {"type": "SoftMarginLoss"},
          {"input": rand(rng, (4, 3)), "target": sign(rng, (4, 3))}, ["input", "target"],
          error="has no gradient with respect to its input 1 ('target')")
    g.add("SoftMargin_shape", {"type": "SoftMarginLoss"},
          {"input": rand(rng, (4, 3)), "target": sign(rng, (4, 1))}, ["input"],
          error="input and target must be float (target: float or integer) tensors of one shape")


def bce(g):
    rng = g.rng

    def f(red, w):
        return lambda t: nn.BCELoss(weight=tt(w, t["input"]), reduction=red)(t["input"], t["target"])

    for wk, red in itertools.product(["none", "C", "one"], REDUCTIONS):
        s = g.shape()
        w = None if wk == "none" else list(rng.uniform(0.2, 2.0, 1 if wk == "one" else s[-1]))
        loss = {"type": "BCELoss", "reduction": red}
        if w is not None:
            loss["weight"] = w
        g.add(f"BCE_{wk}_{red}_{sid(s)}", loss,
              {"input": rand(rng, s, 0.02, 0.98), "target": rand(rng, s, 0, 1)},
              ["input", "target"], f(red, w))
    # probabilities 0 and 1 (log clamped at -100, gradient eps 1e-12, target
    # gradient +-inf), tiny ones, zero weights
    x = np.array([[0.0, 1.0, 1e-30, 1.0 - 1e-7], [0.5, 1e-6, 0.3, 0.999]], np.float32)
    y = np.array([[0.3, 0.3, 1.0, 0.0], [0.0, 1.0, 0.3, 1.0]], np.float32)
    for red in ["none", "sum"]:
        g.add(f"BCE_extreme_{red}", {"type": "BCELoss", "reduction": red},
              {"input": x, "target": y}, ["input", "target"], f(red, None))
    w = [0.0, 1.5, 0.0, 2.0]
    g.add("BCE_zero_weights", {"type": "BCELoss", "reduction": "mean", "weight": w},
          {"input": rand(rng, (3, 4), 0.05, 0.95), "target": rand(rng, (3, 4), 0, 1)},
          ["input", "target"], f("mean", w))
    g.add("BCE_f64", {"type": "BCELoss", "reduction": "mean", "weight": [0.5, 2, 1]},
          {"input": rand(rng, (4, 3), 0.05, 0.95, np.float64),
           "target": rand(rng, (4, 3), 0, 1, np.float64)},
          ["input", "target"], f("mean", [0.5, 2, 1]))
    g.add("BCE_weight_len", {"type": "BCELoss", "weight": [1, 2, 3]},
          {"input": rand(rng, (4, 5), 0.1, 0.9), "target": rand(rng, (4, 5), 0, 1)}, ["input"],
          error="weight has 3 entries but must have 1 or 5")
    g.add("BCE_weight_grows_input", {"type": "BCELoss", "weight": [1, 2, 3]},
          {"input": rand(rng, (4, 1), 0.1, 0.9), "target": rand(rng, (4, 1), 0, 1)}, ["input"],
          error="weight has 3 entries but must have 1 or 1")
    g.add("BCE_target_shape", {"type": "BCELoss"},
          {"input": rand(rng, (4, 5), 0.1, 0.9), "target": rand(rng, (4, 1), 0, 1)}, ["input"],
          error="input and target must be float tensors of one shape and dtype")
    g.add("BCE_input_out_of_range", {"type": "BCELoss"},
          {"input": np.array([0.5, 1.5], np.float32), "target": np.array([0.0, 1.0], np.float32)},
          ["input"], error="out of range")  # the runtime's message for invalid data


def bce_logits(g):
    rng = g.rng

    def f(red, w, pw):
        return lambda t: nn.BCEWithLogitsLoss(weight=tt(w, t["input"]), reduction=red,
                                              pos_weight=tt(pw, t["input"]))(t["input"], t["target"])

    for (wk, pk), red in itertools.product([("-", "-"), ("C", "-"), ("-", "C"), ("C", "C"),
                                            ("one", "one")], REDUCTIONS):
        s = g.shape()
        vec = lambda k: None if k == "-" else list(rng.uniform(0.2, 3.0, 1 if k == "one" else s[-1]))
        w, pw = vec(wk), vec(pk)
        loss = {"type": "BCEWithLogitsLoss", "reduction": red}
        if w is not None:
            loss["weight"] = w
        if pw is not None:
            loss["pos_weight"] = pw
        g.add(f"BCEL_w{wk}_pw{pk}_{red}_{sid(s)}", loss,
              {"input": rand(rng, s, -4, 4), "target": rand(rng, s, 0, 1)},
              ["input", "target"], f(red, w, pw))
    x = np.array([[-100.0, 100.0, 100.0, -100.0], [30.0, -30.0, 0.0, 88.0]], np.float32)
    y = np.array([[1.0, 0.0, 1.0, 0.3], [0.0, 1.0, 0.5, 0.2]], np.float32)
    for pw in [None, [2.0, 0.0, 3.0, 1.0]]:
        for red in ["none", "mean"]:
            loss = {"type": "BCEWithLogitsLoss", "reduction": red}
            if pw is not None:
                loss["pos_weight"] = pw
            g.add(f"BCEL_extreme_{'pw' if pw else 'plain'}_{red}", loss,
                  {"input": x, "target": y}, ["input", "target"], f(red, None, pw))
    w = [0.0, 1.0, 0.0]
    g.add("BCEL_zero_weights", {"type": "BCEWithLogitsLoss", "weight": w, "pos_weight": [0, 2, 1]},
          {"input": rand(rng, (4, 3)), "target": rand(rng, (4, 3), 0, 1)},
          ["input", "target"], f("mean", w, [0, 2, 1]))
    g.add("BCEL_f64", {"type": "BCEWithLogitsLoss", "reduction": "sum", "weight": [0.5, 2, 1],
                       "pos_weight": [3, 1, 0.5]},
          {"input": rand(rng, (4, 3), dtype=np.float64),
           "target": rand(rng, (4, 3), 0, 1, np.float64)},
          ["input", "target"], f("sum", [0.5, 2, 1], [3, 1, 0.5]))
    g.add("BCEL_pos_weight_len", {"type": "BCEWithLogitsLoss", "pos_weight": [1, 2, 3]},
          {"input": rand(rng, (4, 5)), "target": rand(rng, (4, 5), 0, 1)}, ["input"],
          error="pos_weight has 3 entries but must have 1 or 5")
    g.add("BCEL_weight_len", {"type": "BCEWithLogitsLoss", "weight": [1, 2]},
          {"input": rand(rng, (4, 5)), "target": rand(rng, (4, 5), 0, 1)}, ["input"],
          error="weight has 2 entries but must have 1 or 5")
    g.add("BCEL_target_shape", {"type": "BCEWithLogitsLoss"},
          {"input": rand(rng, (4, 5)), "target": rand(rng, (4,), 0, 1)}, ["input"],
          error="input and target must be float tensors of one shape and dtype")


def poisson(g):
    rng = g.rng

    def f(red, li, full, eps=1e-8):
        return lambda t: nn.PoissonNLLLoss(log_input=li, full=full, eps=eps, reduction=red)(
            t["input"], t["target"])

    for (li, full), red in itertools.product(itertools.product([True, False], [False, True]),
                                             REDUCTIONS):
        s = g.shape()
        x = rand(rng, s, -2, 2) if li else rand(rng, s, 0.1, 3)
        y = rng.integers(0, 6, s).astype(np.float32) + (rand(rng, s, 0, 0.5) if red == "sum" else 0)
        g.add(f"Poisson_{li}_{full}_{red}_{sid(s)}",
              {"type": "PoissonNLLLoss", "log_input": li, "full": full, "reduction": red},
              {"input": x, "target": y}, ["input", "target"], f(red, li, full))
    # targets 0 / in (0, 1] / > 1 (Stirling term and its NaN target gradient at 0), x = 0
    # with log_input false (eps), x = +-100 (exp overflows to inf in float32)
    y = np.array([0.0, 0.5, 1.0, 3.0, 7.0, 0.0], np.float32)
    x = np.array([0.5, 0.0, 0.5, 2.0, 1e-3, 1.0], np.float32)
    for li in [True, False]:
        g.add(f"Poisson_edges_{li}",
              {"type": "PoissonNLLLoss", "log_input": li, "full": True, "reduction": "none"},
              {"input": x, "target": y}, ["input", "target"], f("none", li, True))
    g.add("Poisson_eps", {"type": "PoissonNLLLoss", "log_input": False, "eps": 0.25,
                          "reduction": "mean"},
          {"input": rand(rng, (3, 4), 0, 2), "target": rng.integers(0, 5, (3, 4)).astype(np.float32)},
          ["input", "target"], f("mean", False, False, 0.25))
    g.add("Poisson_extreme", {"type": "PoissonNLLLoss", "reduction": "none"},
          {"input": np.array([100.0, -100.0, 88.0], np.float32),
           "target": np.array([1.0, 2.0, 0.0], np.float32)}, ["input", "target"],
          f("none", True, False))
    g.add("Poisson_f64", {"type": "PoissonNLLLoss", "full": True, "reduction": "sum"},
          {"input": rand(rng, (3, 4), dtype=np.float64),
           "target": rng.integers(0, 6, (3, 4)).astype(np.float64)}, ["input", "target"],
          f("sum", True, True))
    g.add("Poisson_shape", {"type": "PoissonNLLLoss"},
          {"input": rand(rng, (3,)), "target": rand(rng, (4,), 0, 3)}, ["input"],
          error="input and target must be float tensors of one shape and dtype")


def gaussian(g):
    rng = g.rng

    def f(red, full=False, eps=1e-6):
        return lambda t: nn.GaussianNLLLoss(full=full, eps=eps, reduction=red)(
            t["input"], t["target"], t["var"])

    for vk, red in itertools.product(["same", "short", "one"], REDUCTIONS):
        s = [(4, 3), (2, 3, 5), (1, 4)][REDUCTIONS.index(red)]
        vs = s if vk == "same" else s[:-1] if vk == "short" else s[:-1] + (1,)
        g.add(f"Gaussian_{vk}_{red}_{sid(s)}", {"type": "GaussianNLLLoss", "reduction": red},
              {"input": rand(rng, s), "target": rand(rng, s), "var": rand(rng, vs, 0.1, 2)},
              ["input", "target", "var"], f(red))
    # one var for all (shape [] unsqueezed, or [1]); a rank-0 var is a data
    # field here: loss_check returns rank-0 gradients as [1] (any loss)
    for full, vs, grad in [(False, (), ["input", "target"]), (True, (1,), ["input", "target", "var"])]:
        g.add(f"Gaussian_full_{full}", {"type": "GaussianNLLLoss", "full": full,
                                        "reduction": "mean"},
              {"input": rand(rng, (5,)), "target": rand(rng, (5,)), "var": rand(rng, vs, 0.2, 1)},
              grad, f("mean", full))
    # var below eps: clamped, the gradient flows to var as if it were not
    v = np.array([[0.01, 0.0, 0.5], [0.09, 2.0, 0.2]], np.float32)
    g.add("Gaussian_clamp", {"type": "GaussianNLLLoss", "eps": 0.1, "reduction": "none"},
          {"input": rand(rng, (2, 3)), "target": rand(rng, (2, 3)), "var": v},
          ["input", "target", "var"], f("none", False, 0.1))
    g.add("Gaussian_var_data", {"type": "GaussianNLLLoss", "reduction": "sum"},
          {"input": rand(rng, (4, 2)), "target": rand(rng, (4, 2)), "var": rand(rng, (4, 1), 0.1, 2)},
          ["input", "var"], f("sum"))
    g.add("Gaussian_f64", {"type": "GaussianNLLLoss", "full": True, "reduction": "mean"},
          {"input": rand(rng, (4, 3), dtype=np.float64), "target": rand(rng, (4, 3), dtype=np.float64),
           "var": rand(rng, (4,), 0.1, 2, np.float64)}, ["input", "target", "var"],
          f("mean", True))
    g.add("Gaussian_var_size", {"type": "GaussianNLLLoss"},
          {"input": rand(rng, (4, 3)), "target": rand(rng, (4, 3)), "var": rand(rng, (4, 2), 0.1, 2)},
          ["input"], error="var is of incorrect size")
    g.add("Gaussian_var_size_extra_dim", {"type": "GaussianNLLLoss"},
          {"input": rand(rng, (4, 3)), "target": rand(rng, (4, 3)),
           "var": rand(rng, (4, 3, 1), 0.1, 2)}, ["input"], error="var is of incorrect size")
    g.add("Gaussian_var_negative", {"type": "GaussianNLLLoss"},
          {"input": rand(rng, (4, 3)), "target": rand(rng, (4, 3)),
           "var": np.full((4, 3), -0.5, np.float32)}, ["input"],
          error="out of range")  # PyTorch: "var has negative entry/entries"


def kl(g):
    rng = g.rng

    def f(red, lt):
        return lambda t: nn.KLDivLoss(reduction=red, log_target=lt)(t["input"], t["target"])

    for lt, red in itertools.product([False, True], REDUCTIONS + ["batchmean"]):
        s = g.shape()
        p = rand(rng, s, 0.05, 1)
        y = np.log(p) if lt else p
        g.add(f"KLDiv_{lt}_{red}_{sid(s)}", {"type": "KLDivLoss", "reduction": red,
                                              "log_target": lt},
              {"input": rand(rng, s, -3, 0), "target": y.astype(np.float32)},
              ["input", "target"], f(red, lt))
    # target 0 (xlogy: loss 0, target gradient NaN as PyTorch's), negative
    # target (NaN), log target -100 (exp underflows)
    x = np.array([[-1.0, -2.0, -0.5], [-3.0, -1.0, -0.1]], np.float32)
    y = np.array([[0.0, 0.5, -0.5], [1.0, 0.0, 0.25]], np.float32)
    g.add("KLDiv_zero_target", {"type": "KLDivLoss", "reduction": "none"},
          {"input": x, "target": y}, ["input", "target"], f("none", False))
    g.add("KLDiv_zero_target_input_only", {"type": "KLDivLoss", "reduction": "batchmean"},
          {"input": x, "target": np.abs(y)}, ["input"], f("batchmean", False))
    g.add("KLDiv_log_target_extreme", {"type": "KLDivLoss", "reduction": "sum", "log_target": True},
          {"input": x, "target": np.array([[-100, 0, -1], [-50, 2, -100]], np.float32)},
          ["input", "target"], f("sum", True))
    g.add("KLDiv_f64", {"type": "KLDivLoss", "reduction": "batchmean"},
          {"input": rand(rng, (3, 4), -3, 0, np.float64), "target": rand(rng, (3, 4), 0, 1, np.float64)},
          ["input", "target"], f("batchmean", False))
    g.add("KLDiv_shape", {"type": "KLDivLoss"},
          {"input": rand(rng, (3, 4)), "target": rand(rng, (3, 5), 0, 1)}, ["input"],
          error="input and target must be float tensors of one shape and dtype")
    g.add("KLDiv_bad_reduction", {"type": "KLDivLoss", "reduction": "average"},
          {"input": rand(rng, (3, 4)), "target": rand(rng, (3, 4), 0, 1)}, ["input"],
          error="is not a valid value for reduction")


def hinge(g):
    rng = g.rng

    def f(red, m):
        return lambda t: nn.HingeEmbeddingLoss(margin=m, reduction=red)(t["input"], t["target"])

    for m, red in itertools.product([1.0, 0.5], REDUCTIONS):
        s = g.shape()
        g.add(f"Hinge_{m}_{red}_{sid(s)}", {"type": "HingeEmbeddingLoss", "margin": m,
                                            "reduction": red},
              {"input": rand(rng, s), "target": sign(rng, s)}, ["input"], f(red, m))
    # the kink x = margin (clamp_min passes the gradient), targets other than
    # +-1 (both terms), an integer target, a differentiated target (no gradient)
    x = np.array([1.0, 1.0, 0.5, 3.0, -2.0, 0.2], np.float32)
    y = np.array([-1.0, 1.0, 0.0, 0.5, -1.0, 2.0], np.float32)
    g.add("Hinge_edges", {"type": "HingeEmbeddingLoss", "reduction": "none"},
          {"input": x, "target": y}, ["input", "target"], f("none", 1.0))
    g.add("Hinge_int_target", {"type": "HingeEmbeddingLoss", "margin": 0.3},
          {"input": rand(rng, (4, 3)), "target": sign(rng, (4, 3), np.int64)}, ["input"],
          f("mean", 0.3))
    g.add("Hinge_f64", {"type": "HingeEmbeddingLoss", "reduction": "sum"},
          {"input": rand(rng, (4, 3), dtype=np.float64), "target": sign(rng, (4, 3), np.float64)},
          ["input"], f("sum", 1.0))
    g.add("Hinge_shape", {"type": "HingeEmbeddingLoss"},
          {"input": rand(rng, (4, 3)), "target": sign(rng, (4,))}, ["input"],
          error="input and target must be float (target: float or integer) tensors of one shape")


def margin_ranking(g):
    rng = g.rng

    def f(red, m):
        return lambda t: nn.MarginRankingLoss(margin=m, reduction=red)(
            t["input1"], t["input2"], t["target"])

    for m, red in itertools.product([0.0, 0.5], REDUCTIONS):
        s = g.shape()
        g.add(f"MarginRanking_{m}_{red}_{sid(s)}", {"type": "MarginRankingLoss", "margin": m,
                                                    "reduction": red},
              {"input1": rand(rng, s), "input2": rand(rng, s), "target": sign(rng, s)},
              ["input1", "input2", "target"], f(red, m))
    # the kink u = 0 (clamp_min passes the gradient), a non-+-1 target
    a = np.array([1.0, 1.0, 0.5, 2.0, -1.0], np.float32)
    b = np.array([1.0, 2.0, 0.0, 1.0, 1.0], np.float32)
    y = np.array([1.0, -1.0, 1.0, 0.5, -2.0], np.float32)
    g.add("MarginRanking_kink", {"type": "MarginRankingLoss", "reduction": "none"},
          {"input1": a, "input2": b, "target": y}, ["input1", "input2", "target"], f("none", 0.0))
    g.add("MarginRanking_int_target", {"type": "MarginRankingLoss", "margin": 0.2},
          {"input1": rand(rng, (6,)), "input2": rand(rng, (6,)), "target": sign(rng, (6,), np.int64)},
          ["input1", "input2"], f("mean", 0.2))
    g.add("MarginRanking_f64", {"type": "MarginRankingLoss", "margin": 0.1, "reduction": "sum"},
          {"input1": rand(rng, (5,), dtype=np.float64), "input2": rand(rng, (5,), dtype=np.float64),
           "target": sign(rng, (5,), np.float64)}, ["input1", "input2"], f("sum", 0.1))
    g.add("MarginRanking_dims", {"type": "MarginRankingLoss"},
          {"input1": rand(rng, (3, 4)), "input2": rand(rng, (3, 4)), "target": sign(rng, (3,))},
          ["input1"], error="All input tensors should have same dimension")
    g.add("MarginRanking_shapes", {"type": "MarginRankingLoss"},
          {"input1": rand(rng, (3, 4)), "input2": rand(rng, (3, 1)), "target": sign(rng, (3, 4))},
          ["input1"], error="input1, input2 and target must have one shape")


def cases():
    g = Grid()
    for fill in [pairs, soft_margin, bce, bce_logits, poisson, gaussian, kl, hinge, margin_ranking]:
        fill(g)
    return g.cases


if __name__ == "__main__":
    main(cases)
