"""Differential test of one zoo model (models/zoo.py) against PyTorch, live.

Both exports of the model are checked (see models/zoo.py for what each
keeps), the files committed in models/ where they are the exports of
zoo.build (models/export.py: committed_zoo_file), else fresh ones:

  forward   `trainc run` on a batch against model.eval() in torch: relative
            L2 distance of the logits <= 1e-4.
  training  10 Adam steps (lr 1e-3) from the export's weights on the same
            batches, `trainc train` against torch.optim.Adam on the torch
            module in train() mode: every step's loss, and for the train
            export every weight and BatchNorm running statistic, within
            max(1e-4 relative, 4x the spread that float32 rounding alone gives
            PyTorch, measured by a second torch run from weights one ulp
            away). Dropout probabilities are 0 in the modules trained here,
            since no two implementations draw the same masks.
            The eval export of a model with BatchNorm folds it into the
            convolutions: a differently parametrised function, so no torch
            trajectory matches it. There the check is that it trains: 20
            Adam steps (lr 3e-3) on one batch bring the loss below 90% of its
            first value.

usage: /usr/bin/python3 model_zoo.py TRAINC SOURCE_DIR NAME
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from reference import compare_trajectory, initializers, relative, report, train_with_trainc

FORWARD_RTOL = 1e-4
STEPS = 10
TRAINS_STEPS = 20  # the "it trains" check of BatchNorm-folded eval exports
BATCH = {"resnet18": 4, "mobilenet_v2": 4}
DEFAULT_BATCH = 8


def load_module(source, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(source, "models",
                                                                     name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def model_file(zoo, export, name, mode, has_dropout, tmp):
    """The committed export (models/, see export.committed_zoo_file) when it
    is the one this test needs, else a fresh export in tmp. The trained
    modules have dropout 0, so a train export with Dropout is made here
    (the eval export drops Dropout anyway)."""
    committed = export.committed_zoo_file(name, mode)
    if committed and not (mode == "train" and has_dropout):
        print(f"{name}.{mode}: the committed {os.path.relpath(committed, export.HERE)}")
        return committed
    path = os.path.join(tmp, f"{name}.{mode}.onnx")
    zoo.export(name, zoo.build(name, dropout=0.0 if mode == "train" else None), path, mode)
    return path


def make_data(zoo, name, n, seed=1):
    """Inputs and targets for n samples: {"x": ..., "y": ...} (no "y" for the
    autoencoder, whose target is its input)."""
    x = zoo.sample_input(name, n, seed).numpy()
    target = zoo.ZOO[name][4]
    rng = np.random.default_rng(seed)
    if target == "input":
        return {"x": x}
    if target == "pixels":  # a segmentation a U-Net learns quickly: where x > 0
        return {"x": x, "y": (x > 0).astype(np.float32)}
    kind, classes = target
    shape = (n,) if kind == "classes" else (n,) + x.shape[1:]
    return {"x": x, "y": rng.integers(0, classes, shape).astype(np.int64)}


def torch_loss(zoo, name, out, data, lo, hi):
    loss = zoo.ZOO[name][3]
    if loss == "MSELoss":
        return F.mse_loss(out, torch.from_numpy(data["x"][lo:hi]))
    y = torch.from_numpy(data["y"][lo:hi])
    if loss == "BCEWithLogitsLoss":
        return F.binary_cross_entropy_with_logits(out, y)
    return F.cross_entropy(out, y)


def torch_run(zoo, name, init, data, batch, ulp):
    """PyTorch's 10 Adam steps from the ONNX weights `init` (None: the
    module's own, which an export renamed); with ulp, from weights one
    float32 ulp away. Returns (losses, final state)."""
    model = zoo.build(name, dropout=0.0)
    if init is None:
        init = {k: v.numpy() for k, v in model.state_dict().items()
                if not k.endswith("num_batches_tracked")}
    state = {}
    for k, v in init.items():
        if ulp and v.dtype == np.float32:
            v = np.nextafter(v, np.float32(np.inf)).astype(np.float32)
        state[k] = torch.from_numpy(v.copy())
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), missing
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for s in range(STEPS):
        opt.zero_grad()
        x = torch.from_numpy(data["x"][s * batch:(s + 1) * batch])
        l = torch_loss(zoo, name, model(x), data, s * batch, (s + 1) * batch)
        l.backward()
        opt.step()
        losses.append(l.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()
                    if not k.endswith("num_batches_tracked")}


def spec_for(zoo, name, npz, batch, lr=1e-3):
    loss = {"type": zoo.ZOO[name][3], "input": "logits",
            "target": "x" if zoo.ZOO[name][4] == "input" else "y"}
    return {"inputs": {"input": "x"}, "loss": loss,
            "optimizer": {"type": "Adam", "lr": lr},
            "data": {"train": {"format": "npz", "path": npz}},
            "batch_size": batch, "epochs": 1, "shuffle": False, "log_interval": 1}


def check_forward(trainc, zoo, name, onnx_path, tmp):
    model = zoo.build(name)
    # Tracing a train() module for the train export ran its forward once,
    # moving the BatchNorm running statistics: take them from the export.
    state = model.state_dict()
    model.load_state_dict({k: torch.from_numpy(v.copy())
                           for k, v in initializers(onnx_path).items() if k in state},
                          strict=False)
    model.eval()
    x = zoo.sample_input(name, 3, seed=2)
    with torch.no_grad():
        want = model(x).numpy()
    xin = os.path.join(tmp, "forward_x.npy")
    np.save(xin, x.numpy())
    outdir = os.path.join(tmp, "forward_out")
    r = subprocess.run([trainc, "run", onnx_path, "--input", f"input={xin}",
                        "--output-dir", outdir], capture_output=True, text=True)
    if r.returncode != 0:
        return [f"trainc run failed ({r.returncode}): {r.stderr.strip()}"]
    got = np.load(os.path.join(outdir, "logits.npy"))
    if got.shape != want.shape:
        return [f"forward: logits shape {got.shape}, torch {want.shape}"]
    rel = relative(got, want)
    return [] if rel <= FORWARD_RTOL else [f"forward: relative L2 difference {rel:.3g} > "
                                           f"{FORWARD_RTOL}"]


def check_trajectory(trainc, zoo, name, onnx_path, tmp, tag, compare_weights):
    batch = BATCH.get(name, DEFAULT_BATCH)
    data = make_data(zoo, name, STEPS * batch)
    npz = os.path.join(tmp, f"{tag}.npz")
    np.savez(npz, **data)
    records, trained, error = train_with_trainc(trainc, tmp, tag, onnx_path,
                                                spec_for(zoo, name, npz, batch))
    if error:
        return [error]
    ours = [r["loss"] for r in records]
    init = initializers(onnx_path) if compare_weights else None
    theirs, weights = torch_run(zoo, name, init, data, batch, ulp=False)
    nudged_losses, nudged = torch_run(zoo, name, init, data, batch, ulp=True)
    if not compare_weights:
        return compare_trajectory(STEPS, ours, theirs, nudged_losses)
    return compare_trajectory(STEPS, ours, theirs, nudged_losses, trained, weights, nudged)


def check_trains(trainc, zoo, name, onnx_path, tmp, tag):
    batch = BATCH.get(name, DEFAULT_BATCH)
    one = make_data(zoo, name, batch)
    data = {k: np.concatenate([v] * TRAINS_STEPS) for k, v in one.items()}
    npz = os.path.join(tmp, f"{tag}.npz")
    np.savez(npz, **data)
    records, _, error = train_with_trainc(trainc, tmp, tag, onnx_path,
                                          spec_for(zoo, name, npz, batch, lr=3e-3))
    if error:
        return [error]
    losses = [r["loss"] for r in records]
    if len(losses) != TRAINS_STEPS or not losses[-1] < 0.9 * losses[0]:
        return [f"{TRAINS_STEPS} steps on one batch: loss {losses[0]:.6g} -> {losses[-1]:.6g}, "
                f"expected below 90% of the first"]
    return []


def main():
    trainc, source, name = sys.argv[1], sys.argv[2], sys.argv[3]
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    zoo = load_module(source, "zoo")
    export = load_module(source, "export")
    modules = list(zoo.build(name).modules())
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in modules)
    has_dropout = any(isinstance(m, torch.nn.Dropout) for m in modules)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("train", "eval"):
            path = model_file(zoo, export, name, mode, has_dropout, tmp)
            results.append((f"{name}.{mode} forward", check_forward(trainc, zoo, name, path, tmp)))
            if mode == "eval" and has_bn:
                results.append((f"{name}.{mode} trains",
                                check_trains(trainc, zoo, name, path, tmp, f"{name}.{mode}")))
            else:
                results.append((f"{name}.{mode} 10 Adam steps",
                                check_trajectory(trainc, zoo, name, path, tmp, f"{name}.{mode}",
                                                 compare_weights=mode == "train")))
    sys.exit(report(results))


if __name__ == "__main__":
    main()
