"""End-to-end: `trainc train` with no model arguments trains LeNet-5 on
Fashion-MNIST (batch 64, SGD lr 0.01 momentum 0.9, 2 epochs) and must reach
at least 85% test accuracy (PyTorch reaches about 87% with this set-up).
The model it writes with --out must pass onnx.checker, and its logits under
`trainc run` must equal PyTorch's for the same trained weights.

usage: /usr/bin/python3 train_lenet.py TRAINC SOURCE_DIR
"""
import gzip
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper
import torch

ACCURACY_FLOOR = 0.85
LOGIT_ATOL, LOGIT_RTOL = 1e-5, 1e-4  # float32 sums of a few hundred products
FASHION = "/usr/share/datasets/fashion-mnist"

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail else ""))


def main():
    trainc, source = os.path.abspath(sys.argv[1]), sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "lenet5.trained.onnx")
        metrics = os.path.join(tmp, "metrics.jsonl")
        r = subprocess.run([trainc, "train", "--out", out, "--metrics", metrics],
                           capture_output=True, text=True, cwd=tmp)
        print(r.stdout[-2000:], end="")
        check("trainc train exits 0", r.returncode == 0, r.stderr.strip()[-500:])
        if r.returncode != 0:
            return
        lines = r.stdout.splitlines()
        check("progress lines", any(l.startswith("Training:Epoch[001/002] Iteration[") for l in lines)
              and any(l.startswith("Valid:  Epoch[002/002] Loss: ") for l in lines))
        records = [json.loads(l) for l in open(metrics)]
        valid = [x for x in records if x["kind"] == "valid"]
        train = [x for x in records if x["kind"] == "train"]
        check("metrics log has every step", len(train) == 2 * 938, f"{len(train)} train records")
        acc = valid[-1]["acc"] if valid else 0
        check(f"test accuracy >= {ACCURACY_FLOOR:.0%}", acc >= ACCURACY_FLOOR, f"{acc:.4f}")

        try:
            onnx.checker.check_model(onnx.load(out))
            check("onnx.checker accepts the trained model", True)
        except Exception as e:  # the checker raises its own exception types
            check("onnx.checker accepts the trained model", False, str(e))

        with gzip.open(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")) as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16)[:256 * 784].reshape(256, 1, 28, 28)
        x = ((images.astype(np.float32) / np.float32(255)) - np.float32(0.2860)) / np.float32(0.3530)
        np.save(os.path.join(tmp, "x.npy"), x)
        outdir = os.path.join(tmp, "run")
        r = subprocess.run([trainc, "run", out, "--input", "input=" + os.path.join(tmp, "x.npy"),
                            "--output-dir", outdir], capture_output=True, text=True)
        check("trainc run on the trained model", r.returncode == 0, r.stderr.strip())
        if r.returncode != 0:
            return
        ours = np.load(os.path.join(outdir, "logits.npy"))
        spec = importlib.util.spec_from_file_location("export", os.path.join(source, "models", "export.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        model = mod.LeNet5()
        weights = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy())
                   for t in onnx.load(out).graph.initializer}
        model.load_state_dict(weights)
        model.eval()
        with torch.no_grad():
            theirs = model(torch.from_numpy(x)).numpy()
        err = np.abs(ours - theirs) - (LOGIT_ATOL + LOGIT_RTOL * np.abs(theirs))
        check("trained logits equal PyTorch's", ours.shape == theirs.shape and err.max() <= 0,
              f"max excess {err.max():.3g}")


if __name__ == "__main__":
    main()
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if results and all(results) else 1)
