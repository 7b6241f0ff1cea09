#!/usr/bin/python3
"""Fixtures for test_data_files.c, written into the directory argv[1]:

image folders written by PIL (PNG, JPEG, BMP; RGB, grey, RGBA, palette; of
different sizes; upper-case extensions; a nested folder; a file that is no
image), with torchvision's ImageFolder listing of them and PIL's RGB pixels
(pil_loader: Image.open(f).convert("RGB")) as references; broken folders;
CSV files, good and bad, with numpy's float32 values of the good ones.

manifest.txt, one line per sample of ImageFolder("ok"):
    <path> <class index> <height> <width> <jpeg 0|1> <reference file>
classes.txt: torchvision's classes, one per line.
"""

import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image
from torchvision.datasets import ImageFolder

out = sys.argv[1]
rng = np.random.default_rng(5)


def path(*parts):
    p = os.path.join(out, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def put(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def smooth(h, w, c):
    """A smooth random image (JPEG-friendly) with some full-range pixels."""
    y, x = np.mgrid[0:h, 0:w]
    chans = []
    for k in range(c):
        a, b, p = rng.uniform(0.1, 0.6, size=3)
        chans.append(127.5 + 127.5 * np.sin(a * x + b * y + p + k))
    img = np.clip(np.rint(np.stack(chans, -1)), 0, 255).astype(np.uint8)
    img.reshape(-1)[:2] = [0, 255]
    return img if c > 1 else img[:, :, 0]


def noise(h, w, c):
    shape = (h, w, c) if c > 1 else (h, w)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


# ---- a good folder: classes bird, cat, dog ---------------------------------
Image.fromarray(noise(4, 4, 3)).save(path("ok", "bird", "x.png"))
Image.fromarray(noise(3, 6, 3)).save(path("ok", "bird", "z dir", "y.png"))
Image.fromarray(noise(2, 2, 3)).save(path("ok", "bird", "z", "w.png"))
Image.fromarray(noise(5, 7, 3)).save(path("ok", "cat", "a.png"))
Image.fromarray(noise(5, 7, 1)).save(path("ok", "cat", "B.PNG"))  # grey
Image.fromarray(smooth(12, 16, 3)).save(path("ok", "cat", "sub", "c.jpg"), quality=90)
put("ok/cat/notes.txt", b"not an image\n")
Image.fromarray(noise(4, 9, 3)).save(path("ok", "dog", "d.bmp"))
Image.fromarray(noise(3, 3, 1)).save(path("ok", "dog", "e.bmp"))  # 8-bit grey BMP
Image.fromarray(smooth(8, 8, 1)).save(path("ok", "dog", "f.JpEg"), quality=95)  # grey JPEG
Image.fromarray(noise(6, 6, 4), "RGBA").save(path("ok", "dog", "g.png"))  # alpha dropped
Image.fromarray(noise(5, 5, 3)).convert("P", palette=Image.ADAPTIVE, colors=16).save(
    path("ok", "dog", "h.png"))
Image.fromarray(noise(5, 5, 1)).convert("LA").save(path("ok", "dog", "i.png"))  # grey+alpha
Image.fromarray(smooth(9, 13, 3)).save(path("ok", "dog", "j.jpg"), quality=85,
                                       subsampling=0)  # 4:4:4
# a JPEG whose comment holds the bytes of a Huffman table marker (FF C4)
# and counts over 256: only a real DHT segment is a table
jpeg = io.BytesIO()
Image.fromarray(smooth(6, 10, 3)).save(jpeg, "JPEG", quality=90)
comment = b"\xff\xc4\x00\x13\x00" + b"\xff" * 16
put("ok/dog/k.jpg", jpeg.getvalue()[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) +
    comment + jpeg.getvalue()[2:])

ds = ImageFolder(os.path.join(out, "ok"))
with open(path("classes.txt"), "w") as f:
    f.write("".join(c + "\n" for c in ds.classes))
with open(path("manifest.txt"), "w") as f:
    for i, (p, label) in enumerate(ds.samples):
        with open(p, "rb") as fh:
            img = Image.open(fh)
            is_jpeg = img.format == "JPEG"
            rgb = np.asarray(img.convert("RGB"))
        ref = f"ref{i}.bin"
        put(ref, np.ascontiguousarray(rgb.transpose(2, 0, 1)).tobytes())
        f.write(f"{p} {label} {rgb.shape[0]} {rgb.shape[1]} {int(is_jpeg)} {ref}\n")

# one size for all: a fixed [3, 6, 5] field
for k in range(3):
    Image.fromarray(noise(6, 5, 3)).save(path("same", "c%d" % (k % 2), f"{k}.png"))

# ---- broken folders --------------------------------------------------------
Image.fromarray(noise(3, 3, 3)).save(path("empty", "a", "x.png"))
os.makedirs(path("empty", "b", "x"), exist_ok=True)
put("empty/c/readme.txt", b"no images here\n")
put("noclass/file.png", b"")
put("badhdr/a/fine.bmp", b"")
Image.fromarray(noise(3, 3, 3)).save(path("badhdr", "a", "fine.bmp"))
put("badhdr/b/broken.png", b"this is not a PNG file at all")
Image.fromarray(noise(3, 3, 3)).save(path("tif", "a", "x.png"))
Image.fromarray(noise(3, 3, 3)).save(path("tif", "a", "y.tif"))


def png_chunk(tag, body):
    return (struct.pack(">I", len(body)) + tag + body +
            struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF))


# a valid header (stbi_info passes) over corrupt pixel data
Image.fromarray(noise(4, 4, 3)).save(path("badpix", "a", "good.png"))
ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
put("badpix/b/corrupt.png", b"\x89PNG\r\n\x1a\n" + ihdr +
    png_chunk(b"IDAT", b"\x78\x9c garbage, not deflate") + png_chunk(b"IEND", b""))

# a header claiming 10000 x 10000 pixels (more than trainc decodes)
Image.fromarray(noise(4, 4, 3)).save(path("huge", "a", "good.png"))
put("huge/b/huge.png", b"\x89PNG\r\n\x1a\n" +
    png_chunk(b"IHDR", struct.pack(">IIBBBBB", 10000, 10000, 8, 2, 0, 0, 0)) +
    png_chunk(b"IEND", b""))

# JPEGs stb_image of Debian 12 mishandled: a header promising 4000 x 3000
# pixels over a few hundred bytes of data (decoded as zeros), and a Huffman
# table of 512 codes (written past its 256 entries)
jpeg = io.BytesIO()
Image.fromarray(smooth(8, 8, 3)).save(jpeg, "JPEG", quality=90)
jpeg = bytearray(jpeg.getvalue())
sof = jpeg.index(b"\xff\xc0")
short = bytearray(jpeg)
short[sof + 5:sof + 9] = struct.pack(">HH", 3000, 4000)
put("badjpeg/short.jpg", bytes(short))
dht = jpeg.index(b"\xff\xc4")
jpeg[dht + 5:dht + 21] = b"\x20" * 16
put("badjpeg/dht.jpg", bytes(jpeg))

# ---- CSV -------------------------------------------------------------------
good = [["1.5", "0", "-2"], ["  3.25e1 ", "1", "\"7\""], ["-0.1", "2", "1e-3"],
        ["4", "1.0", "nan"]]
put("ok.csv", ("x1,label,\"x 2\"\r\n" + "\r\n".join(",".join(r) for r in good[:2]) +
               "\r\n\r\n" + "\n".join(",".join(r) for r in good[2:]) + "\n").encode())
feats = np.array([[float(r[0]), float(r[2].strip('"'))] for r in good], dtype=np.float32)
put("ok_features.bin", feats.tobytes())
put("ok_labels.bin", np.array([0, 1, 2, 1], dtype=np.int64).tobytes())
put("noheader.csv", b"1,2,3\n4,5,6\n")
put("empty.csv", b"")
put("blank.csv", b"\n\r\n\n")
put("nonnum.csv", b"a,b,label\n1,2,0\n3,abc,1\n")
put("ragged.csv", b"a,b,label\n1,2,0\n3,4,1\n5,6\n")
put("nolabel.csv", b"a,b,c\n1,2,0\n")
put("nonint.csv", b"a,label\n1,0\n2,1.5\n")
put("quote.csv", b"a,label\n1,0\n\"2,1\n")
put("headonly.csv", b"a,label\n")
put("emptycell.csv", b"a,b,label\n1,,0\n")
