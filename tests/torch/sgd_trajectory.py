"""Differential test: trainc's training trajectory against PyTorch's, live.

From the same ONNX initial weights and the same batches (an NPZ of real
Fashion-MNIST samples, unshuffled), trains 50 steps with `trainc train` and
with torch.optim.SGD on the equivalent torch.nn model, and compares every
step's loss (1e-4 relative) and the final weights (1e-4 relative L2 norm of
the difference), as the training issue requires.

Float32 rounding alone moves a 50-step trajectory: PyTorch against itself,
started from weights perturbed by one float32 ulp, already differs by up to
3e-4 relative on some tensors with weight decay. So each tensor's (and each
step's loss) tolerance is max(1e-4 relative, 4 x that measured spread): the
limit float32 rounding sets, measured in the same run, never a number
chosen to pass.

usage: /usr/bin/python3 sgd_trajectory.py TRAINC SOURCE_DIR
"""
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

STEPS, BATCH = 50, 64
from reference import (compare_trajectory, fashion, initializers, load_models, report, synthetic,
                       train_with_trainc)


def run_case(trainc, source, tmp, name, model_cls, onnx_path, loss, optim, steps=None, batch=None):
    global STEPS, BATCH
    STEPS, BATCH = steps or 50, batch or 64
    n = STEPS * BATCH
    x, y = synthetic(n, (3, 32, 32)) if "resnet" in name else fashion(n)
    data = {"image": x, "label": y}
    if loss == "MSELoss":
        data["target"] = np.eye(10, dtype=np.float32)[y]
    npz = os.path.join(tmp, name + ".npz")
    np.savez(npz, **data)
    spec = {
        "inputs": {"input": "image"},
        "loss": {"type": loss, "input": "logits", "target": "label" if loss != "MSELoss" else "target"},
        "optimizer": dict(type="SGD", **optim),
        "data": {"train": {"format": "npz", "path": npz}},
        "batch_size": BATCH, "epochs": 1, "shuffle": False, "log_interval": 10,
    }
    records, trained, error = train_with_trainc(trainc, tmp, name, onnx_path, spec)
    if error:
        return [error]
    ours = [r["loss"] for r in records]

    init = initializers(onnx_path)
    theirs, weights = torch_run(model_cls, init, x, y, data, loss, optim, ulp=False)
    nudged_losses, nudged = torch_run(model_cls, init, x, y, data, loss, optim, ulp=True)

    return compare_trajectory(STEPS, ours, theirs, nudged_losses, trained, weights, nudged)


def torch_run(model_cls, init, x, y, data, loss, optim, ulp):
    """PyTorch's trajectory; with ulp, from weights one float32 ulp away."""
    model = model_cls()
    state = {k: torch.from_numpy(v.copy()) for k, v in init.items()}
    if ulp:
        state = {k: torch.from_numpy(np.nextafter(v, np.float32(np.inf)).astype(v.dtype))
                 for k, v in init.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), missing
    opt = torch.optim.SGD(model.parameters(), **optim)
    losses = []
    for s in range(STEPS):
        xb = torch.from_numpy(x[s * BATCH:(s + 1) * BATCH])
        opt.zero_grad()
        logits = model(xb)
        if loss == "MSELoss":
            l = F.mse_loss(logits, torch.from_numpy(data["target"][s * BATCH:(s + 1) * BATCH]))
        else:
            l = F.cross_entropy(logits, torch.from_numpy(y[s * BATCH:(s + 1) * BATCH]))
        l.backward()
        opt.step()
        losses.append(l.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()
                    if not k.endswith("num_batches_tracked")}


def main():
    trainc, source = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    m = load_models(source)
    cases = [
        ("lenet_momentum", m.LeNet5, "lenet5.onnx", "CrossEntropyLoss", dict(lr=0.01, momentum=0.9)),
        ("lenet_weight_decay", m.LeNet5, "lenet5.onnx", "CrossEntropyLoss",
         dict(lr=0.01, momentum=0.9, weight_decay=5e-4)),
        ("lenet_nesterov", m.LeNet5, "lenet5.onnx", "CrossEntropyLoss",
         dict(lr=0.01, momentum=0.9, nesterov=True)),
        ("lenet_dampening", m.LeNet5, "lenet5.onnx", "CrossEntropyLoss",
         dict(lr=0.01, momentum=0.5, dampening=0.3)),
        ("mlp_mse", m.MLP, "mlp.onnx", "MSELoss", dict(lr=0.05, momentum=0.9)),
        ("mlp_plain_sgd", m.MLP, "mlp.onnx", "CrossEntropyLoss", dict(lr=0.1)),
        # BatchNorm in training mode: batch statistics, running-stat updates
        ("resnet8_batchnorm", m.ResNet8, "resnet8.onnx", "CrossEntropyLoss",
         dict(lr=0.01, momentum=0.9), 10, 16),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(report((name, run_case(trainc, source, tmp, name, cls,
                                        os.path.join(source, "models", onnx_name), loss, optim,
                                        *size))
                        for name, cls, onnx_name, loss, optim, *size in cases))

if __name__ == "__main__":
    main()
