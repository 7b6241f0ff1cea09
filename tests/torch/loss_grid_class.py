"""Differential grid of the class losses against PyTorch (see loss_harness.py):
CrossEntropyLoss, NLLLoss, MultiMarginLoss, MultiLabelMarginLoss,
MultiLabelSoftMarginLoss — every option, all three reductions, batch 1,
K-dimensional inputs where the loss takes them, ignored targets (some and
all), zero weights, extreme logits +-100; the bad configurations trainc
must refuse; and the classic tutorial numbers as fixed checks."""
import itertools

import numpy as np
import torch
import torch.nn as nn

from loss_harness import Case, main

REDUCTIONS = ["none", "sum", "mean"]
TUTORIAL_TOL = dict(rtol=0.0, atol=5e-5, why="the tutorial's numbers are given to 4 decimals")


def shape_id(shape):
    return "x".join(map(str, shape)) if shape else "scalar"


def logits(rng, shape, extreme=False, dtype=np.float32):
    x = rng.uniform(-3.0, 3.0, shape)
    if extreme:  # +-100 at random places, at least one of each
        m = rng.uniform(size=shape)
        x = np.where(m < 0.25, 100.0, np.where(m > 0.75, -100.0, x))
        flat = x.reshape(-1)
        flat[0], flat[-1] = 100.0, -100.0
    return np.asarray(x, dtype=dtype)


def class_weight(rng, C, kind):
    if kind == "none":
        return None
    w = rng.uniform(0.2, 2.0, C)
    if kind == "zeros":  # some classes weigh 0
        w[::2] = 0.0
    return [float(v) for v in np.float32(w)]  # exact in float32, as torch rounds the list


def torch_weight(w, dtype):
    return None if w is None else torch.tensor(w, dtype=dtype)


def loss_dict(cls, red, **kw):
    d = {"type": cls, "reduction": red}
    d.update({k: v for k, v in kw.items() if v is not None})
    return d


def class_targets(rng, tshape, C, ignore, mode):
    """Class indices of shape tshape; mode "none" (no ignored), "some" or "all"."""
    t = rng.integers(0, C, tshape).astype(np.int64)
    if mode == "some":
        flat = t.reshape(-1)
        flat[:: max(2, flat.size // 2)] = ignore  # at least one hit
        if flat.size > 1:
            flat[-1] = (ignore + 1) % C if 0 <= ignore < C else C - 1  # and one kept
    elif mode == "all":
        t[...] = ignore
    return t


# ---- NLLLoss ----------------------------------------------------------------

NLL_SHAPES = [(4, 5), (1, 5), (2, 3, 4), (2, 3, 2, 2)]


def nll_cases(rng):
    out = []
    # every weight x ignore x reduction; the shapes take turns (each meets
    # every reduction); an unbatched input [C] needs a rank-0 target, which
    # the harness cannot pass (np.ascontiguousarray makes it [1]): it is in
    # the gradient checks (gradcheck_loss_class.h)
    for i, (wk, (ig, mode), red) in enumerate(itertools.product(
            ["none", "pos", "zeros"],
            [(-100, "none"), (-100, "some"), (1, "some"), (2, "all")], REDUCTIONS)):
        shape = NLL_SHAPES[i % len(NLL_SHAPES)]
        C = shape[1]
        tshape = (shape[0],) + shape[2:]
        x = np.log(np.abs(logits(rng, shape)) / 4 + 1e-3).astype(np.float32)
        t = class_targets(rng, tshape, C, ig, mode)
        if wk == "zeros" and mode == "none" and t.size > 1:
            t.reshape(-1)[0] = 0  # a target whose weight is 0
        w = class_weight(rng, C, wk)
        out.append(Case(
            f"NLL_{shape_id(shape)}_w{wk}_ig{ig}{mode}_{red}",
            loss_dict("NLLLoss", red, weight=w, ignore_index=ig),
            {"input": x, "target": t}, ["input"],
            torch=lambda t_, w=w, ig=ig, red=red: nn.NLLLoss(
                weight=torch_weight(w, torch.float32), ignore_index=ig, reduction=red)(
                t_["input"], t_["target"])))
    # the targets' weights all 0 with mean: NaN loss, NaN gradient at the targets
    x = logits(rng, (3, 4))
    for red in ["none", "mean"]:
        out.append(Case(
            f"NLL_zero_target_weights_{red}",
            loss_dict("NLLLoss", red, weight=[0.0, 1.0, 0.0, 2.0]),
            {"input": x, "target": np.array([0, 2, 0], np.int64)}, ["input"],
            torch=lambda t_, red=red: nn.NLLLoss(
                weight=torch.tensor([0.0, 1.0, 0.0, 2.0]), reduction=red)(
                t_["input"], t_["target"])))
    # extreme values, float64, int32 targets
    for red in REDUCTIONS:
        x = logits(rng, (3, 4, 2), extreme=True)
        t = class_targets(rng, (3, 2), 4, -100, "some")
        out.append(Case(f"NLL_extreme_{red}", loss_dict("NLLLoss", red),
                        {"input": x, "target": t}, ["input"],
                        torch=lambda t_, red=red: nn.NLLLoss(reduction=red)(
                            t_["input"], t_["target"])))
        x = logits(rng, (4, 6), dtype=np.float64)
        t = class_targets(rng, (4,), 6, 3, "some")
        w = class_weight(rng, 6, "pos")
        out.append(Case(f"NLL_f64_{red}", loss_dict("NLLLoss", red, weight=w, ignore_index=3),
                        {"input": x, "target": t}, ["input"],
                        torch=lambda t_, w=w, red=red: nn.NLLLoss(
                            weight=torch_weight(w, torch.float64), ignore_index=3,
                            reduction=red)(t_["input"], t_["target"])))
    x = logits(rng, (4, 5))
    out.append(Case("NLL_int32_targets", loss_dict("NLLLoss", "mean"),
                    {"input": x, "target": np.array([0, 4, 2, 2], np.int32)}, ["input"],
                    torch=lambda t_: nn.NLLLoss()(t_["input"], t_["target"].long())))
    # refused before compiling
    t4 = np.array([0, 1, 2, 3], np.int64)
    out += [
        Case("NLL_err_weight_len", loss_dict("NLLLoss", "mean", weight=[1.0, 2.0]),
             {"input": x, "target": t4}, ["input"], error="weight has 2 entries but the input has 5"),
        Case("NLL_err_float_target", loss_dict("NLLLoss", "mean"),
             {"input": x, "target": t4.astype(np.float32)}, ["input"],
             error="target must hold class indices"),
        Case("NLL_err_batch", loss_dict("NLLLoss", "mean"),
             {"input": x, "target": t4[:3]}, ["input"], error="target must have shape [4]"),
        Case("NLL_err_target_rank", loss_dict("NLLLoss", "mean"),
             {"input": logits(rng, (2, 3, 4)), "target": np.zeros((2,), np.int64)}, ["input"],
             error="target must have shape [2,4]"),
        Case("NLL_err_int_input", loss_dict("NLLLoss", "mean"),
             {"input": t4.reshape(2, 2), "target": t4[:2]}, [], error="not a float tensor"),
        # at run time: a target out of range that is not ignored
        Case("NLL_err_target_range", loss_dict("NLLLoss", "sum"),
             {"input": x, "target": np.array([0, 5, 1, 1], np.int64)}, ["input"],
             error="invalid input data"),
        Case("NLL_err_target_negative", loss_dict("NLLLoss", "none"),
             {"input": x, "target": np.array([0, -1, 1, 1], np.int64)}, ["input"],
             error="invalid input data"),
    ]
    return out


# ---- CrossEntropyLoss -------------------------------------------------------

CE_SHAPES = [(4, 5), (1, 5), (2, 3, 2, 2)]


def ce_torch(w, ig, ls, red, dtype=torch.float32):
    return lambda t_: nn.CrossEntropyLoss(weight=torch_weight(w, dtype), ignore_index=ig,
                                          reduction=red, label_smoothing=ls)(
        t_["input"], t_["target"])


def ce_cases(rng):
    out = []
    # class indices: every weight x ignore mode x reduction; label smoothing
    # and the shapes take turns (each meets every reduction)
    for i, (wk, (ig, mode, extreme), red) in enumerate(itertools.product(
            ["none", "pos", "zeros"],
            [(-100, "none", False), (2, "some", True), (-100, "all", False)], REDUCTIONS)):
        shape, ls = CE_SHAPES[(i + i // 3) % 3], [0.0, 0.15][i % 2]
        C = shape[1]
        tshape = (shape[0],) + shape[2:]
        x = logits(rng, shape, extreme=extreme)
        t = class_targets(rng, tshape, C, ig, mode)
        w = class_weight(rng, C, wk)
        out.append(Case(
            f"CE_{shape_id(shape)}_w{wk}_ls{ls}_ig{ig}{mode}{'_ext' if extreme else ''}_{red}",
            loss_dict("CrossEntropyLoss", red, weight=w, ignore_index=ig, label_smoothing=ls),
            {"input": x, "target": t}, ["input"], torch=ce_torch(w, ig, ls, red)))
    # class-probability targets (differentiated too, as PyTorch does): every
    # weight x reduction
    for i, (wk, red) in enumerate(itertools.product(["none", "pos", "zeros"], REDUCTIONS)):
        shape, ls, extreme = CE_SHAPES[(i + i // 3) % 3], [0.0, 0.15][i % 2], i % 4 == 1
        C = shape[1]
        x = logits(rng, shape, extreme=extreme)
        p = rng.uniform(0.0, 1.0, shape)
        p = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
        w = class_weight(rng, C, wk)
        out.append(Case(
            f"CE_prob_{shape_id(shape)}_w{wk}_ls{ls}{'_ext' if extreme else ''}_{red}",
            loss_dict("CrossEntropyLoss", red, weight=w, label_smoothing=ls),
            {"input": x, "target": p}, ["input", "target"], torch=ce_torch(w, -100, ls, red)))
    for red in REDUCTIONS:
        x = logits(rng, (3, 7), dtype=np.float64)
        t = class_targets(rng, (3,), 7, 0, "some")
        w = class_weight(rng, 7, "pos")
        out.append(Case(f"CE_f64_{red}", loss_dict("CrossEntropyLoss", red, weight=w,
                                                   ignore_index=0, label_smoothing=0.1),
                        {"input": x, "target": t}, ["input"],
                        torch=ce_torch(w, 0, 0.1, red, torch.float64)))
    # the classic tutorial numbers, against torch and as fixed values
    x = np.array([[1, 2], [1, 3], [1, 3]], np.float32)
    t = np.array([0, 1, 1], np.int64)
    fixed = {"none": [1.3133, 0.1269, 0.1269], "sum": 1.5671, "mean": 0.5224}
    for red in REDUCTIONS:
        out.append(Case(f"CE_tutorial_{red}", loss_dict("CrossEntropyLoss", red),
                        {"input": x, "target": t}, ["input"], torch=ce_torch(None, -100, 0.0, red)))
        out.append(Case(f"CE_tutorial_fixed_{red}", loss_dict("CrossEntropyLoss", red),
                        {"input": x, "target": t}, [],
                        torch=lambda t_, v=fixed[red]: torch.tensor(v), **TUTORIAL_TOL))
    out.append(Case("CE_tutorial_weight", loss_dict("CrossEntropyLoss", "mean", weight=[1.0, 2.0]),
                    {"input": x, "target": t}, ["input"], torch=ce_torch([1.0, 2.0], -100, 0.0, "mean")))
    out.append(Case("CE_tutorial_weight_fixed",
                    loss_dict("CrossEntropyLoss", "mean", weight=[1.0, 2.0]),
                    {"input": x, "target": t}, [], torch=lambda t_: torch.tensor(0.3642),
                    **TUTORIAL_TOL))
    x = logits(rng, (4, 5))
    t4 = np.array([0, 1, 2, 3], np.int64)
    out += [
        Case("CE_err_weight_len", loss_dict("CrossEntropyLoss", "mean", weight=[1.0, 2.0, 3.0]),
             {"input": x, "target": t4}, ["input"], error="weight has 3 entries"),
        Case("CE_err_target_shape", loss_dict("CrossEntropyLoss", "mean"),
             {"input": x, "target": t4[:2]}, ["input"], error="class-index targets must have shape"),
        Case("CE_err_prob_shape", loss_dict("CrossEntropyLoss", "mean"),
             {"input": x, "target": np.full((4, 4), 0.25, np.float32)}, ["input"],
             error="targets must be class indices"),
        Case("CE_err_target_range", loss_dict("CrossEntropyLoss", "mean"),
             {"input": x, "target": np.array([0, 1, 7, 3], np.int64)}, ["input"],
             error="invalid input data"),
    ]
    return out


# ---- MultiMarginLoss --------------------------------------------------------

# (input shape, target shape); a rank-0 target cannot pass the harness
# (np.ascontiguousarray makes it [1]): the gradient checks have one
MM_SHAPES = [((4, 5), (4,)), ((1, 5), (1,)), ((5,), (1,))]


def mm_cases(rng):
    out = []
    # every p x weight x reduction; the shapes and margins take turns
    for i, (p, wk, red) in enumerate(itertools.product([1, 2], ["none", "pos", "zeros"],
                                                       REDUCTIONS)):
        shape, tshape = MM_SHAPES[(i + i // 3) % 3]
        margin = [1.0, 0.3, 0.0, 2.5][i % 4]
        C = shape[-1]
        x = logits(rng, shape) / 3
        t = rng.integers(0, C, tshape).astype(np.int64)
        w = class_weight(rng, C, wk)
        out.append(Case(
            f"MM_{shape_id(shape)}_t{shape_id(tshape)}_p{p}_m{margin}_w{wk}_{red}",
            loss_dict("MultiMarginLoss", red, p=p, margin=margin, weight=w),
            {"input": x, "target": t}, ["input"],
            torch=lambda t_, p=p, margin=margin, w=w, red=red: nn.MultiMarginLoss(
                p=p, margin=margin, weight=torch_weight(w, torch.float32), reduction=red)(
                t_["input"], t_["target"])))
    for p, red in [(1, "mean"), (2, "none"), (2, "sum")]:
        x = logits(rng, (6, 4), extreme=True)
        t = rng.integers(0, 4, (6,)).astype(np.int64)
        out.append(Case(f"MM_extreme_p{p}_{red}", loss_dict("MultiMarginLoss", red, p=p),
                        {"input": x, "target": t}, ["input"],
                        torch=lambda t_, p=p, red=red: nn.MultiMarginLoss(p=p, reduction=red)(
                            t_["input"], t_["target"])))
        x = logits(rng, (3, 6), dtype=np.float64)
        t = rng.integers(0, 6, (3,)).astype(np.int64)
        w = class_weight(rng, 6, "pos")
        out.append(Case(f"MM_f64_p{p}_{red}",
                        loss_dict("MultiMarginLoss", red, p=p, margin=0.7, weight=w),
                        {"input": x, "target": t}, ["input"],
                        torch=lambda t_, p=p, w=w, red=red: nn.MultiMarginLoss(
                            p=p, margin=0.7, weight=torch_weight(w, torch.float64),
                            reduction=red)(t_["input"], t_["target"])))
    x = logits(rng, (4, 5))
    t4 = np.array([0, 1, 2, 3], np.int64)
    out += [
        Case("MM_err_weight_len", loss_dict("MultiMarginLoss", "mean", weight=[1.0] * 4),
             {"input": x, "target": t4}, ["input"], error="weight has 4 entries but the input has 5"),
        Case("MM_err_target_shape", loss_dict("MultiMarginLoss", "mean"),
             {"input": x, "target": t4.reshape(4, 1)}, ["input"], error="target must have shape [N]"),
        Case("MM_err_target_batch", loss_dict("MultiMarginLoss", "mean"),
             {"input": x, "target": t4[:3]}, ["input"], error="target must have shape [N]"),
        Case("MM_err_float_target", loss_dict("MultiMarginLoss", "mean"),
             {"input": x, "target": t4.astype(np.float32)}, ["input"],
             error="target must hold class indices"),
        Case("MM_err_input_rank", loss_dict("MultiMarginLoss", "mean"),
             {"input": logits(rng, (2, 3, 4)), "target": t4[:2]}, ["input"],
             error="input must have shape [N, C] or [C]"),
        Case("MM_err_p", loss_dict("MultiMarginLoss", "mean", p=3),
             {"input": x, "target": t4}, ["input"], error="only p == 1 and p == 2 supported"),
        Case("MM_err_target_range", loss_dict("MultiMarginLoss", "mean"),
             {"input": x, "target": np.array([0, 5, 1, 1], np.int64)}, ["input"],
             error="invalid input data"),
    ]
    return out


# ---- MultiLabelMarginLoss ---------------------------------------------------

def mlm_targets(rng, shape, pattern):
    C = shape[-1]
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    t = np.full((rows, C), -1, np.int64)
    for r in range(rows):
        if pattern == "empty":
            continue
        if pattern == "full":  # every class a target: no terms
            t[r] = rng.permutation(C)
            continue
        k = int(rng.integers(1, C))  # 1..C-1 targets, then -1, then junk
        t[r, :k] = rng.choice(C, k, replace=pattern != "distinct")
        t[r, k + 1:] = rng.integers(-1, C, C - k - 1)
    return t.reshape(shape)


def mlm_cases(rng):
    out = []
    # every target pattern x reduction; the shapes take turns
    for i, (pattern, red) in enumerate(itertools.product(["distinct", "repeats", "empty", "full"],
                                                         REDUCTIONS)):
        shape = [(3, 5), (1, 4), (4,), (6, 8)][i % 4]
        x = logits(rng, shape) / 3
        t = mlm_targets(rng, shape, pattern)
        out.append(Case(f"MLM_{shape_id(shape)}_{pattern}_{red}",
                        loss_dict("MultiLabelMarginLoss", red), {"input": x, "target": t},
                        ["input"], torch=lambda t_, red=red: nn.MultiLabelMarginLoss(
                            reduction=red)(t_["input"], t_["target"])))
    for red in ["none", "mean"]:
        x = logits(rng, (5, 6), extreme=True)
        t = mlm_targets(rng, (5, 6), "distinct")
        out.append(Case(f"MLM_extreme_{red}", loss_dict("MultiLabelMarginLoss", red),
                        {"input": x, "target": t}, ["input"],
                        torch=lambda t_, red=red: nn.MultiLabelMarginLoss(reduction=red)(
                            t_["input"], t_["target"])))
        x = logits(rng, (3, 4), dtype=np.float64)
        t = mlm_targets(rng, (3, 4), "repeats")
        out.append(Case(f"MLM_f64_{red}", loss_dict("MultiLabelMarginLoss", red),
                        {"input": x, "target": t}, ["input"],
                        torch=lambda t_, red=red: nn.MultiLabelMarginLoss(reduction=red)(
                            t_["input"], t_["target"])))
    # the tutorial: x = [[0.1, 0.2, 0.4, 0.8]], y = [[3, 0, -1, 1]] -> 0.85
    x = np.array([[0.1, 0.2, 0.4, 0.8]], np.float32)
    y = np.array([[3, 0, -1, 1]], np.int64)
    out.append(Case("MLM_tutorial", loss_dict("MultiLabelMarginLoss", "mean"),
                    {"input": x, "target": y}, ["input"],
                    torch=lambda t_: nn.MultiLabelMarginLoss()(t_["input"], t_["target"])))
    out.append(Case("MLM_tutorial_fixed", loss_dict("MultiLabelMarginLoss", "mean"),
                    {"input": x, "target": np.array([[0, 3, -1, -1]], np.int64)}, [],
                    torch=lambda t_: torch.tensor(0.85), **TUTORIAL_TOL))
    x = logits(rng, (2, 4))
    t = np.array([[0, 1, -1, -1], [2, -1, 0, 0]], np.int64)
    out += [
        Case("MLM_err_target_shape", loss_dict("MultiLabelMarginLoss", "mean"),
             {"input": x, "target": t[:, :3]}, ["input"], error="of the input's shape"),
        Case("MLM_err_float_target", loss_dict("MultiLabelMarginLoss", "mean"),
             {"input": x, "target": t.astype(np.float32)}, ["input"],
             error="target must hold class indices"),
        Case("MLM_err_input_rank", loss_dict("MultiLabelMarginLoss", "mean"),
             {"input": logits(rng, (2, 2, 4)), "target": np.zeros((2, 2, 4), np.int64)},
             ["input"], error="input must have shape [N, C] or [C]"),
        Case("MLM_err_target_range", loss_dict("MultiLabelMarginLoss", "mean"),
             {"input": x, "target": np.array([[0, 4, -1, -1], [2, -1, 0, 0]], np.int64)},
             ["input"], error="invalid input data"),
        Case("MLM_err_target_below", loss_dict("MultiLabelMarginLoss", "sum"),
             {"input": x, "target": np.array([[0, 1, -1, -2], [2, -1, 0, 0]], np.int64)},
             ["input"], error="invalid input data"),
    ]
    return out


# ---- MultiLabelSoftMarginLoss -----------------------------------------------

def mlsm_torch(w, red, dtype=torch.float32):
    return lambda t_: nn.MultiLabelSoftMarginLoss(weight=torch_weight(w, dtype), reduction=red)(
        t_["input"], t_["target"])


def mlsm_cases(rng):
    out = []
    # every weight x reduction x differentiated tensors; the shapes take turns
    for i, (wk, red, grad) in enumerate(itertools.product(["none", "pos", "zeros"], REDUCTIONS,
                                                          [["input"], ["input", "target"]])):
        shape = [(4, 5), (1, 3), (5,), (2, 3, 4)][i % 4]
        C = shape[-1]
        x = logits(rng, shape)
        y = rng.uniform(0.0, 1.0, shape).astype(np.float32)
        if len(grad) == 1:
            y = np.round(y).astype(np.float32)  # 0/1 labels
        w = class_weight(rng, C, wk)
        out.append(Case(f"MLSM_{shape_id(shape)}_w{wk}_{red}_{len(grad)}",
                        loss_dict("MultiLabelSoftMarginLoss", red, weight=w),
                        {"input": x, "target": y}, grad, torch=mlsm_torch(w, red)))
    for red in REDUCTIONS:
        x = logits(rng, (4, 6), extreme=True)
        y = rng.uniform(0.0, 1.0, (4, 6)).astype(np.float32)
        out.append(Case(f"MLSM_extreme_{red}", loss_dict("MultiLabelSoftMarginLoss", red),
                        {"input": x, "target": y}, ["input", "target"],
                        torch=mlsm_torch(None, red)))
        x = logits(rng, (3, 4), dtype=np.float64)
        y = rng.uniform(0.0, 1.0, (3, 4))
        w = class_weight(rng, 4, "pos")
        out.append(Case(f"MLSM_f64_{red}", loss_dict("MultiLabelSoftMarginLoss", red, weight=w),
                        {"input": x, "target": y}, ["input", "target"],
                        torch=mlsm_torch(w, red, torch.float64)))
        x = logits(rng, (3, 4))
        y = rng.integers(0, 2, (3, 4)).astype(np.int64)
        out.append(Case(f"MLSM_int_target_{red}", loss_dict("MultiLabelSoftMarginLoss", red),
                        {"input": x, "target": y}, ["input"], torch=mlsm_torch(None, red)))
    x = logits(rng, (2, 4))
    y = np.zeros((2, 4), np.float32)
    out += [
        Case("MLSM_err_weight_len", loss_dict("MultiLabelSoftMarginLoss", "mean", weight=[1.0] * 3),
             {"input": x, "target": y}, ["input"], error="weight has 3 entries but the input has 4"),
        Case("MLSM_err_target_shape", loss_dict("MultiLabelSoftMarginLoss", "mean"),
             {"input": x, "target": y[:, :3]}, ["input"], error="of the input's shape"),
        Case("MLSM_err_target_dtype", loss_dict("MultiLabelSoftMarginLoss", "mean"),
             {"input": x, "target": y.astype(np.float64)}, ["input"], error="of the input's shape and dtype"),
        Case("MLSM_err_int_input", loss_dict("MultiLabelSoftMarginLoss", "mean"),
             {"input": y.astype(np.int64), "target": y}, [], error="not a float tensor"),
    ]
    return out


def cases():
    rng = np.random.default_rng(0)
    return nll_cases(rng) + ce_cases(rng) + mm_cases(rng) + mlm_cases(rng) + mlsm_cases(rng)


if __name__ == "__main__":
    main(cases)
