"""What the benchmark runs: the models (from models/zoo.py), their exports,
and for each case the batch (an NPZ both sides read) and trainc's spec.

Models are exported in training mode (zoo.export(..., "train"):
BatchNormalization with batch statistics, Dropout kept), so trainc and
PyTorch do the same work: an eval-mode export folds BatchNorm into the
convolutions, a cheaper network than the torch module PyTorch would train.
"""
import importlib.util
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)

# zoo name -> the table's name
MODELS = {
    "mlp": "MLP",
    "lenet5": "LeNet-5",
    "cnn_bn": "CNN-BN",
    "resnet8": "ResNet-8",
    "resnet18": "ResNet-18 (64x64)",
    "gru_text": "GRU text",
    "lstm_tagger": "BiLSTM tagger",
    "transformer": "Transformer encoder",
}
OPTIMIZERS = {"sgd": "SGD momentum 0.9", "adam": "Adam"}
LR = 1e-4  # tc_step_bench's STEP_BENCH_LR


def load_zoo():
    spec = importlib.util.spec_from_file_location("zoo", os.path.join(SOURCE, "models", "zoo.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Cases:
    """Exports and data files in `work`, made once per model and batch."""

    def __init__(self, work):
        self.work = work
        self.zoo = load_zoo()
        os.makedirs(work, exist_ok=True)

    def onnx(self, name):
        path = os.path.join(self.work, f"{name}.train.onnx")
        if not os.path.exists(path):
            self.zoo.export(name, self.zoo.build(name), path + ".tmp", "train")
            os.replace(path + ".tmp", path)
        return path

    def batch(self, name, n):
        """An NPZ of one batch: x (the model's input) and y (class labels:
        one per sample, or for a tagger one per token)."""
        path = os.path.join(self.work, f"{name}.b{n}.npz")
        if not os.path.exists(path):
            x = self.zoo.sample_input(name, n, seed=1).numpy()
            kind, classes = self.zoo.ZOO[name][4]
            assert kind in ("classes", "tags") and self.zoo.ZOO[name][3] == "CrossEntropyLoss", name
            shape = (n,) if kind == "classes" else x.shape
            y = np.random.default_rng(1).integers(0, classes, shape).astype(np.int64)
            np.savez(path, x=x, y=y)
        return path

    def spec(self, name, n, optim):
        """trainc's spec for the case: the batch's NPZ, cross-entropy, the
        optimizer with PyTorch's defaults but the learning rate."""
        path = os.path.join(self.work, f"{name}.b{n}.{optim}.json")
        opt = {"type": "SGD", "lr": LR, "momentum": 0.9} if optim == "sgd" else \
            {"type": "Adam", "lr": LR}
        spec = {"inputs": {"input": "x"},
                "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "y"},
                "optimizer": opt,
                "data": {"train": {"format": "npz", "path": self.batch(name, n)}},
                "batch_size": n, "epochs": 1, "shuffle": False}
        with open(path, "w") as f:
            json.dump(spec, f)
        return path
