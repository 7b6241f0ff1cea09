"""Differential grid of torch.nn.CTCLoss against PyTorch (see
loss_harness.py): blank 0 and C-1, zero_infinity with and without
impossible alignments (inf losses, NaN gradients), repeated labels, padded
and concatenated targets, int64 and int32 targets and lengths, unbatched
(T, C) inputs, batch 1, varied input lengths and target lengths (empty
targets included), extreme logits, long sequences, every
reduction, float32 and float64, log-softmax outputs and raw log_probs
(ATen's gradient formula is compared as it is, exp(lp) term included), and
the configurations and data trainc refuses."""
import itertools

import numpy as np
import torch
import torch.nn.functional as F

from loss_harness import Case, main

REDUCTIONS = ["none", "sum", "mean"]


def log_softmax(rng, shape, dtype, scale=2.0):
    x = rng.normal(0.0, scale, shape)
    x = x - x.max(axis=-1, keepdims=True)
    return (x - np.log(np.exp(x).sum(axis=-1, keepdims=True))).astype(dtype)


def labels(rng, n, C, blank, repeat=False):
    choices = [c for c in range(C) if c != blank]
    out = list(rng.choice(choices, n))
    if repeat and n >= 2:
        out[1] = out[0]  # a repeat: the alignment needs a blank between
    return out


def needed(seq):
    """Frames a target needs: its length plus one blank per adjacent repeat."""
    return len(seq) + sum(1 for a, b in zip(seq, seq[1:]) if a == b)


def torch_ctc(blank, red, zi):
    return lambda t: F.ctc_loss(t["log_probs"], t["targets"], t["input_lengths"],
                                t["target_lengths"], blank=blank, reduction=red,
                                zero_infinity=zi)


def spec(blank, red, zi):
    return {"type": "CTCLoss", "blank": blank, "reduction": red, "zero_infinity": zi}


def batch(rng, T, C, blank, seqs, ils, concat, idt):
    """targets (padded (N, S) or concatenated), input/target lengths."""
    tls = [len(s) for s in seqs]
    if concat:
        flat = [k for s in seqs for k in s]
        tg = np.array(flat, dtype=idt)
    else:
        S = max(max(tls), 1) + 1  # one padding column at least
        tg = np.zeros((len(seqs), S), dtype=idt)
        for i, s in enumerate(seqs):
            tg[i, :len(s)] = s
            tg[i, len(s):] = rng.integers(0, C, S - len(s))  # padding: anything
    return tg, np.array(ils, dtype=idt), np.array(tls, dtype=idt)


F32_WHY = ("torch's float32 kernel: its exp(alpha + beta + nll - lp) argument carries about "
           "2^-24 (|alpha + beta| + |nll| + |lp|) absolute error, so its gradient is off by "
           "that much times the occupancy; trainc works in double and is within 1% of the "
           "default tolerance of torch's float64 result (the *_vs_f64 cases)")


def ctc_case(cid, blank, red, zi, tensors, vs_f64=False):
    """A case; float32 ones get atol 4 * 2^-24 * (log-space magnitude) when
    that exceeds the default (see F32_WHY). vs_f64: the reference is torch's
    float64 kernel on the same inputs, rounded to float32, at the default
    tolerance."""
    lp = tensors["log_probs"]
    kw = {}
    if lp.dtype == np.float32 and not vs_f64:
        t = {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}
        nll = F.ctc_loss(t["log_probs"].double(), t["targets"], t["input_lengths"],
                         t["target_lengths"], blank=blank, reduction="none").reshape(-1)
        nll = nll[torch.isfinite(nll)]
        mag = (nll.abs().max().item() if nll.numel() else 0.0) + float(np.abs(lp).max())
        atol = 4 * 2.0 ** -24 * 2 * mag
        if atol > 1e-6:
            kw = {"atol": atol, "why": F32_WHY}
    fn = torch_ctc(blank, red, zi)
    if vs_f64:
        base = fn
        fn = lambda t: base(dict(t, log_probs=t["log_probs"].double())).float()
    return Case(cid, spec(blank, red, zi), tensors, ["log_probs"], torch=fn, **kw)


def tensors(lp, tg, il, tl):
    return {"log_probs": lp, "targets": tg, "input_lengths": il, "target_lengths": tl}


def cases():
    rng = np.random.default_rng(0)
    out = []

    # the main grid: N = 3 with varied lengths; blank x reduction x
    # zero_infinity, each case with the next of the (targets layout, index
    # dtype, float dtype) combinations in turn
    T, C = 8, 5
    forms = [(False, np.int64, np.float32), (True, np.int32, np.float32),
             (True, np.int64, np.float64), (False, np.int32, np.float64),
             (True, np.int64, np.float32), (False, np.int64, np.float64)]
    for k, (blank, red, zi) in enumerate(itertools.product([0, C - 1], REDUCTIONS,
                                                           [False, True])):
        concat, idt, dt = forms[k % len(forms)]
        lp = log_softmax(rng, (T, 3, C), dt)
        seqs = [labels(rng, 3, C, blank, repeat=True), labels(rng, 2, C, blank),
                labels(rng, 4, C, blank, repeat=True)]
        # sample 2 needs 5 frames but gets 4 (inf unless zero_infinity);
        # samples 0 and 1 fit, one of them with a shorter input
        ils = [T, 6, needed(seqs[2]) - 1]
        tg, il, tl = batch(rng, T, C, blank, seqs, ils, concat, idt)
        cid = (f"ctc_b{blank}_{red}_zi{int(zi)}_{'cat' if concat else 'pad'}_"
               f"{np.dtype(idt).name}_{np.dtype(dt).name}")
        out.append(ctc_case(cid, blank, red, zi, tensors(lp, tg, il, tl)))

    # every sample feasible: finite losses and gradients everywhere
    for red, blank in zip(REDUCTIONS, [0, 2, 5]):
        T, C, N = 10, 6, 4
        lp = log_softmax(rng, (T, N, C), np.float32)
        seqs = [labels(rng, k, C, blank, repeat=k > 2) for k in (1, 3, 4, 5)]
        tg, il, tl = batch(rng, T, C, blank, seqs, [10, 7, 9, 10], False, np.int64)
        out.append(ctc_case(f"ctc_feasible_{red}_b{blank}", blank, red, False,
                            tensors(lp, tg, il, tl)))

    # batch 1 (padded, concatenated, scalar lengths), lengths of shape (N, 1)
    for red, concat in zip(REDUCTIONS, [False, True, False]):
        T, C = 7, 4
        lp = log_softmax(rng, (T, 1, C), np.float32)
        tg, il, tl = batch(rng, T, C, 0, [labels(rng, 3, C, 0, repeat=True)], [T], concat,
                           np.int64)
        out.append(ctc_case(f"ctc_batch1_{red}_{'cat' if concat else 'pad'}", 0, red, False,
                            tensors(lp, tg, il, tl)))
    out.append(ctc_case("ctc_batch1_scalar_lengths", 0, "mean", False,
                        tensors(log_softmax(rng, (6, 1, 4), np.float32), np.array([[1, 2, 2]]),
                                np.array(6), np.array(3))))
    out.append(ctc_case("ctc_lengths_2d", 0, "none", False,
                        tensors(log_softmax(rng, (6, 2, 4), np.float64),
                                np.array([[1, 2, 2], [3, 1, 0]]), np.array([[6], [5]]),
                                np.array([[3], [2]]))))

    # unbatched (T, C): targets 1-D of exactly the target length, or (1, S);
    # scalar lengths or of shape (1)
    for red, blank, form in [("none", 0, "1d"), ("sum", 3, "1d"), ("mean", 0, "1d"),
                             ("none", 3, "2d"), ("mean", 0, "len1")]:
        T, C = 7, 4
        lp = log_softmax(rng, (T, C), np.float32)
        seq = labels(rng, 3, C, blank, repeat=True)
        tg = np.array([seq + [1]] if form == "2d" else seq, dtype=np.int64)
        il, tl = (np.array([6]), np.array([3])) if form == "len1" else (np.array(6), np.array(3))
        out.append(ctc_case(f"ctc_unbatched_{red}_b{blank}_{form}", blank, red, False,
                            tensors(lp, tg, il, tl)))
    # unbatched, impossible alignment (1, 1, 2 needs 4 frames, gets 3)
    for zi, red in [(False, "none"), (False, "mean"), (True, "none"), (True, "sum")]:
        out.append(ctc_case(f"ctc_unbatched_inf_zi{int(zi)}_{red}", 0, red, zi,
                            tensors(log_softmax(rng, (5, 4), np.float64), np.array([1, 1, 2]),
                                    np.array(3), np.array(3))))

    # an empty target, targets that fit exactly (1, 1, 1 needs 5 frames; 6
    # labels in 6), one that cannot fit (3, 3 in 2). (An input length of 0
    # is not compared: torch 1.13 reads outside its alpha array there; see
    # tests/unit/gradcheck_loss_ctc.h.)
    for red, zi in [("none", False), ("mean", False), ("sum", True), ("mean", True)]:
        T, C = 6, 4
        lp = log_softmax(rng, (T, 5, C), np.float32)
        seqs = [[], [1, 1, 1], [2, 3, 1, 2, 3, 1], [3, 3], [2]]
        tg, il, tl = batch(rng, T, C, 0, seqs, [6, 5, 6, 2, 3], False, np.int64)
        out.append(ctc_case(f"ctc_edges_{red}_zi{int(zi)}", 0, red, zi,
                            tensors(lp, tg, il, tl)))

    # extreme logits (+-100 before log_softmax): log-probabilities near -200
    for red, dt in zip(REDUCTIONS, [np.float32, np.float64, np.float32]):
        T, C = 6, 5
        x = rng.choice([-100.0, 0.0, 100.0], (T, 2, C)) + rng.uniform(-1, 1, (T, 2, C))
        lp = torch.log_softmax(torch.from_numpy(x), -1).numpy().astype(dt)
        tg, il, tl = batch(rng, T, C, 0, [[1, 2, 3], [4, 4]], [6, 5], False, np.int64)
        t = tensors(lp, tg, il, tl)
        name = f"ctc_extreme_{red}_{np.dtype(dt).name}"
        out.append(ctc_case(name, 0, red, True, t))
        if dt is np.float32:
            out.append(ctc_case(name + "_vs_f64", 0, red, True, t, vs_f64=True))

    # raw (unnormalized) log_probs: ATen's formula as it is, exp(lp) included
    for red in REDUCTIONS:
        T, C = 6, 4
        lp = rng.uniform(-3, 0.5, (T, 2, C)).astype(np.float32)
        tg, il, tl = batch(rng, T, C, 0, [[1, 2, 1], [3, 3]], [6, 6], True, np.int64)
        out.append(ctc_case(f"ctc_raw_{red}", 0, red, False, tensors(lp, tg, il, tl)))

    # a longer sequence and more classes
    for red, dt in [("none", np.float64), ("mean", np.float32)]:
        T, C, N = 30, 12, 3
        lp = log_softmax(rng, (T, N, C), dt)
        seqs = [labels(rng, k, C, 0, repeat=True) for k in (12, 5, 9)]
        tg, il, tl = batch(rng, T, C, 0, seqs, [30, 20, 25], False, np.int64)
        t = tensors(lp, tg, il, tl)
        out.append(ctc_case(f"ctc_long_{red}_{np.dtype(dt).name}", 0, red, False, t))
        if dt is np.float32:
            out.append(ctc_case(f"ctc_long_{red}_vs_f64", 0, red, False, t, vs_f64=True))

    # ---- refused configurations
    lp = log_softmax(rng, (6, 2, 4), np.float32)
    good = {"log_probs": lp, "targets": np.array([[1, 2, 2], [3, 1, 0]]),
            "input_lengths": np.array([6, 5]), "target_lengths": np.array([3, 2])}

    def err(cid, error, grad=("log_probs",), blank=0, **tensors):
        t = dict(good)
        t.update(tensors)
        out.append(Case(f"ctc_err_{cid}", spec(blank, "mean", False), t, list(grad),
                        error=error))

    err("lp_int", "log_probs must be a float32 or float64 tensor", grad=(),
        log_probs=np.zeros((6, 2, 4), np.int64))
    err("lp_rank4", "log_probs must be a float32 or float64 tensor of shape (T, N, C) or (T, C)",
        log_probs=lp.reshape(6, 2, 4, 1))
    err("lp_rank1", "log_probs must be a float32 or float64 tensor", log_probs=lp[:, 0, 0].copy())
    err("blank_C", "blank must be in label range", blank=4)
    err("blank_negative", "blank", blank=-1)
    err("targets_float", "targets must be an int64 or int32 tensor",
        targets=good["targets"].astype(np.float32))
    err("targets_3d", "expected 1 to 2 dimensions", targets=good["targets"].reshape(2, 3, 1))
    err("targets_rows", "padded targets must have shape (N, S)",
        targets=np.array([[1, 2, 2], [3, 1, 0], [1, 1, 1]]))
    err("il_float", "input_lengths must be integral",
        input_lengths=np.array([6.0, 5.0], np.float32))
    err("tl_float", "target_lengths must be integral",
        target_lengths=np.array([3.0, 2.0], np.float32))
    err("il_size", "input_lengths must be of size batch_size", input_lengths=np.array([6, 5, 4]))
    err("tl_size", "target_lengths must be of size batch_size", target_lengths=np.array([3]))
    err("il_scalar", "input_lengths must be of size batch_size", input_lengths=np.array(6))
    # ---- refused data (the kernel: the step fails naming the node)
    bad = "invalid input data"
    err("il_gt_T", bad, input_lengths=np.array([7, 5]))  # torch: "at most 6"
    err("tl_gt_S", bad, target_lengths=np.array([4, 2]))  # torch: "size at least 4"
    err("concat_short", bad, targets=np.array([1, 2, 2, 3]))  # torch: "size 5"
    err("concat_long", bad, targets=np.array([1, 2, 2, 3, 1, 2]))
    err("label_blank", bad, targets=np.array([[1, 0, 2], [3, 1, 0]]))
    err("label_ge_C", bad, targets=np.array([[1, 4, 2], [3, 1, 0]]))
    err("label_negative", bad, targets=np.array([[1, 2, 2], [-1, 1, 0]]))
    err("il_negative", bad, input_lengths=np.array([6, -1]))
    err("tl_negative", bad, target_lengths=np.array([3, -1]))
    return out


if __name__ == "__main__":
    main(cases)
