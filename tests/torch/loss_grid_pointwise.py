"""Differential grid of the pointwise losses against PyTorch (see
loss_harness.py): L1Loss, MSELoss, ..."""
import itertools

import numpy as np
import torch
import torch.nn as nn

from loss_harness import Case, main

REDUCTIONS = ["none", "sum", "mean"]
SHAPES = [(1,), (4, 3), (2, 3, 5)]


def rand(rng, shape, dtype=np.float32, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape).astype(dtype)


def cases():
    rng = np.random.default_rng(0)
    out = []
    for cls, (red, shape) in itertools.product(["L1Loss", "MSELoss"],
                                               itertools.product(REDUCTIONS, SHAPES)):
        x, y = rand(rng, shape), rand(rng, shape)
        for grad in (["input"], ["input", "target"]):
            out.append(Case(
                f"{cls}_{red}_{'x'.join(map(str, shape))}_{len(grad)}",
                {"type": cls, "reduction": red}, {"input": x, "target": y}, grad,
                torch=lambda t, cls=cls, red=red: getattr(nn, cls)(reduction=red)(
                    t["input"], t["target"])))
    out.append(Case("L1Loss_shape_mismatch", {"type": "L1Loss"},
                    {"input": rand(rng, (4, 3)), "target": rand(rng, (4, 2))}, ["input"],
                    error="input and target must be float tensors of one shape"))
    return out


if __name__ == "__main__":
    main(cases)
