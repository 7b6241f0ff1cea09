"""A short training run under valgrind memcheck: no invalid access, no
uninitialised value deciding a jump, no definite leak.

The run is a standalone trainer (`trainc build`: the compiled step linked
with the runtime, no LLVM), so memcheck sees the runtime itself: IDX
(gzip) and NPZ loading, the loader with its prefetch thread, the training
loop with validation, metrics, checkpoints (written, then resumed from) and
the ONNX writer. (`trainc train` under memcheck works too, but the JIT
makes it take minutes: valgrind's CPU differs from the host's, so the
compile cache never hits.)

usage: /usr/bin/python3 valgrind.py TRAINC SOURCE_DIR
"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

ERROR_EXIT = 99


def write_idx_gz(path, array):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 0x08, array.ndim))
        f.write(struct.pack(">%dI" % array.ndim, *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def memcheck(argv, cwd):
    cmd = ["valgrind", "--tool=memcheck", "--leak-check=full",
           "--errors-for-leak-kinds=definite", "--track-origins=yes",
           "--error-exitcode=%d" % ERROR_EXIT] + argv
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600)


def main():
    trainc, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if not shutil.which("valgrind"):
        print("FAIL valgrind is not installed (Debian package valgrind)")
        return 1
    results = []

    def check(name, r, code=0):
        """r must exit with `code` (not ERROR_EXIT) and memcheck report no error."""
        ok = r.returncode == code and "ERROR SUMMARY: 0 errors" in r.stderr
        results.append(ok)
        print(("ok   " if ok else "FAIL ") + name +
              ("" if ok else ": exit %d\n%s" % (r.returncode, r.stderr[-4000:])))

    with tempfile.TemporaryDirectory(prefix="tc_valgrind_") as tmp:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (24, 28, 28))
        labels = rng.integers(0, 10, 24)
        write_idx_gz(os.path.join(tmp, "train-images.gz"), images)
        write_idx_gz(os.path.join(tmp, "train-labels.gz"), labels)
        np.savez(os.path.join(tmp, "valid.npz"), image=images[:8, None].astype(np.uint8),
                 label=labels[:8].astype(np.int64))
        spec = {"inputs": {"input": "image"},
                "loss": {"type": "CrossEntropyLoss", "input": "logits", "target": "label"},
                "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9},
                "data": {"train": {"format": "idx", "images": "train-images.gz",
                                   "labels": "train-labels.gz"},
                         "valid": {"format": "npz", "path": "valid.npz"},
                         "transforms": [{"type": "ToTensor"},
                                        {"type": "Normalize", "mean": [0.5], "std": [0.25]}]},
                "batch_size": 8, "epochs": 2, "shuffle": True, "seed": 1}
        spec_path = os.path.join(tmp, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        # valgrind (3.19) runs no AVX-512: the step is compiled for AVX2
        r = subprocess.run([trainc, "build", os.path.join(source, "models", "mlp.onnx"),
                            "--spec", spec_path, "-o", os.path.join(tmp, "trainer"),
                            "--cpu", "x86-64-v3"],
                           capture_output=True, text=True, cwd=tmp)
        if r.returncode != 0:
            print("FAIL trainc build: " + r.stderr[-1000:])
            return 1
        trainer = os.path.join(tmp, "trainer")
        check("2 epochs with validation, metrics and checkpoints",
              memcheck([trainer, "--out", "a.onnx", "--metrics", "m.jsonl",
                        "--checkpoint-dir", "ckpt"], tmp))
        check("resumed for a third epoch",
              memcheck([trainer, "--epochs", "3", "--resume", "--checkpoint-dir", "ckpt",
                        "--out", "b.onnx"], tmp))
        check("a bad data file is refused cleanly (exit 2)",
              memcheck([trainer, "--train", "spec.json", "--out", "c.onnx"], tmp), code=2)
    print("%d passed, %d failed" % (sum(results), len(results) - sum(results)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
