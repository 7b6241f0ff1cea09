"""Reference values for tc_k_cross_entropy_* from PyTorch, run live by
tests/unit/test_kernels_train.c.

Draws random logits, targets, class weights and upstream gradients (fixed
seed), runs torch.nn.functional.cross_entropy and its backward, and prints
one block per case, every float as float.hex() (exact for f32 and f64):

  case <id> <bits> N C D K prob reduction has_w ignore_index eps
  x <n> ...   t <n> ...   w <n> ...   g <n> ...   (inputs; g = dloss)
  l <n> ...   dx <n> ...                          (outputs)
  end

reduction is 0 none, 1 sum, 2 mean (the kernel's codes). Index targets are
printed as integers, probability targets as floats.
"""
import itertools
import sys

import torch
import torch.nn.functional as F

REDUCTIONS = ["none", "sum", "mean"]


def emit(tag, values, integer=False):
    vals = values.detach().reshape(-1).tolist()
    if integer:
        body = " ".join(str(int(v)) for v in vals)
    else:
        body = " ".join(float(v).hex() for v in vals)
    print(tag, len(vals), body)


def run_case(case_id, dtype, N, C, extra, prob, red, has_w, ignore_mode, eps, scale):
    """ignore_mode: 0 none hit (ignore_index -100), 1 -100 hit at some
    positions, 2 ignore_index = 1 (a real class) hit, 3 every target ignored."""
    D = 1
    for e in extra:
        D *= e
    x = (torch.randn((N, C) + extra, dtype=torch.float64) * scale).to(dtype)
    x.requires_grad_(True)
    ignore_index = 1 if ignore_mode == 2 else -100
    if prob:
        t = torch.softmax(torch.randn((N, C) + extra, dtype=torch.float64) * 2, 1).to(dtype)
    else:
        t = torch.randint(0, C, (N,) + extra, dtype=torch.int64)
        if ignore_mode == 1:
            t.view(-1)[:: 3] = -100
        elif ignore_mode == 2:
            t.view(-1)[1:: 3] = 1
        elif ignore_mode == 3:
            t.fill_(-100)
    w = (torch.rand(C, dtype=torch.float64) * 1.5 + 0.5).to(dtype) if has_w else None
    loss = F.cross_entropy(x, t, weight=w, ignore_index=ignore_index,
                           reduction=REDUCTIONS[red], label_smoothing=eps)
    g = torch.randn(loss.shape, dtype=torch.float64).to(dtype)
    (dx,) = torch.autograd.grad(loss, x, g)
    bits = 32 if dtype == torch.float32 else 64
    print("case", case_id, bits, N, C, D, len(extra), int(prob), red, int(has_w),
          ignore_index, float(eps).hex())
    emit("x", x)
    emit("t", t, integer=not prob)
    emit("w", w if has_w else torch.zeros(0))
    emit("g", g)
    emit("l", loss)
    emit("dx", dx)
    print("end")


def main():
    torch.manual_seed(20240611)
    case_id = 0
    for dtype in (torch.float32, torch.float64):
        # index targets: every option
        for extra, red, has_w, ign, eps in itertools.product(
                [(), (2, 3)], range(3), (False, True), (0, 1, 2), (0.0, 0.1, 1.0)):
            N = 4 if extra == () else 3
            run_case(case_id, dtype, N, 5, extra, False, red, has_w, ign, eps, 1.0)
            case_id += 1
        # probability targets
        for extra, red, has_w, eps in itertools.product(
                [(), (2, 3)], range(3), (False, True), (0.0, 0.1, 1.0)):
            N = 4 if extra == () else 3
            run_case(case_id, dtype, N, 5, extra, True, red, has_w, 0, eps, 1.0)
            case_id += 1
        # every target ignored (mean: NaN loss, zero gradient)
        for extra, red, has_w, eps in itertools.product(
                [(), (3,)], range(3), (False, True), (0.0, 0.1)):
            run_case(case_id, dtype, 3, 4, extra, False, red, has_w, 3, eps, 1.0)
            case_id += 1
        # large logits (stability), many classes, a D that spans chunks
        for (N, C, extra), prob, eps in itertools.product(
                [(2, 37, ()), (1, 7, (260,))], (False, True), (0.0, 0.1)):
            run_case(case_id, dtype, N, C, extra, prob, 2, True, 1, eps, 40.0)
            case_id += 1
    sys.stdout.flush()


if __name__ == "__main__":
    main()
