#!/usr/bin/python3
"""Write small, learnable synthetic datasets for the model zoo's specs.

    /usr/bin/python3 scripts/make_zoo_data.py OUT_DIR [NAME...] [--train N] [--valid N]
                                              [--seed S]

For each NAME (default: every model below) writes OUT_DIR/NAME/train.npz and
OUT_DIR/NAME/valid.npz (NPZ, uncompressed), which models/NAME.json
reads when OUT_DIR is models/zoo_data (the spec's paths are relative to the
spec's folder):

    /usr/bin/python3 scripts/make_zoo_data.py models/zoo_data

The machine has no CIFAR and no text corpus, so the tasks are made up, each
easy enough that a few hundred steps show real learning and hard enough that
the untrained model is at chance:

  images    cnn_bn, resnet8 (3x32x32), mobilenet_v2, resnet18 (3x64x64).
            Field `image` u8 [3,H,W] (the spec applies ToTensor and
            Normalize), `label` int64 in 0..9. Class k is a sinusoidal
            grating with orientation (k % 5) * 36 degrees and a low (k < 5)
            or high (k >= 5) spatial frequency; phase, contrast, colours and
            noise are random per image.
  counts    gru_text, transformer. Field `tokens` int64 [12] in 0..99,
            `label` int64 in 0..3: the group (token % 4) that most of the
            sequence's tokens belong to (sequences with a tie are redrawn).
  tags      lstm_tagger. `tokens` int64 [12] in 0..99, `tags` int64 [12] in
            0..4: the tag of each token is token // 20.
  blobs     unet, unet_upsample. `image` u8 [1,32,32]: one to three bright
            discs and rectangles on a noisy, shaded background; `mask`
            float32 [1,32,32] in {0, 1}: 1 inside the shapes (the
            BCEWithLogitsLoss target).
  shapes    autoencoder. `image` u8 [1,28,28]: discs and rectangles of
            random grey levels (the spec's ToTensor brings them to [0, 1],
            the range of the model's Sigmoid output; MSELoss takes the
            image as its own target).

The output is a pure function of the arguments: every array comes from a
numpy Generator seeded by (seed, model, split), and the archive's members
carry a fixed timestamp, so a re-run writes the same bytes.
"""

import argparse
import os
import sys
import zipfile
import zlib

import numpy as np

SEQ_LEN = 12
VOCAB = 100
TOKEN_CLASSES = 4
TAGS = 5


def gratings(rng, n, size):
    """The 10-class grating images, u8 [n, 3, size, size] and labels."""
    labels = rng.integers(0, 10, n)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    images = np.empty((n, 3, size, size), np.uint8)
    for i, k in enumerate(labels):
        angle = np.pi * (k % 5) / 5
        cycles = 2.0 if k < 5 else 5.0
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin(2 * np.pi * cycles * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
        contrast = rng.uniform(0.25, 0.5)
        base = rng.uniform(0.3, 0.7, 3)[:, None, None]
        tint = rng.uniform(0.5, 1.0, 3)[:, None, None]
        img = base + contrast * tint * wave[None] + rng.normal(0, 0.08, (3, size, size))
        images[i] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    return {"image": images, "label": labels.astype(np.int64)}


def counts(rng, n):
    """Token sequences labelled by their most frequent group (token % 4)."""
    tokens = np.empty((n, SEQ_LEN), np.int64)
    labels = np.empty(n, np.int64)
    i = 0
    while i < n:
        # lean towards one group so that the classes come out balanced and
        # the majority is usually clear
        lean = rng.integers(0, TOKEN_CLASSES)
        seq = rng.integers(0, VOCAB, SEQ_LEN)
        pick = rng.random(SEQ_LEN) < 0.3
        seq[pick] = (seq[pick] // TOKEN_CLASSES) * TOKEN_CLASSES + lean
        groups = np.bincount(seq % TOKEN_CLASSES, minlength=TOKEN_CLASSES)
        if (groups == groups.max()).sum() > 1:
            continue
        tokens[i], labels[i] = seq, groups.argmax()
        i += 1
    return {"tokens": tokens, "label": labels}


def tags(rng, n):
    tokens = rng.integers(0, VOCAB, (n, SEQ_LEN))
    return {"tokens": tokens, "tags": tokens // (VOCAB // TAGS)}


def draw_shapes(rng, size, count):
    """A {0,1} float mask [size, size] of `count` discs and rectangles, and
    one grey level per shape (painted in order)."""
    yy, xx = np.mgrid[0:size, 0:size]
    mask = np.zeros((size, size), np.float32)
    paint = np.zeros((size, size), np.float32)
    for _ in range(count):
        cy, cx = rng.uniform(0.2, 0.8, 2) * size
        r = rng.uniform(0.1, 0.22) * size
        if rng.random() < 0.5:
            inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        else:
            h, w = r * rng.uniform(0.6, 1.4, 2)
            inside = (abs(yy - cy) <= h) & (abs(xx - cx) <= w)
        mask[inside] = 1
        paint[inside] = rng.uniform(0.5, 1.0)
    return mask, paint


def blobs(rng, n, size=32):
    images = np.empty((n, 1, size, size), np.uint8)
    masks = np.empty((n, 1, size, size), np.float32)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        mask, _ = draw_shapes(rng, size, rng.integers(1, 4))
        gx, gy = rng.uniform(-0.15, 0.15, 2)
        background = 0.25 + gx * xx + gy * yy
        fg = rng.uniform(0.55, 0.8)
        img = np.where(mask > 0, fg, background) + rng.normal(0, 0.06, (size, size))
        images[i, 0] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
        masks[i, 0] = mask
    return {"image": images, "mask": masks}


def shapes(rng, n, size=28):
    images = np.empty((n, 1, size, size), np.uint8)
    for i in range(n):
        _, paint = draw_shapes(rng, size, rng.integers(1, 4))
        images[i, 0] = np.clip(paint * 255 + 0.5, 0, 255).astype(np.uint8)
    return {"image": images}


# name -> (kind, generator(rng, n))
DATASETS = {
    "cnn_bn": ("images", lambda rng, n: gratings(rng, n, 32)),
    "resnet8": ("images", lambda rng, n: gratings(rng, n, 32)),
    "mobilenet_v2": ("images", lambda rng, n: gratings(rng, n, 64)),
    "resnet18": ("images", lambda rng, n: gratings(rng, n, 64)),
    "gru_text": ("counts", counts),
    "transformer": ("counts", counts),
    "lstm_tagger": ("tags", tags),
    "unet": ("blobs", blobs),
    "unet_upsample": ("blobs", blobs),
    "autoencoder": ("shapes", shapes),
}


def save_npz(path, arrays):
    """numpy.savez with a fixed member timestamp, so equal arrays give equal
    bytes (savez stamps each member with the current time)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(value), allow_pickle=False)


def generator(seed, name, split):
    # crc32, not hash(): Python salts string hashes per process
    return np.random.default_rng([seed, zlib.crc32(name.encode()), zlib.crc32(split.encode())])


def write(out_dir, name, n_train, n_valid, seed):
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    make = DATASETS[name][1]
    for split, n in (("train", n_train), ("valid", n_valid)):
        arrays = make(generator(seed, name, split), n)
        path = os.path.join(folder, split + ".npz")
        save_npz(path, arrays)
        fields = ", ".join(f"{k} {v.dtype} {list(v.shape)}" for k, v in arrays.items())
        print(f"{path}: {fields}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help="models to write data for (default: all of " + ", ".join(DATASETS) + ")")
    ap.add_argument("--train", type=int, default=2000, help="training samples (default 2000)")
    ap.add_argument("--valid", type=int, default=500, help="validation samples (default 500)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    unknown = [n for n in args.names if n not in DATASETS]
    if unknown:
        ap.error(f"unknown model {', '.join(unknown)}; known: {', '.join(DATASETS)}")
    if args.train < 1 or args.valid < 1:
        ap.error("--train and --valid need at least one sample")
    for name in args.names or list(DATASETS):
        write(args.out_dir, name, args.train, args.valid, args.seed)


if __name__ == "__main__":
    main(sys.argv[1:])
