#!/usr/bin/python3
"""Build the sample models with fixed seeds and export them to ONNX: the one
script that writes every committed model file.

Run from anywhere with Debian's Python (torch 1.13, onnx 1.12):

    /usr/bin/python3 models/export.py [--out DIR] [NAME...]

With no NAME, writes every committed model next to this script (models/);
`--out DIR` writes elsewhere, and NAME picks models (resnet18, too large to
commit, is written only when named). The output is deterministic: running
the script twice gives byte-identical files.

File names: NAME.onnx is the eval-mode export, the file a user gets from
torch.onnx.export by default; NAME.train.onnx the training-mode export
(training=TRAINING on the module in train(): BatchNormalization with its
batch statistics, Dropout with its training_mode input). A model with
neither BatchNorm nor Dropout exports the same bytes both ways; the script
checks that and writes only NAME.onnx for it.

Two families of models:

classic  lenet5, mlp, resnet8, lenet_rgb2, defined below. Export settings:
  opset 13, do_constant_folding=False, keep_initializers_as_inputs=False,
  input "input", output "logits", batch dimension symbolic and named "N".
  Initializers keep their PyTorch names ("conv1.weight", ...); the script
  checks that every initializer is a state_dict entry and that no parameter
  was dropped, renamed or aliased.

  resnet8 note: torch.onnx.export(training=EVAL) runs an eval peephole that
  folds BatchNorm into the preceding Conv (whatever do_constant_folding
  says) and renames the folded weights "onnx::Conv_NN". So resnet8.onnx is
  exported with training=PRESERVE on a model in eval() mode, which keeps the
  BatchNormalization nodes (inference form, running statistics as
  initializers). In eval mode the exporter also de-duplicates initializers
  by *value*; freshly initialised BatchNorm tensors (ones/zeros) would
  collapse into one another (e.g. running_var becomes Identity(bn.weight)).
  The BatchNorm affine parameters and running statistics are therefore
  given seeded random values near their defaults before export.
  resnet8.train.onnx has the same weights, exported with training=TRAINING.

zoo      the other architectures of models/zoo.py, exported by zoo.export
  exactly as the model-zoo test (tests/torch/model_zoo.py) exports them
  (zoo.build(NAME), seed 0): the eval export with the exporter's defaults
  (constant folding on, BatchNorm folded into the convolutions, Dropout
  removed), the training export unfolded.
"""

import argparse
import collections
import io
import os
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 13


class LeNet5(nn.Module):
    """LeNet-5 for 1x28x28 inputs (Fashion-MNIST)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        # view() with the runtime batch size: exports as
        # Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class LeNetRGB(nn.Module):
    """The classic LeNet of the PyTorch tutorials: 3x32x32 input, no padding,
    two classes (the 2-class image folder example)."""

    def __init__(self, num_classes=2):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class MLP(nn.Module):
    """784-256-128-10 MLP taking [N,1,28,28]."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet8(nn.Module):
    """CIFAR-style ResNet-8: stem + 3 stages x 1 BasicBlock, 3x32x32 input."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = BasicBlock(32, 64, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def perturb_batchnorm(model):
    """Distinct, seeded BN parameters/statistics (see module docstring)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.8, 1.2)
                m.bias.uniform_(-0.1, 0.1)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.8, 1.2)


def build_lenet5():
    return LeNet5(), (1, 28, 28)


def build_lenet_rgb2():
    return LeNetRGB(2), (3, 32, 32)


def build_mlp():
    return MLP(), (1, 28, 28)


def build_resnet8():
    m = ResNet8()
    perturb_batchnorm(m)
    return m, (3, 32, 32)


# name, builder, seed, eval-mode export setting
CLASSIC = [
    ("lenet5", build_lenet5, 0, torch.onnx.TrainingMode.EVAL),
    ("mlp", build_mlp, 1, torch.onnx.TrainingMode.EVAL),
    ("resnet8", build_resnet8, 2, torch.onnx.TrainingMode.PRESERVE),
    ("lenet_rgb2", build_lenet_rgb2, 3, torch.onnx.TrainingMode.EVAL),
]
CLASSIC_NAMES = [c[0] for c in CLASSIC]

# models/zoo.py models committed as zoo.export writes them
ZOO_COMMITTED = ["cnn_bn", "mobilenet_v2", "gru_text", "lstm_tagger", "transformer", "unet",
                 "unet_upsample", "autoencoder"]
# exported only when named: ResNet-18's two exports are ~45 MB each
ZOO_ON_REQUEST = ["resnet18"]


def load_zoo():
    sys.path.insert(0, HERE)
    import zoo
    return zoo


def file_name(name, mode):
    """mode "eval" -> NAME.onnx, "train" -> NAME.train.onnx."""
    return name + (".train.onnx" if mode == "train" else ".onnx")


def committed_zoo_file(name, mode):
    """The committed file that equals zoo.export(name, zoo.build(name), mode),
    or None (the classic models' files come from CLASSIC, not from zoo.py;
    resnet18 is not committed). A model whose two exports are the same bytes
    has only NAME.onnx."""
    if name not in ZOO_COMMITTED:
        return None
    path = os.path.join(HERE, file_name(name, mode))
    if mode == "train" and not os.path.exists(path):
        path = os.path.join(HERE, file_name(name, "eval"))
    return path


def dims(vi):
    out = []
    for d in vi.type.tensor_type.shape.dim:
        out.append(d.dim_param if d.dim_param else str(d.dim_value))
    return "x".join(out)


def check_initializers(name, model, proto):
    """Every initializer is a state_dict entry, and every parameter is present."""
    state = model.state_dict()
    inits = {i.name for i in proto.graph.initializer}
    extra = sorted(inits - set(state))
    missing = sorted(n for n, _ in model.named_parameters() if n not in inits)
    if extra or missing:
        sys.exit(f"{name}: initializer names differ from PyTorch: "
                 f"unexpected {extra}, missing parameters {missing}")
    if any(n.op_type == "Identity" for n in proto.graph.node):
        sys.exit(f"{name}: export produced Identity nodes (aliased initializers)")


def classic_bytes(name, builder, seed, mode):
    """The model and its export's bytes; a TRAINING export is of the module
    in train() mode."""
    torch.manual_seed(seed)
    model, in_shape = builder()
    model.train(mode == torch.onnx.TrainingMode.TRAINING)
    dummy = torch.randn(2, *in_shape)
    f = io.BytesIO()
    torch.onnx.export(
        model,
        dummy,
        f,
        export_params=True,
        opset_version=OPSET,
        do_constant_folding=False,
        training=mode,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        keep_initializers_as_inputs=False,
    )
    return model, f.getvalue()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def describe(path, nparams):
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    hist = collections.Counter(n.op_type for n in proto.graph.node)
    print(f"== {os.path.basename(path)}: {os.path.getsize(path)} bytes, "
          f"{nparams} parameters, {len(proto.graph.initializer)} initializers")
    for vi in proto.graph.input:
        print(f"   input  {vi.name} [{dims(vi)}]")
    for vi in proto.graph.output:
        print(f"   output {vi.name} [{dims(vi)}]")
    print("   ops    " + ", ".join(f"{op} {c}" for op, c in sorted(hist.items())))
    return proto


def export_classic(name, builder, seed, mode, out_dir):
    model, data = classic_bytes(name, builder, seed, mode)
    path = os.path.join(out_dir, file_name(name, "eval"))
    write(path, data)
    proto = describe(path, sum(p.numel() for p in model.parameters()))
    check_initializers(name, model, proto)
    if name == "resnet8" and not any(
            n.op_type == "BatchNormalization" for n in proto.graph.node):
        sys.exit("resnet8: BatchNormalization was folded away")

    model, train_data = classic_bytes(name, builder, seed, torch.onnx.TrainingMode.TRAINING)
    has_state = any(isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.Dropout))
                    for m in model.modules())
    if not has_state:
        if train_data != data:
            sys.exit(f"{name}: the training-mode export differs from the eval one, "
                     f"though the model has no BatchNorm or Dropout")
        return
    path = os.path.join(out_dir, file_name(name, "train"))
    write(path, train_data)
    check_initializers(name, model, describe(path, sum(p.numel() for p in model.parameters())))


def export_zoo(zoo, name, out_dir):
    written = {}
    for mode in ("eval", "train"):
        f = io.BytesIO()
        model = zoo.build(name)
        zoo.export(name, model, f, mode)
        written[mode] = f.getvalue()
    nparams = sum(p.numel() for p in model.parameters())
    path = os.path.join(out_dir, file_name(name, "eval"))
    write(path, written["eval"])
    describe(path, nparams)
    train_path = os.path.join(out_dir, file_name(name, "train"))
    if written["train"] == written["eval"]:
        print(f"   ({name}: the training-mode export is the same bytes; "
              f"no {os.path.basename(train_path)})")
        if os.path.exists(train_path):
            os.remove(train_path)
        return
    write(train_path, written["train"])
    describe(train_path, nparams)


def main(argv):
    ap = argparse.ArgumentParser(description="Export the sample models to ONNX.")
    ap.add_argument("--out", default=HERE, help="output folder (default: models/)")
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help="models to export (default: every committed one: "
                    + ", ".join(CLASSIC_NAMES + ZOO_COMMITTED) + "; also: "
                    + ", ".join(ZOO_ON_REQUEST) + ")")
    args = ap.parse_args(argv)
    known = CLASSIC_NAMES + ZOO_COMMITTED + ZOO_ON_REQUEST
    unknown = [n for n in args.names if n not in known]
    if unknown:
        ap.error(f"unknown model {', '.join(unknown)}; known: {', '.join(known)}")
    names = args.names or CLASSIC_NAMES + ZOO_COMMITTED
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    # the exporter's notes on num_batches_tracked, RNN batch sizes and
    # shape inference say nothing about these models
    warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
    zoo = load_zoo()
    for entry in CLASSIC:
        if entry[0] in names:
            export_classic(*entry, args.out)
    for name in ZOO_COMMITTED + ZOO_ON_REQUEST:
        if name in names:
            export_zoo(zoo, name, args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
