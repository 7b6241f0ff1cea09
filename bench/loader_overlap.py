#!/usr/bin/python3
"""Does data preparation stall training? LeNet (models/lenet_rgb2.onnx,
3x32x32, batch 64, ToTensor + Normalize) trained on images decoded from PNG
files (an image folder) against the same images pre-decoded in an NPZ, with
the loader's worker threads (num_workers 2, the default on 2+ cores) and
without (num_workers 0: each batch is decoded inside tc_loader_next, between
steps).

    /usr/bin/python3 bench/loader_overlap.py [BUILD_DIR] [--per-class N] [--epochs E]

build/bench/tc_loader_bench trains as `trainc train` does and splits each
batch's wall time into the wait in tc_loader_next (data preparation that
did not overlap the previous step) and train_step itself. Printed per
setting: wall ms per batch, of which waiting and stepping. With workers the
wait should be near zero and the PNG run as fast as the NPZ run, provided a
core is free for the workers: on a loaded machine they compete with the step.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TRANSFORMS = [{"type": "ToTensor"},
              {"type": "Normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}]


def png_to_array(path):
    """Decodes the 8-bit RGB PNGs make_two_class_images.py writes (filter 0)."""
    import struct
    import zlib
    data = open(path, "rb").read()
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        n, tag = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if tag == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    return raw[:, 1:].reshape(h, w, 3).transpose(2, 0, 1)


def bench(build, spec_path, epochs):
    r = subprocess.run([os.path.join(build, "bench", "tc_loader_bench"),
                        os.path.join(ROOT, "models", "lenet_rgb2.onnx"), spec_path, str(epochs)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr)
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    ap.add_argument("--per-class", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "two_class")
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts",
                                                         "make_two_class_images.py"),
                        folder, "--train", str(args.per_class), "--valid", "1", "--test", "1",
                        "--sizes", "32", "32"], check=True, capture_output=True)
        train = os.path.join(folder, "train")
        classes = sorted(os.listdir(train))
        images, labels = [], []
        for k, c in enumerate(classes):
            for f in sorted(os.listdir(os.path.join(train, c))):
                images.append(png_to_array(os.path.join(train, c, f)))
                labels.append(k)
        npz = os.path.join(tmp, "two_class.npz")
        np.savez(npz, image=np.stack(images), label=np.array(labels, np.int64))
        settings = [("PNG image folder", {"format": "imagefolder", "root": train}),
                    ("pre-decoded NPZ", {"format": "npz", "path": npz})]
        print(f"LeNet 3x32x32, {len(labels)} samples, batch 64, {args.epochs} epochs, "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        rows = {}
        for workers in (0, 2):
            for name, data in settings:
                spec = json.load(open(os.path.join(ROOT, "models", "lenet_rgb2.json")))
                spec["data"] = {"train": dict(data, transforms=TRANSFORMS)}
                spec["batch_size"] = 64
                spec["num_workers"] = workers
                spec_path = os.path.join(tmp, "spec.json")
                json.dump(spec, open(spec_path, "w"))
                r = bench(args.build, spec_path, args.epochs)
                rows[(name, workers)] = r
                print(f"  {name:16s} num_workers {workers}: {r['wall_ms_per_batch']:6.2f} ms "
                      f"per batch = wait {r['wait_ms_per_batch']:6.2f} + step "
                      f"{r['step_ms_per_batch']:6.2f} (medians: wait "
                      f"{r['wait_median_ms']:.2f}, step {r['step_median_ms']:.2f})")
        for w in (0, 2):
            ratio = (rows[("PNG image folder", w)]["wall_ms_per_batch"] /
                     rows[("pre-decoded NPZ", w)]["wall_ms_per_batch"])
            print(f"  PNG / NPZ time per batch, num_workers {w}: {ratio:.2f}")


if __name__ == "__main__":
    main()
