"""trainc's transforms against torchvision 0.14 (Debian's python3-torchvision).

usage: /usr/bin/python3 transforms.py TRANSFORM_TRACE

For every transform and a grid of its options, on several images (random u8
RGB and grayscale of odd sizes, [H,W] and [C,H,W], f32 tensors; shrinking
and enlarging), transform_trace runs the spec's transform list as trainc
train does and prints the parameters each random transform drew; this
script hands the same parameters to torchvision.transforms.functional (on a
PIL image for u8, on a tensor for f32, as torchvision's own classes would)
and compares: u8 within 1 level, f32 within 1e-5 relative to the output's
magnitude (1e-5 * max(1, max |value|): a rotation's fill of 50 blends in
through a coverage mask whose float32 rounding is then scaled by 50;
torch's own grid computation changes its summation order with the image
size). It also checks
determinism (same seed and index: same output; other indices: other
parameters), the drawn parameters' ranges and frequencies over many
samples, and error cases (a RandomCrop larger than the image: at plan time
when sizes are fixed, at apply time when they vary). It prints the largest
difference per transform.
"""
import collections
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode

INTERP = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR,
          "bicubic": InterpolationMode.BICUBIC}
U8_TOL = 1
F32_TOL = 1e-5


def images():
    rng = np.random.default_rng(7)
    ims = {
        "rgb17x23": rng.integers(0, 256, (3, 17, 23), dtype=np.uint8),
        "rgb40x33": rng.integers(0, 256, (3, 40, 33), dtype=np.uint8),
        "rgb5x7": rng.integers(0, 256, (3, 5, 7), dtype=np.uint8),
        "gray19x14": rng.integers(0, 256, (1, 19, 14), dtype=np.uint8),
        "hw13x21": rng.integers(0, 256, (13, 21), dtype=np.uint8),
        "f32rgb17x23": rng.random((3, 17, 23), dtype=np.float32),
        "f32rgb6x9": rng.random((3, 6, 9), dtype=np.float32),
        "f32gray19x14": rng.random((1, 19, 14), dtype=np.float32),
    }
    # smooth images too: resampling errors hide in noise less
    yy, xx = np.mgrid[0:29, 0:31]
    smooth = np.stack([(xx * 8) % 256, (yy * 9) % 256, ((xx + yy) * 4) % 256]).astype(np.uint8)
    ims["smooth29x31"] = smooth
    return ims


def to_input(a):
    """u8 -> PIL image (what torchvision sees before ToTensor), f32 -> tensor."""
    if a.dtype == np.uint8:
        if a.ndim == 2:
            return Image.fromarray(a, "L")
        if a.shape[0] == 1:
            return Image.fromarray(a[0], "L")
        return Image.fromarray(np.ascontiguousarray(a.transpose(1, 2, 0)), "RGB")
    return torch.from_numpy(a.copy())


def to_array(img):
    if isinstance(img, Image.Image):
        a = np.asarray(img)
        return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return img.numpy()


def channels(img):
    return F.get_dimensions(img)[0]


def size_arg(s):
    return s if isinstance(s, int) else list(s)


def pad(img, padding, fill, mode):
    """F.pad; for a tensor padded wider than itself in reflect or symmetric
    mode (which torch refuses), np.pad, as trainc documents."""
    if isinstance(img, torch.Tensor) and mode in ("reflect", "symmetric"):
        p = [padding] * 4 if isinstance(padding, int) else list(padding)
        p = p * 4 if len(p) == 1 else (p * 2 if len(p) == 2 else p)
        l, t, r, b = p
        if max(l, r) >= img.shape[-1] or max(t, b) >= img.shape[-2]:
            a = np.pad(img.numpy(), ((0, 0), (t, b), (l, r)), mode=mode)
            return torch.from_numpy(a)
    return F.pad(img, padding, fill, mode)


def random_crop(img, o, p):
    size = o["size"]
    th, tw = (size, size) if isinstance(size, int) else (size * 2 if len(size) == 1 else size)
    fill, mode = o.get("fill", 0), o.get("padding_mode", "constant")
    if isinstance(img, torch.Tensor) and isinstance(fill, list):
        fill = fill[0]
    if o.get("padding") is not None:
        img = pad(img, o["padding"], fill, mode)
    _, h, w = F.get_dimensions(img)
    if o.get("pad_if_needed") and w < tw:
        img = pad(img, [tw - w, 0], fill, mode)
    if o.get("pad_if_needed") and h < th:
        img = pad(img, [0, th - h], fill, mode)
    return F.crop(img, p["top"], p["left"], th, tw)


def color_jitter(img, o, p):
    cj = T.ColorJitter(**{k: v for k, v in o.items() if k != "type"})
    on = [cj.brightness, cj.contrast, cj.saturation, cj.hue]
    adjust = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
    for fn in p["order"]:
        if on[fn] is not None:
            img = adjust[fn](img, p["factor"][fn])
    return img


def rotate(img, o, p):
    fill = o.get("fill", 0)
    if isinstance(img, torch.Tensor):
        fill = [float(f) for f in fill] if isinstance(fill, list) else [float(fill)] * channels(img)
    return F.rotate(img, p["angle"], INTERP[o.get("interpolation", "nearest")],
                    o.get("expand", False), o.get("center"), fill)


def grayscale(img, noc):
    out = F.rgb_to_grayscale(img, num_output_channels=noc)
    if isinstance(out, torch.Tensor) and out.shape[0] != noc:
        # torchvision's tensor path returns 1 channel for a 1-channel image
        # asked for 3 (expand to the input's shape); trainc gives 3
        out = out.expand(noc, *out.shape[1:])
    return out


def torchvision_step(o, p, img):
    t = o["type"]
    if t == "Resize":
        return F.resize(img, size_arg(o["size"]), INTERP[o.get("interpolation", "bilinear")],
                        o.get("max_size"), o.get("antialias"))
    if t == "CenterCrop":
        return F.center_crop(img, size_arg(o["size"]))
    if t == "RandomCrop":
        return random_crop(img, o, p)
    if t == "RandomResizedCrop":
        s = o["size"]
        size = [s, s] if isinstance(s, int) else (s * 2 if len(s) == 1 else list(s))
        return F.resized_crop(img, p["top"], p["left"], p["height"], p["width"], size,
                              INTERP[o.get("interpolation", "bilinear")], o.get("antialias"))
    if t == "RandomHorizontalFlip":
        return F.hflip(img) if p["apply"] else img
    if t == "RandomVerticalFlip":
        return F.vflip(img) if p["apply"] else img
    if t == "Grayscale":
        return grayscale(img, o.get("num_output_channels", 1))
    if t == "RandomGrayscale":
        return grayscale(img, channels(img)) if p["apply"] else img
    if t == "Pad":
        fill = o.get("fill", 0)
        return pad(img, o["padding"], fill, o.get("padding_mode", "constant"))
    if t == "ColorJitter":
        return color_jitter(img, o, p)
    if t == "RandomRotation":
        return rotate(img, o, p)
    if t == "ToTensor":
        return F.to_tensor(img) if isinstance(img, Image.Image) else img.float()
    if t == "Normalize":
        return F.normalize(img, o["mean"], o["std"])
    raise ValueError(t)


# ---- the grid -------------------------------------------------------------------

U8_IMAGES = ["rgb17x23", "rgb40x33", "rgb5x7", "gray19x14", "hw13x21", "smooth29x31"]
F32_IMAGES = ["f32rgb17x23", "f32rgb6x9", "f32gray19x14"]
RGB_U8 = ["rgb17x23", "rgb40x33", "smooth29x31"]


def grid():
    """(name, transforms, images, indices) for every option combination."""
    g = []

    def add(ts, ims, indices=(0,), varies=0):
        g.append((ts[0]["type"] if len(ts) == 1 else "chain", ts, ims, indices, varies))

    for size in [10, [9, 14], [31, 40], 25, [17, 23], [1, 50]]:
        for interp in ["nearest", "bilinear", "bicubic"]:
            add([{"type": "Resize", "size": size, "interpolation": interp}], U8_IMAGES)
            for aa in [None, False, True]:
                if interp == "nearest" and aa:
                    continue
                add([{"type": "Resize", "size": size, "interpolation": interp, "antialias": aa}],
                    F32_IMAGES)
    add([{"type": "Resize", "size": 8, "max_size": 10}], U8_IMAGES + F32_IMAGES)
    add([{"type": "Resize", "size": [8], "max_size": 30}], U8_IMAGES + F32_IMAGES)
    for size in [8, [10, 30], [25, 25], [16, 22], [40]]:
        add([{"type": "CenterCrop", "size": size}], U8_IMAGES + F32_IMAGES)
    idx = (0, 1, 2, 3)
    for opts in [{"size": 12}, {"size": [15, 20]}, {"size": 12, "padding": 4},
                 {"size": [10, 30], "padding": [2, 5]}, {"size": 14, "padding": [1, 2, 3, 4]},
                 {"size": 30, "pad_if_needed": True},
                 {"size": [20, 40], "padding": 2, "pad_if_needed": True, "fill": 7}]:
        for mode in ["constant", "edge", "reflect", "symmetric"]:
            add([dict({"type": "RandomCrop", "padding_mode": mode}, **opts)],
                U8_IMAGES + F32_IMAGES, idx)
    add([{"type": "RandomCrop", "size": 12, "padding": 3, "fill": [10, 200, 30]}], RGB_U8, idx)
    add([{"type": "RandomCrop", "size": 9, "padding": 3, "fill": 0.25}], F32_IMAGES, idx)
    for mode in ["reflect", "symmetric", "edge"]:  # padding wider than the image
        add([{"type": "Pad", "padding": [9, 3, 12, 7], "padding_mode": mode}], ["rgb5x7"])
    for opts in [{"size": 16}, {"size": [12, 20], "scale": [0.5, 1.0]},
                 {"size": 9, "ratio": [0.5, 2.0], "interpolation": "nearest"},
                 {"size": 20, "interpolation": "bicubic"},
                 {"size": 10, "scale": [2.0, 3.0]},  # no attempt fits: the fallback
                 {"size": 10, "scale": [2.0, 3.0], "ratio": [3.0, 4.0]},
                 {"size": 10, "scale": [2.0, 3.0], "ratio": [0.2, 0.25]},
                 {"size": 12, "antialias": True}]:
        add([dict({"type": "RandomResizedCrop"}, **opts)], U8_IMAGES + F32_IMAGES, idx)
    for t in ["RandomHorizontalFlip", "RandomVerticalFlip"]:
        for p in [0.5, 1.0, 0.0]:
            add([{"type": t, "p": p}], U8_IMAGES + F32_IMAGES, idx)
    for noc in [1, 3]:
        add([{"type": "Grayscale", "num_output_channels": noc}], U8_IMAGES + F32_IMAGES)
    for p in [0.5, 1.0]:
        add([{"type": "RandomGrayscale", "p": p}], U8_IMAGES + F32_IMAGES, idx)
    for padding in [3, [2, 5], [1, 2, 3, 4]]:
        for mode in ["constant", "edge", "reflect", "symmetric"]:
            add([{"type": "Pad", "padding": padding, "padding_mode": mode, "fill": 9}],
                U8_IMAGES + F32_IMAGES)
    add([{"type": "Pad", "padding": 2, "fill": [1, 2, 250]}], RGB_U8)
    for opts in [{"brightness": 0.5}, {"contrast": 0.5}, {"saturation": 0.5}, {"hue": 0.3},
                 {"brightness": [0.2, 1.8], "contrast": 2.0, "saturation": [0.0, 3.0],
                  "hue": 0.5},
                 {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1},
                 {"hue": [-0.5, -0.4]}, {"contrast": [0.0, 0.1]}, {"brightness": [1.9, 2.5]}]:
        add([dict({"type": "ColorJitter"}, **opts)], U8_IMAGES + F32_IMAGES, (0, 1, 2, 3, 4, 5))
    for opts in [{"degrees": 30}, {"degrees": [-180, 180]}, {"degrees": [90, 90]},
                 {"degrees": [90, 90], "expand": True}, {"degrees": [180, 180]},
                 {"degrees": [270, 270], "expand": True}, {"degrees": [0, 0], "center": [3, 5]},
                 {"degrees": 45, "expand": True}, {"degrees": [-400, 400], "expand": True},
                 {"degrees": 60, "center": [3.5, 5]}, {"degrees": 20, "fill": 50}]:
        for interp in ["nearest", "bilinear"]:
            add([dict({"type": "RandomRotation", "interpolation": interp}, **opts)],
                U8_IMAGES + F32_IMAGES, idx)
        add([dict({"type": "RandomRotation", "interpolation": "bicubic"}, **opts)], U8_IMAGES, idx)
    add([{"type": "RandomRotation", "degrees": 25, "fill": [10, 20, 30]}], RGB_U8, idx)
    add([{"type": "RandomRotation", "degrees": 25, "fill": [0.1, 0.2, 0.3],
          "interpolation": "bilinear"}], ["f32rgb17x23"], idx)
    add([{"type": "ToTensor"}], U8_IMAGES + F32_IMAGES)
    add([{"type": "ToTensor"}, {"type": "Normalize", "mean": [0.5], "std": [0.25]}],
        U8_IMAGES + F32_IMAGES)
    classic = [{"type": "Resize", "size": [32, 32]},
               {"type": "RandomCrop", "size": 32, "padding": 4},
               {"type": "RandomGrayscale", "p": 0.8}, {"type": "ToTensor"},
               {"type": "Normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}]
    add(classic, RGB_U8, tuple(range(6)))
    add([{"type": "RandomResizedCrop", "size": 24}, {"type": "RandomHorizontalFlip"},
         {"type": "ColorJitter", "brightness": 0.3, "contrast": 0.3, "saturation": 0.3,
          "hue": 0.05}, {"type": "RandomRotation", "degrees": 15, "interpolation": "bilinear"},
         {"type": "ToTensor"}], RGB_U8, tuple(range(4)))
    # H and W described as varying (an image folder): the same results
    add([{"type": "Resize", "size": [12, 15]}], U8_IMAGES + F32_IMAGES, (0,), 1)
    add([{"type": "RandomResizedCrop", "size": 11}], U8_IMAGES + F32_IMAGES, (0, 1), 1)
    add([{"type": "RandomRotation", "degrees": 40, "expand": True},
         {"type": "CenterCrop", "size": [9, 12]}], U8_IMAGES + F32_IMAGES, (0, 1), 1)
    add([{"type": "Resize", "size": 9}, {"type": "RandomCrop", "size": 9}],
        U8_IMAGES + F32_IMAGES, (0, 1), 1)
    return g


def torchvision_refuses(ts, a):
    """Whether torchvision's own classes raise on this chain and image."""
    img = to_input(a)
    try:
        for o in ts:
            cls = getattr(T, o["type"])
            img = cls(**{k: v for k, v in o.items() if k != "type"})(img)
    except (ValueError, TypeError):
        return True
    return False


def run_trace(trace, tmp, lines):
    """Runs the cases; per case its answer line and, for "OK", the output
    array (else None)."""
    out_path = os.path.join(tmp, "outputs.bin")
    r = subprocess.run([trace, out_path], input="\n".join(lines) + "\n", capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"transform_trace failed ({r.returncode}): {r.stderr}")
    answers = r.stdout.splitlines()
    if len(answers) != len(lines):
        sys.exit(f"transform_trace answered {len(answers)} lines for {len(lines)} cases")
    data = open(out_path, "rb").read()
    results = []
    for a in answers:
        if not a.startswith("OK "):
            results.append((a, None, None))
            continue
        ok = json.loads(a[3:])
        dtype = np.uint8 if ok["dtype"] == "u8" else np.float32
        n = int(np.prod(ok["shape"]))
        arr = np.frombuffer(data, dtype, n, ok["offset"]).reshape(ok["shape"])
        results.append((a, arr, ok["params"]))
    return results


def main():
    trace = sys.argv[1]
    ims = images()
    failures = []
    worst = collections.defaultdict(lambda: [0.0, 0, ""])  # name -> [max diff, cases, where]
    with tempfile.TemporaryDirectory() as tmp:
        for name, a in ims.items():
            np.save(os.path.join(tmp, name + ".npy"), a)
        cases, lines = [], []
        for name, ts, ims_used, indices, varies in grid():
            for im in ims_used:
                for index in indices:
                    lines.append(f"{os.path.join(tmp, im + '.npy')} 1234 {index} {varies} "
                                 f"{json.dumps(ts)}")
                    cases.append((name, ts, im, index))
        answers = run_trace(trace, tmp, lines)
        for (name, ts, im, index), (ans, got, params) in zip(cases, answers):
            where = f"{json.dumps(ts)} on {im} index {index}"
            if got is None:
                if not torchvision_refuses(ts, ims[im]):
                    failures.append(f"{where}: {ans}")
                continue
            img = to_input(ims[im])
            try:
                for o, p in zip(ts, params):
                    img = torchvision_step(o, p, img)
            except Exception as e:  # torchvision refused what trainc accepted
                failures.append(f"{where}: torchvision raised {e!r}")
                continue
            want = to_array(img)
            if got.ndim == 2:
                got = got[None]
            if got.shape != want.shape or got.dtype != want.dtype:
                failures.append(f"{where}: trainc {got.dtype}{list(got.shape)}, torchvision "
                                f"{want.dtype}{list(want.shape)}")
                continue
            delta = np.abs(got.astype(np.float64) - want.astype(np.float64))
            diff = float(delta.max()) if got.size else 0.0
            tol = U8_TOL if got.dtype == np.uint8 else \
                F32_TOL * max(1.0, float(np.abs(want).max()) if want.size else 1.0)
            kind = f"{name} ({'u8' if ims[im].dtype == np.uint8 else 'f32'})"
            w = worst[kind]
            w[1] += 1
            if diff > w[0]:
                w[0], w[2] = diff, where
            if diff > tol:
                failures.append(f"{where}: max difference {diff:g} > {tol:g} "
                                f"({int((delta > tol).sum())} of {got.size} values)")
        failures += check_determinism_and_errors(trace, tmp, ims)
        failures += check_parameter_ranges(trace, tmp)
    print(f"{'transform':36s} {'cases':>5s}  max |trainc - torchvision|")
    for kind in sorted(worst):
        d, n, where = worst[kind]
        print(f"{kind:36s} {n:5d}  {d:.3g}" + (f"   ({where})" if d > 0 else ""))
    for f in failures[:int(os.environ.get("TC_SHOW_FAILURES", "40"))]:
        print("FAIL " + f)
    print(f"{sum(w[1] for w in worst.values())} comparisons, {len(failures)} failures")
    sys.exit(1 if failures else 0)


def check_determinism_and_errors(trace, tmp, ims):
    fails = []
    img = os.path.join(tmp, "rgb17x23.npy")
    chain = json.dumps([{"type": "RandomResizedCrop", "size": 8},
                        {"type": "ColorJitter", "brightness": 0.5, "hue": 0.2},
                        {"type": "RandomRotation", "degrees": 90}])
    lines = [f"{img} 99 {index} 0 {chain}" for index in [5, 5, 6, 7, 8]]
    lines += [f"{img} 100 5 0 {chain}"]
    res = run_trace(trace, tmp, lines)
    if any(got is None for _, got, _ in res):
        return [f"determinism chain: {[a for a, _, _ in res]}"]
    if res[0][2] != res[1][2] or not np.array_equal(res[0][1], res[1][1]):
        fails.append("same seed and index gave different parameters or images")
    params = [json.dumps(p) for _, _, p in res]
    if len(set(params[1:5])) != 4:
        fails.append("different sample indices drew equal parameters")
    if params[5] == params[0]:
        fails.append("a different seed drew the same parameters")

    # error cases: (image, varies, transforms, expected line start, words)
    crop = [{"type": "RandomCrop", "size": 40}]
    errors = [
        ("rgb17x23", 0, crop, "ERROR plan:",
         ["transforms[0] (RandomCrop)", "(40, 40)", "(17, 23)"]),
        ("rgb17x23", 1, crop, "ERROR apply:",
         ["transforms[0] (RandomCrop)", "(40, 40)", "(17, 23)"]),
        ("rgb17x23", 0, [{"type": "RandomCrop", "size": 30, "padding": 4}], "ERROR plan:",
         ["(30, 30)", "(25, 31) after padding"]),
        ("rgb17x23", 1, [{"type": "RandomHorizontalFlip"}], "ERROR plan:",
         ["different sizes", "Resize"]),
        ("f32rgb17x23", 0, [{"type": "Resize", "size": 8, "interpolation": "nearest",
                             "antialias": True}], "ERROR plan:",
         ["transforms[0] (Resize)", "antialias"]),
        ("rgb17x23", 0, [{"type": "Resize", "size": [8, 9], "max_size": 20}], "ERROR plan:",
         ["max_size"]),
        ("rgb17x23", 0, [{"type": "Resize", "size": 8, "max_size": 8}], "ERROR plan:",
         ["max_size = 8 must be strictly greater"]),
        ("rgb17x23", 0, [{"type": "Pad", "padding": 1, "fill": [1, 2]}], "ERROR plan:",
         ["transforms[0] (Pad)", "fill has 2 values", "3 channels"]),
        ("f32rgb17x23", 0, [{"type": "Pad", "padding": 1, "fill": [1, 2, 3]}], "ERROR plan:",
         ["one number"]),
        ("rgb17x23", 0, [{"type": "ToTensor"}, {"type": "Normalize", "mean": [0.5, 0.5],
                                                 "std": [1]}], "ERROR plan:",
         ["transforms[1] (Normalize)"]),
        ("rgb17x23", 0, [{"type": "Normalize", "mean": [0.5], "std": [1]}], "ERROR plan:",
         ["ToTensor first"]),
        ("f32rgb17x23", 0, [{"type": "RandomRotation", "degrees": 5, "interpolation": "bicubic"}],
         "ERROR plan:", ["transforms[0] (RandomRotation)", "bicubic"]),
        ("rgb17x23", 1, [{"type": "RandomRotation", "degrees": 5, "expand": True},
                         {"type": "CenterCrop", "size": 9}], "OK", []),
        ("rgb17x23", 1, [{"type": "Resize", "size": 9}, {"type": "CenterCrop", "size": 9}],
         "OK", []),
    ]
    np.save(os.path.join(tmp, "rgb2ch.npy"), np.zeros((2, 4, 4), np.uint8))
    errors.append(("rgb2ch", 0, [{"type": "Grayscale"}], "ERROR plan:", ["1 or 3 channels"]))
    lines = [f"{tmp}/{im}.npy 1 0 {v} {json.dumps(ts)}" for im, v, ts, _, _ in errors]
    for (im, v, ts, start, words), (a, _, _) in zip(errors, run_trace(trace, tmp, lines)):
        if not a.startswith(start) or not all(w in a for w in words):
            fails.append(f"error case {json.dumps(ts)} on {im} (varies {v}): expected "
                         f"{start} with {words}, got: {a}")
    return fails


def check_parameter_ranges(trace, tmp):
    """The drawn parameters over many samples: in torchvision's ranges, p
    respected, every crop position reachable."""
    n = 400
    img = os.path.join(tmp, "rgb17x23.npy")  # 17 x 23
    specs = [
        {"type": "RandomHorizontalFlip", "p": 0.3},
        {"type": "RandomGrayscale", "p": 0.8},
        {"type": "RandomCrop", "size": [15, 20], "padding": [1, 2]},
        {"type": "RandomResizedCrop", "size": 5, "scale": [0.3, 0.9], "ratio": [0.5, 1.5]},
        {"type": "RandomRotation", "degrees": [-20, 50]},
        {"type": "ColorJitter", "brightness": 0.5, "contrast": [0.2, 0.4], "saturation": 0.1,
         "hue": [-0.3, 0.1]},
    ]
    lines = [f"{img} 3 {i} 0 {json.dumps([t])}" for t in specs for i in range(n)]
    res = run_trace(trace, tmp, lines)
    if any(got is None for _, got, _ in res):
        return ["parameter ranges: a case failed"]
    fails = []
    per = [[p[0] for _, _, p in res[k * n:(k + 1) * n]] for k in range(len(specs))]

    def expect(cond, what):
        if not cond:
            fails.append("parameter ranges: " + what)

    for k, want in [(0, 0.3), (1, 0.8)]:
        frac = sum(p["apply"] for p in per[k]) / n
        expect(abs(frac - want) < 0.08,
               f"{specs[k]['type']} applied {frac:.3f} of the time, p = {want}")
    tops = {p["top"] for p in per[2]}
    lefts = {p["left"] for p in per[2]}
    # padding [1, 2]: 1 left and right, 2 top and bottom: 21 x 25
    expect(tops == set(range(0, 21 - 15 + 1)) and lefts == set(range(0, 25 - 20 + 1)),
           f"RandomCrop positions {sorted(tops)} x {sorted(lefts)}")
    for p in per[3]:
        area = p["height"] * p["width"] / (17 * 23)
        ratio = p["width"] / p["height"]
        ok = 0 <= p["top"] <= 17 - p["height"] and 0 <= p["left"] <= 23 - p["width"]
        # rounding the box to whole pixels moves area and ratio a little
        ok = ok and 0.3 * 0.8 <= area <= 0.9 * 1.2 and 0.5 * 0.8 <= ratio <= 1.5 * 1.25
        expect(ok, f"RandomResizedCrop box {p}")
    angles = [p["angle"] for p in per[4]]
    expect(min(angles) >= -20 and max(angles) < 50 and max(angles) - min(angles) > 60,
           f"RandomRotation angles span [{min(angles)}, {max(angles)}]")
    ranges = [(0.5, 1.5), (0.2, 0.4), (0.9, 1.1), (-0.3, 0.1)]
    orders = set()
    for p in per[5]:
        orders.add(tuple(p["order"]))
        expect(sorted(p["order"]) == [0, 1, 2, 3], f"ColorJitter order {p['order']}")
        for f, (lo, hi) in zip(p["factor"], ranges):
            expect(lo <= f <= hi, f"ColorJitter factor {f} outside [{lo}, {hi}]")
    expect(len(orders) == 24, f"ColorJitter drew {len(orders)} of the 24 orders")
    return fails[:10]


if __name__ == "__main__":
    main()
