#!/usr/bin/python3
"""Write a small 2-class image folder for the classic LeNet example.

    /usr/bin/python3 scripts/make_two_class_images.py OUT_DIR [--train N] [--valid N] [--test N]
                                                      [--sizes MIN MAX] [--seed S]

Takes two Fashion-MNIST classes (T-shirt/top and Sneaker) from
/usr/share/datasets/fashion-mnist/ (Debian's dataset-fashion-mnist) and
writes them as colour PNGs of varied sizes in torchvision's ImageFolder
layout:

    OUT_DIR/train/sneaker/00000.png   (N per class, from the training set)
    OUT_DIR/train/tshirt/...
    OUT_DIR/valid/...                 (from the test set)
    OUT_DIR/test/...                  (from the test set, disjoint from valid:
                                       held-out images for trainc predict)

Each 28x28 grey image is scaled (bilinear) to a random size between 28 and
48 pixels per side (--sizes) and coloured: a random dark background and a random bright
foreground, mixed by the grey level. The output is a pure function of the
arguments (seeded). Needs only numpy and zlib: PNGs are written by hand.
"""

import argparse
import gzip
import os
import struct
import sys
import zlib

import numpy as np

FMNIST = "/usr/share/datasets/fashion-mnist"
CLASSES = {"tshirt": 0, "sneaker": 7}  # folder name -> Fashion-MNIST label


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_png(path, rgb):
    """rgb: uint8 [H, W, 3]."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag, body):
        return (struct.pack(">I", len(body)) + tag + body +
                struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" +
           chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def resize_bilinear(img, h, w):
    """img: float [H0, W0] -> [h, w], half-pixel centres."""
    h0, w0 = img.shape
    ys = np.clip((np.arange(h) + 0.5) * h0 / h - 0.5, 0, h0 - 1)
    xs = np.clip((np.arange(w) + 0.5) * w0 / w - 0.5, 0, w0 - 1)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, h0 - 1)
    x1 = np.minimum(x0 + 1, w0 - 1)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bot = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bot * fy


def colour_image(grey, rng, sizes):
    h, w = rng.integers(sizes[0], sizes[1] + 1, size=2)
    a = resize_bilinear(grey.astype(np.float64) / 255.0, int(h), int(w))[:, :, None]
    bg = rng.integers(0, 90, size=3)
    fg = rng.integers(150, 256, size=3)
    return np.clip(np.rint(bg * (1 - a) + fg * a), 0, 255).astype(np.uint8)


def write_split(out, split, images, labels, per_class, offset, rng, sizes):
    for name, label in sorted(CLASSES.items()):
        folder = os.path.join(out, split, name)
        os.makedirs(folder, exist_ok=True)
        idx = np.flatnonzero(labels == label)[offset:offset + per_class]
        if len(idx) < per_class:
            sys.exit(f"not enough images of class {name} for {split}")
        for k, i in enumerate(idx):
            write_png(os.path.join(folder, f"{k:05d}.png"), colour_image(images[i], rng, sizes))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=500, help="images per class (default 500)")
    ap.add_argument("--valid", type=int, default=100, help="images per class (default 100)")
    ap.add_argument("--test", type=int, default=100, help="images per class (default 100)")
    ap.add_argument("--sizes", type=int, nargs=2, default=[28, 48], metavar=("MIN", "MAX"),
                    help="side lengths drawn from MIN..MAX (default 28 48)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    tr_x = read_idx(os.path.join(FMNIST, "train-images-idx3-ubyte.gz"))
    tr_y = read_idx(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz"))
    te_x = read_idx(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"))
    te_y = read_idx(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"))
    write_split(args.out, "train", tr_x, tr_y, args.train, 0, rng, args.sizes)
    write_split(args.out, "valid", te_x, te_y, args.valid, 0, rng, args.sizes)
    write_split(args.out, "test", te_x, te_y, args.test, args.valid, rng, args.sizes)
    print(f"wrote {args.out}/{{train,valid,test}}/{{{','.join(sorted(CLASSES))}}}/*.png")


if __name__ == "__main__":
    main()
