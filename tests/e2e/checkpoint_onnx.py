"""Checkpoints are ONNX models that any ONNX tool reads (runtime/tc_checkpoint.h).

LeNet-5 is trained for a few Adam steps with a checkpoint after every step,
then the newest checkpoint is read with the `onnx` package alone: it loads
and passes onnx.checker, protobuf re-encodes it to the same bytes, every
initializer converts with numpy_helper.to_array, the parameters are bitwise
the weights `trainc train --out` wrote at the same point, the optimizer
state is there under "<param>.exp_avg" / "<param>.exp_avg_sq" with the
parameter's shape and dtype, trainc.kinds tells them apart, the position
metadata says where training stands, and the trainc.crc32 entry is the last
26 bytes and the CRC-32 of everything before it. prev.onnx is the
checkpoint before. ResNet-8 on random images does the same for BatchNorm running
statistics (kind 'b'), and a checkpoint edited by an ONNX tool is refused
on --resume (its checksum no longer matches) in favour of prev.onnx.

usage: /usr/bin/python3 checkpoint_onnx.py TRAINC SOURCE_DIR
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import onnx
import onnx.checker
import onnx.numpy_helper

FASHION = "/usr/share/datasets/fashion-mnist"
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""),
          flush=True)
    return ok


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def write_spec(tmp, name, optimizer, batch, images, labels, epochs):
    np.savez(os.path.join(tmp, f"{name}.npz"), image=images, label=labels)
    spec = {
        "inputs": {"input": "image"},
        "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
        "optimizer": optimizer,
        "data": {"train": {"format": "npz", "path": f"{name}.npz"},
                 "transforms": [{"type": "ToTensor"},
                                {"type": "Normalize", "mean": [0.5], "std": [0.25]}]},
        "batch_size": batch, "epochs": epochs, "shuffle": True, "seed": 3,
        "log_interval": 100,
    }
    path = os.path.join(tmp, f"{name}.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def train(trainc, model, spec, tmp, args):
    p = subprocess.run([trainc, "train", model, "--spec", spec] + args, cwd=tmp,
                       capture_output=True, text=True, timeout=300)
    return p.returncode, p.stderr


def initializers(model):
    return {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}


def check_checkpoint(label, path, out, state_names, nsteps):
    """The checks every checkpoint passes; returns (arrays, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        m = onnx.load(path)
    except Exception as e:  # noqa: BLE001 - report any failure to parse
        check(f"{label}: onnx.load reads it", False, str(e))
        return {}, {}
    check(f"{label}: onnx.load reads it", True)
    try:
        onnx.checker.check_model(m)
        checked = ""
    except Exception as e:  # noqa: BLE001
        checked = str(e)
    check(f"{label}: onnx.checker accepts it", not checked, checked)
    check(f"{label}: producer trainc, ir_version 8, opset 17",
          m.producer_name == "trainc" and m.ir_version == 8 and
          [(o.domain, o.version) for o in m.opset_import] == [("", 17)])
    check(f"{label}: protobuf re-encodes it to the same bytes", m.SerializeToString() == data)
    meta = {p.key: p.value for p in m.metadata_props}
    keys = ["trainc.format", "trainc.fingerprint", "trainc.epoch", "trainc.batch",
            "trainc.batches_per_epoch", "trainc.steps", "trainc.sched.last_epoch",
            "trainc.sched.values", "trainc.runtime_state.values", "trainc.kinds", "trainc.crc32"]
    check(f"{label}: the metadata keys, in order", [p.key for p in m.metadata_props] == keys,
          str([p.key for p in m.metadata_props]))
    check(f"{label}: trainc.crc32 is the last 26 bytes and the CRC-32 of the rest",
          data[-26:-8] == b"\x72\x18\x0a\x0ctrainc.crc32\x12\x08" and
          zlib.crc32(data[:-26]) == int(meta.get("trainc.crc32", "-1"), 16))
    check(f"{label}: trainc.steps is {nsteps}", meta.get("trainc.steps") == str(nsteps),
          meta.get("trainc.steps"))
    try:
        arrays = initializers(m)
    except Exception as e:  # noqa: BLE001
        check(f"{label}: numpy_helper.to_array converts every initializer", False, str(e))
        return {}, meta
    check(f"{label}: numpy_helper.to_array converts every initializer",
          len(arrays) == len(m.graph.initializer))
    kinds = dict(zip([t.name for t in m.graph.initializer], meta.get("trainc.kinds", "")))
    check(f"{label}: trainc.kinds has a letter per initializer",
          len(meta.get("trainc.kinds", "")) == len(m.graph.initializer))

    # parameters and buffers: bitwise the weights --out wrote
    trained = initializers(onnx.load(out))
    saved = {k: v for k, v in arrays.items() if kinds.get(k) in ("p", "b")}
    missing = [k for k in saved if k not in trained]
    differ = [k for k in saved if k in trained and (saved[k].dtype != trained[k].dtype or
                                                   saved[k].shape != trained[k].shape or
                                                   saved[k].tobytes() != trained[k].tobytes())]
    check(f"{label}: {len(saved)} parameters and buffers, bitwise those of --out",
          saved and not missing and not differ, f"missing {missing[:5]}, differ {differ[:5]}")

    # optimizer state: "<param>.<state>", the parameter's shape and dtype
    params = [k for k in arrays if kinds.get(k) == "p"]
    want = {f"{p}.{s}" for p in params for s in state_names}
    state = {k for k in arrays if kinds.get(k) == "s"}
    check(f"{label}: optimizer state named <param>.{{{','.join(state_names)}}}", state == want,
          f"extra {sorted(state - want)[:5]}, missing {sorted(want - state)[:5]}")
    shaped = all(arrays[f"{p}.{s}"].shape == arrays[p].shape and
                 arrays[f"{p}.{s}"].dtype == arrays[p].dtype
                 for p in params for s in state_names if f"{p}.{s}" in arrays)
    check(f"{label}: state has its parameter's shape and dtype", shaped)
    live = all(np.isfinite(arrays[k]).all() and np.any(arrays[k] != 0) for k in state)
    check(f"{label}: state is finite and not all zero after {nsteps} steps", live)
    return arrays, meta


def main():
    trainc, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        # LeNet-5, Adam: 3 batches of 32, 2 epochs, a checkpoint every step
        images = idx(f"{FASHION}/train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
        labels = idx(f"{FASHION}/train-labels-idx1-ubyte.gz", 8).astype(np.int64)
        batches, epochs = 3, 2
        spec = write_spec(tmp, "lenet", {"type": "Adam", "lr": 0.002}, 32, images[:96],
                          labels[:96], epochs)
        ckpt, out = os.path.join(tmp, "ckpt"), os.path.join(tmp, "lenet_out.onnx")
        rc, err = train(trainc, os.path.join(source, "models", "lenet5.onnx"), spec, tmp,
                        ["--checkpoint.dir", ckpt, "--checkpoint-every-steps", "1", "--out", out])
        if not check("LeNet-5: trainc train with checkpoints", rc == 0, err[-500:]):
            return
        steps = batches * epochs
        check("LeNet-5: the folder holds last.onnx, prev.onnx and the lock only",
              sorted(os.listdir(ckpt)) == ["last.onnx", "lock", "prev.onnx"],
              str(os.listdir(ckpt)))
        last = os.path.join(ckpt, "last.onnx")
        arrays, meta = check_checkpoint("LeNet-5 last.onnx", last, out,
                                        ["exp_avg", "exp_avg_sq"], steps)
        names = {t.name for t in onnx.load(os.path.join(source, "models", "lenet5.onnx"))
                 .graph.initializer}
        check("LeNet-5: the parameters keep the model's names",
              {k for k, kind in zip(arrays, meta.get("trainc.kinds", "")) if kind == "p"} ==
              names)
        check("LeNet-5: the position is the end of training",
              meta.get("trainc.epoch") == str(epochs) and meta.get("trainc.batch") == "0" and
              meta.get("trainc.batches_per_epoch") == str(batches),
              str({k: v for k, v in meta.items() if k != "trainc.sched.values"}))
        lr = meta.get("trainc.sched.values", "").split(" ")
        check("LeNet-5: the scheduler value is the lr, exactly", lr == ["0.002"] or
              (len(lr) == 1 and float(lr[0]) == 0.002), str(lr))
        prev_meta = {p.key: p.value for p in onnx.load(os.path.join(ckpt, "prev.onnx"))
                     .metadata_props}
        # the end of an epoch saves again after its last step's checkpoint
        where = [(int(x.get("trainc.epoch", -1)), int(x.get("trainc.batch", -1)))
                 for x in (prev_meta, meta)]
        check("LeNet-5: prev.onnx is the checkpoint before",
              prev_meta.get("trainc.steps") in (str(steps - 1), str(steps)) and
              where[0] < where[1], f"{prev_meta.get('trainc.steps')} at {where}")

        # an ONNX tool edits last.onnx: refused on --resume, prev.onnx serves
        m = onnx.load(last)
        w = m.graph.initializer[0]
        a = onnx.numpy_helper.to_array(w).copy()
        a.flat[0] += 1
        w.CopyFrom(onnx.numpy_helper.from_array(a, w.name))
        onnx.save(m, last)
        rc, err = train(trainc, os.path.join(source, "models", "lenet5.onnx"), spec, tmp,
                        ["--checkpoint.dir", ckpt, "--resume", "--out", out])
        check("an edited last.onnx is refused (checksum), prev.onnx serves",
              rc == 0 and f"{last}: the checkpoint is corrupt: checksum" in err and
              "falling back to " + os.path.join(ckpt, "prev.onnx") in err, err[-500:])

        # ResNet-8 (BatchNorm), SGD with momentum, random images: the buffers
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, size=(16, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=16).astype(np.int64)
        spec = write_spec(tmp, "resnet", {"type": "SGD", "lr": 0.01, "momentum": 0.9}, 8,
                          images, labels, 1)
        ckpt, out = os.path.join(tmp, "ckpt_resnet"), os.path.join(tmp, "resnet_out.onnx")
        rc, err = train(trainc, os.path.join(source, "models", "resnet8.onnx"), spec, tmp,
                        ["--checkpoint.dir", ckpt, "--checkpoint-every-steps", "1", "--out", out])
        if check("ResNet-8: trainc train with checkpoints", rc == 0, err[-500:]):
            arrays, meta = check_checkpoint("ResNet-8 last.onnx", os.path.join(ckpt, "last.onnx"),
                                            out, ["momentum_buffer"], 2)
            kinds = dict(zip(arrays, meta.get("trainc.kinds", "")))
            buffers = {k for k, v in kinds.items() if v == "b"}
            check("ResNet-8: the BatchNorm running statistics are buffers ('b')",
                  buffers and all(k.endswith((".running_mean", ".running_var")) for k in buffers)
                  and len(buffers) == 18, str(sorted(buffers)[:6]))


if __name__ == "__main__":
    main()
    passed = sum(results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not results else 0)
