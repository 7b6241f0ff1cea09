"""Prints what the training spec's tables (frontends/spec/spec_tables.c) must
agree with: the keyword arguments and defaults of every torch.nn loss,
torch.optim optimizer and torch.optim.lr_scheduler scheduler, read from the
installed torch with inspect.signature.

Output, one line each:
    Class key default        default as JSON, or "required"
    Class forward() a,b,...  a loss's tensor arguments, in order
Lines starting with "#" are comments. tests/unit/test_spec.c runs this with
/usr/bin/python3 and compares every line with its tables, both ways.

Usage: /usr/bin/python3 spec_defaults.py
"""
import inspect
import json
import sys

import torch
import torch.nn as nn
import torch.optim as optim
import torch.optim.lr_scheduler as sched
from torch.optim.optimizer import required

LOSSES = [
    "L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "PoissonNLLLoss",
    "GaussianNLLLoss", "KLDivLoss", "BCELoss", "BCEWithLogitsLoss", "HuberLoss",
    "SmoothL1Loss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
    "MultiLabelMarginLoss", "MultiMarginLoss", "MarginRankingLoss",
    "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
    "TripletMarginWithDistanceLoss", "CTCLoss",
]
OPTIMIZERS = [
    "SGD", "ASGD", "Rprop", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW",
    "Adamax", "NAdam", "RAdam", "SparseAdam", "LBFGS",
]
SCHEDULERS = [
    "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
    "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
    "CyclicLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR",
    "ChainedScheduler",
]


def show(default):
    if default is inspect.Parameter.empty or default is required:
        return "required"
    if isinstance(default, tuple):
        default = list(default)
    return json.dumps(default)


def arguments(fn):
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        yield p


def main():
    print("# torch", torch.__version__)
    for module, names in ((nn, LOSSES), (optim, OPTIMIZERS), (sched, SCHEDULERS)):
        for name in names:
            cls = getattr(module, name)
            for p in arguments(cls.__init__):
                print(name, p.name, show(p.default))
            if module is nn:
                print(name, "forward()", ",".join(p.name for p in arguments(cls.forward)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
