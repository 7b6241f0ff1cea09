#!/usr/bin/python3
"""The model zoo: the architectures people export and train, as small
torch.nn definitions with fixed seeds, each exported to ONNX both ways a
user does it (export below):

  eval   what `torch.onnx.export(model, x, path)` gives by default: the model
         in eval() mode, training=EVAL, constant folding on. BatchNorm is
         folded into the convolution before it and Dropout disappears.
  train  training=TRAINING on the model in train() mode: BatchNormalization
         keeps its batch statistics (training_mode=1) and Dropout its
         training_mode input, so the graph trains like the torch module.

models/export.py writes the committed exports (NAME.onnx, NAME.train.onnx)
and, on request, ResNet-18's (~45 MB each, not committed):

    /usr/bin/python3 models/export.py --out OUT_DIR resnet18

tests/torch/model_zoo.py compares each model with PyTorch, live.

Each entry gives the model, the per-sample input shape and dtype, the loss
the zoo test trains it with, and how to make data for it (see ZOO below).
"""

import collections
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

OPSET = 13


class CNNBN(nn.Module):
    """Conv-BatchNorm-ReLU blocks on 3x32x32 images."""

    def __init__(self, classes=10):
        super().__init__()
        layers, c = [], 3
        for out in (16, 32, 64):
            layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(), nn.MaxPool2d(2)]
            c = out
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(64 * 4 * 4, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


class GRUClassifier(nn.Module):
    """Token ids -> Embedding -> GRU -> last hidden state -> classes."""

    def __init__(self, vocab=100, dim=32, hidden=48, classes=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, tokens):
        _, h = self.gru(self.embed(tokens))
        return self.fc(h[-1])


class LSTMTagger(nn.Module):
    """A bidirectional LSTM tagging every token: logits [N, tags, T], the
    layout CrossEntropyLoss takes for per-position targets [N, T]."""

    def __init__(self, vocab=100, dim=32, hidden=32, tags=5):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, tags)

    def forward(self, tokens):
        y, _ = self.lstm(self.embed(tokens))
        return self.fc(y).transpose(1, 2)


class TransformerClassifier(nn.Module):
    """A 2-layer nn.TransformerEncoder over embedded tokens, mean-pooled."""

    def __init__(self, vocab=100, dim=32, heads=4, classes=4, dropout=0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(16, dim) * 0.1)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=64, dropout=dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        # The encoder deep-copies `layer`: without this its layers start equal,
        # and an eval export would merge (tie) their weights.
        with torch.no_grad():
            for p in self.encoder.layers[1].parameters():
                p.add_(torch.randn_like(p) * 0.02)
        self.fc = nn.Linear(dim, classes)

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos[: tokens.shape[1]]
        return self.fc(self.encoder(x).mean(1))


def conv_bn_relu(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU())


class UNet(nn.Module):
    """Two levels down, two up (ConvTranspose + Concat skips); one logit per
    pixel for BCEWithLogitsLoss."""

    def __init__(self):
        super().__init__()
        self.enc1 = conv_bn_relu(1, 8)
        self.enc2 = conv_bn_relu(8, 16)
        self.mid = conv_bn_relu(16, 32)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec2 = conv_bn_relu(32, 16)
        self.up1 = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec1 = conv_bn_relu(16, 8)
        self.head = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


class UpsampleUNet(nn.Module):
    """The U-Net with interpolation instead of ConvTranspose: bilinear
    (align_corners=False, exported as Resize with pytorch_half_pixel) on one
    level, nearest (asymmetric, floor) on the other."""

    def __init__(self):
        super().__init__()
        self.enc1 = conv_bn_relu(1, 8)
        self.enc2 = conv_bn_relu(8, 16)
        self.mid = conv_bn_relu(16, 16)
        self.dec2 = conv_bn_relu(32, 8)
        self.dec1 = conv_bn_relu(16, 8)
        self.head = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        up2 = F.interpolate(m, scale_factor=2, mode="bilinear", align_corners=False)
        d2 = self.dec2(torch.cat([up2, e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2, mode="nearest"), e1], 1))
        return self.head(d1)


class AutoEncoder(nn.Module):
    """A convolutional autoencoder for 1x28x28 images (MSELoss to the input)."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def export_models():
    """models/export.py's classic models, imported from next to this file."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import export
    return export


def perturb_norms(model):
    """Seeded BatchNorm and LayerNorm affine parameters near their defaults.
    Freshly initialised ones are all ones and zeros, and an eval export
    merges equal initializers into one (through Identity), which would tie
    parameters PyTorch keeps apart. BatchNorm running statistics are drawn
    too, though calibrate_batchnorm replaces them: the draws share one
    random stream, and skipping them would change every later affine
    parameter (with other values, torch.zoo.resnet8's training trajectory
    leaves its tolerance at step 3, an open question)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.LayerNorm)):
                m.weight.uniform_(0.8, 1.2)
                m.bias.uniform_(-0.1, 0.1)
            if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.8, 1.2)


CALIBRATION_BATCHES = 4
CALIBRATION_BATCH = 16


def calibrate_batchnorm(name, model):
    """BatchNorm running statistics measured on sample inputs (the average
    over a few train() batches), as a model that has seen data has them.
    With the fresh statistics (mean 0, variance 1) an eval() MobileNetV2
    shrinks the differences between its inputs layer by layer until its
    logits no longer depend on the input (their spread over a batch is
    ~1e-9), and its eval export, BatchNorm folded, cannot learn; calibrated,
    it trains like the train() module. The statistics also differ from one
    another, which the eval exporter's merging of equal initializers needs."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momentum = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for k in range(CALIBRATION_BATCHES):
            model(sample_input(name, CALIBRATION_BATCH, seed=1000 + k))
    for m, mom in zip(norms, momentum):
        m.momentum = mom
        m.num_batches_tracked.zero_()


# name: (builder(dropout), per-sample input shape, input dtype, loss, target)
#   dropout: the probability for the models that have Dropout (None: the
#   model's default); the others ignore it
#   target: ("classes", C) a class index per sample; ("tags", C) a class per
#   position of the [T] sequence; "pixels" a {0,1} mask shaped like the
#   output; "input" the input itself (autoencoder)
def _default(p, d):
    return d if p is None else p


ZOO = collections.OrderedDict([
    ("mlp", (lambda p: export_models().MLP(), (1, 28, 28), "float32", "CrossEntropyLoss", ("classes", 10))),
    ("lenet5", (lambda p: export_models().LeNet5(), (1, 28, 28), "float32", "CrossEntropyLoss", ("classes", 10))),
    ("cnn_bn", (lambda p: CNNBN(), (3, 32, 32), "float32", "CrossEntropyLoss", ("classes", 10))),
    ("resnet8", (lambda p: export_models().ResNet8(), (3, 32, 32), "float32", "CrossEntropyLoss", ("classes", 10))),
    ("resnet18", (lambda p: torchvision.models.resnet18(num_classes=10), (3, 64, 64), "float32",
                  "CrossEntropyLoss", ("classes", 10))),
    ("mobilenet_v2", (lambda p: torchvision.models.mobilenet_v2(num_classes=10, dropout=_default(p, 0.2)),
                      (3, 64, 64), "float32", "CrossEntropyLoss", ("classes", 10))),
    ("gru_text", (lambda p: GRUClassifier(), (12,), "int64", "CrossEntropyLoss", ("classes", 4))),
    ("lstm_tagger", (lambda p: LSTMTagger(), (12,), "int64", "CrossEntropyLoss", ("tags", 5))),
    ("transformer", (lambda p: TransformerClassifier(dropout=_default(p, 0.1)), (12,), "int64",
                     "CrossEntropyLoss", ("classes", 4))),
    ("unet", (lambda p: UNet(), (1, 32, 32), "float32", "BCEWithLogitsLoss", "pixels")),
    ("unet_upsample", (lambda p: UpsampleUNet(), (1, 32, 32), "float32", "BCEWithLogitsLoss",
                       "pixels")),
    ("autoencoder", (lambda p: AutoEncoder(), (1, 28, 28), "float32", "MSELoss", "input")),
])

VOCAB = 100


def build(name, seed=0, dropout=None):
    """The model `name` with seeded weights, normalization parameters
    perturbed (perturb_norms) and BatchNorm statistics calibrated
    (calibrate_batchnorm), in train() mode."""
    torch.manual_seed(seed)
    model = ZOO[name][0](dropout)
    perturb_norms(model)
    calibrate_batchnorm(name, model)
    return model


def sample_input(name, n, seed=0):
    _, shape, dtype, _, _ = ZOO[name]
    g = torch.Generator().manual_seed(seed)
    if dtype == "int64":
        return torch.randint(0, VOCAB, (n,) + shape, generator=g)
    return torch.randn((n,) + shape, generator=g)


def export(name, model, path, mode):
    """Exports `model` as the user would: mode "eval" (the defaults) or
    "train" (training=TRAINING, model in train())."""
    x = sample_input(name, 2)
    if mode == "eval":
        model.eval()
        kwargs = dict(training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True)
    else:
        model.train()
        kwargs = dict(training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
    torch.onnx.export(model, x, path, opset_version=OPSET, input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, **kwargs)
