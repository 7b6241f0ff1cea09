"""Writes the seed corpora of the fuzzers (tests/fuzz/corpus/<target>/) and
the spec fuzzer's dictionary (tests/fuzz/spec.dict).

Seeds are small on purpose (libFuzzer mutates small inputs fastest; the
committed corpus stays well under 2 MB): the sample models of models/ with
their large initializers turned into graph inputs of the same shape, one
small model per supported op from libonnx-testdata, the sample specs and one
spec per loss, optimizer, scheduler, transform and dataset format, and small
IDX, NPY and NPZ files of every element type.

Run from anywhere with Debian's Python: /usr/bin/python3 tests/fuzz/make_seeds.py
(it replaces the corpus folders it writes; corpus-regressions/ is never
touched)."""
import glob
import gzip
import io
import json
import os
import re
import shutil
import struct
import zipfile

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TESTDATA = "/usr/share/libonnx-testdata/data"
# Initializers larger than this become graph inputs in the model seeds.
MAX_INITIALIZER_ELEMS = 64


def corpus(target):
    d = os.path.join(HERE, "corpus", target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# ---- onnx --------------------------------------------------------------------

def shrink_model(m):
    """Large initializers become graph inputs of the same type and shape, so
    the graph and its shapes stay and the weights go."""
    g = m.graph
    keep = []
    for t in g.initializer:
        if int(np.prod(t.dims)) <= MAX_INITIALIZER_ELEMS:
            keep.append(t)
            continue
        g.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    del g.initializer[:]
    g.initializer.extend(keep)
    return m


def opset(path):
    m = onnx.load(path)
    return max([o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] or [0])


def only_ops(path, ops):
    return all(n.op_type in ops for n in onnx.load(path).graph.node)


def integer_inputs_constant(m, folder):
    """Node tests feed axes, shapes and starts as graph inputs; trainc needs
    them at compile time, so integer inputs become initializers holding the
    test's values (test_data_set_0/input_N.pb)."""
    g = m.graph
    inputs = list(g.input)
    del g.input[:]
    for i, vi in enumerate(inputs):
        pb = os.path.join(folder, "test_data_set_0", "input_%d.pb" % i)
        if vi.type.tensor_type.elem_type == onnx.TensorProto.INT64 and os.path.exists(pb):
            t = onnx.TensorProto()
            t.ParseFromString(open(pb, "rb").read())
            t.name = vi.name
            g.initializer.append(t)
        else:
            g.input.append(vi)
    return m


def supported_ops():
    """The ONNX op names of compiler/ir/ops.def (its second column)."""
    ops = set()
    with open(os.path.join(ROOT, "compiler", "ir", "ops.def")) as f:
        for line in f:
            m = re.match(r'\s*OP\(\s*\w+\s*,\s*"(\w+)"', line)
            if m:
                ops.add(m.group(1))
    return ops


def onnx_seeds():
    d = corpus("onnx")
    for path in sorted(glob.glob(os.path.join(ROOT, "models", "*.onnx"))):
        m = shrink_model(onnx.load(path))
        write(d, os.path.basename(path), m.SerializeToString())
    # One small node test per supported op (the smallest model of each).
    ops = supported_ops()
    best = {}
    for path in sorted(glob.glob(os.path.join(TESTDATA, "node", "*", "model.onnx"))):
        size = os.path.getsize(path)
        if size > 2048:
            continue
        m = onnx.load(path)
        if len(m.graph.node) != 1 or m.graph.node[0].op_type not in ops:
            continue
        op = m.graph.node[0].op_type
        if op not in best or size < best[op][0]:
            best[op] = (size, path)
    for op, (_, path) in sorted(best.items()):
        m = integer_inputs_constant(onnx.load(path), os.path.dirname(path))
        write(d, "node_" + os.path.basename(os.path.dirname(path)) + ".onnx",
              m.SerializeToString())
    # Small multi-node graphs from the other libonnx-testdata folders.
    for sub in ("simple", "pytorch-converted", "pytorch-operator"):
        paths = sorted(glob.glob(os.path.join(TESTDATA, sub, "*", "model.onnx")))
        paths = [p for p in paths
                 if os.path.getsize(p) <= 8192 and opset(p) >= 7 and only_ops(p, ops)]
        for path in paths[:10]:
            write(d, sub + "_" + os.path.basename(os.path.dirname(path)) + ".onnx",
                  open(path, "rb").read())
    # External data pointing at a file that is not there.
    t = onnx.helper.make_tensor("w", onnx.TensorProto.FLOAT, [2], [0.0, 0.0])
    t.ClearField("float_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    for k, v in (("location", "w.bin"), ("offset", "0"), ("length", "8")):
        e = t.external_data.add()
        e.key, e.value = k, v
    g = onnx.helper.make_graph(
        [onnx.helper.make_node("Add", ["x", "w"], ["y"], name="add")], "ext",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 2])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 2])], [t])
    m = onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 13)])
    write(d, "external_data.onnx", m.SerializeToString())
    onnx_edge_seeds(d)


# Models with extreme values where shape rules do arithmetic: huge dims,
# attributes at the int64 limits, axes out of range, known-contents
# arithmetic that overflows. libFuzzer mutates around them.
I64_MAX, I64_MIN, BIG = 2**63 - 1, -2**63, 2**62


def onnx_edge_seeds(d):
    h, T = onnx.helper, onnx.TensorProto

    def model(name, nodes, inputs, outputs, inits=(), opset_version=13):
        g = h.make_graph(nodes, name, inputs, outputs, list(inits))
        m = h.make_model(g, opset_imports=[h.make_opsetid("", opset_version)])
        write(d, "edge_" + name + ".onnx", m.SerializeToString())

    def vi(name, shape, t=T.FLOAT):
        return h.make_tensor_value_info(name, t, shape)

    def ints(name, vals):
        return h.make_tensor(name, T.INT64, [len(vals)], vals)

    x, y = vi("x", ["N", 3, 8, 8]), vi("y", None)
    w = h.make_tensor("w", T.FLOAT, [2, 3, 3, 3], np.zeros(54, np.float32))
    for name, attrs in [("conv_dilations", dict(dilations=[BIG, BIG])),
                        ("conv_pads", dict(pads=[I64_MAX] * 4)),
                        ("conv_strides", dict(strides=[I64_MAX, I64_MAX]))]:
        model(name, [h.make_node("Conv", ["x", "w"], ["y"], name="c", **attrs)], [x], [y], [w])
    for name, op, attrs in [
            ("maxpool_kernel", "MaxPool", dict(kernel_shape=[I64_MAX, I64_MAX])),
            ("maxpool_ceil_pads", "MaxPool",
             dict(kernel_shape=[2, 2], pads=[I64_MAX, 0, I64_MAX, 0], ceil_mode=1)),
            ("maxpool_same_upper", "MaxPool",
             dict(kernel_shape=[2, 2], strides=[I64_MAX, I64_MAX], auto_pad="SAME_UPPER")),
            ("avgpool_pads", "AveragePool", dict(kernel_shape=[2, 2], pads=[I64_MAX, 1, 0, 0]))]:
        model(name, [h.make_node(op, ["x"], ["y"], name="p", **attrs)], [x], [y])
    model("input_dims", [h.make_node("Relu", ["x"], ["y"], name="r")],
          [vi("x", [BIG, BIG, BIG])], [y])
    model("input_rank", [h.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [1] * 9)], [y])
    t = onnx.TensorProto(name="w", data_type=T.FLOAT, dims=[2**40, 2**20])
    model("initializer_no_data", [h.make_node("Add", ["x", "w"], ["y"], name="a")],
          [vi("x", [1])], [y], [t])
    for name, shape in [("reshape_huge", [BIG, BIG]), ("reshape_min", [I64_MIN, -1]),
                        ("reshape_zero", [0, -1, 0])]:
        model(name, [h.make_node("Reshape", ["x", "s"], ["y"], name="r")],
              [vi("x", ["N", 0, 4])], [y], [ints("s", shape)])
    for name, (starts, ends, axes, steps) in {
            "slice_limits": ([I64_MIN], [I64_MAX], [2], [I64_MIN]),
            "slice_step0": ([0], [1], [1], [0])}.items():
        model(name, [h.make_node("Slice", ["x", "s", "e", "a", "p"], ["y"], name="s")],
              [vi("x", ["N", 5, 7])], [y],
              [ints("s", starts), ints("e", ends), ints("a", axes), ints("p", steps)])
    for name, op, attrs in [("softmax_axis", "Softmax", dict(axis=I64_MIN)),
                            ("transpose_perm", "Transpose", dict(perm=[I64_MAX, 0, 1])),
                            ("unsqueeze_axes", "Unsqueeze", dict(axes=list(range(10)))),
                            ("cast_to", "Cast", dict(to=9999))]:
        model(name, [h.make_node(op, ["x"], ["y"], name="n", **attrs)],
              [vi("x", ["N", 3, 4])], [y], opset_version=11)
    shape = h.make_node("Shape", ["x"], ["s"], name="shape")
    for name, op, c in [("known_div0", "Div", 0), ("known_mul", "Mul", I64_MAX),
                        ("known_sub", "Sub", I64_MIN), ("known_div_neg", "Div", -1)]:
        model(name, [shape, h.make_node(op, ["s", "c"], ["t"], name="op"),
                     h.make_node("Reshape", ["x", "t"], ["y"], name="r")],
              [vi("x", ["N", 3, 4])], [y], [h.make_tensor("c", T.INT64, [], [c])])
    model("known_gather", [shape, h.make_node("Gather", ["s", "i"], ["t"], name="g"),
                           h.make_node("Reshape", ["x", "t"], ["y"], name="r")],
          [vi("x", ["N", 3, 4])], [y], [ints("i", [I64_MAX, -4])])
    t = onnx.TensorProto(name="v", data_type=T.INT64, dims=[2**31, 2**31])
    model("constant_no_data", [h.make_node("Constant", [], ["y"], name="k", value=t)], [], [y])
    model("no_nodes", [], [vi("x", [2])], [vi("x", [2])])


# ---- spec --------------------------------------------------------------------

LOSS_TENSORS = {
    "GaussianNLLLoss": {"input": "y", "target": "t", "var": "v"},
    "MarginRankingLoss": {"input1": "a", "input2": "b", "target": "t"},
    "CosineEmbeddingLoss": {"input1": "a", "input2": "b", "target": "t"},
    "TripletMarginLoss": {"anchor": "a", "positive": "p", "negative": "n"},
    "TripletMarginWithDistanceLoss": {"anchor": "a", "positive": "p", "negative": "n",
                                      "distance_function": "cosine"},
    "CTCLoss": {"log_probs": "lp", "targets": "t", "input_lengths": "il",
                "target_lengths": "tl"},
}
LOSSES = ["L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "PoissonNLLLoss",
          "GaussianNLLLoss", "KLDivLoss", "BCELoss", "BCEWithLogitsLoss", "HuberLoss",
          "SmoothL1Loss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
          "MultiLabelMarginLoss", "MultiMarginLoss", "MarginRankingLoss",
          "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
          "TripletMarginWithDistanceLoss", "CTCLoss"]
OPTIMIZERS = ["SGD", "ASGD", "Rprop", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW",
              "Adamax", "NAdam", "RAdam", "SparseAdam", "LBFGS"]
SCHEDULERS = {
    "StepLR": {"step_size": 3}, "MultiStepLR": {"milestones": [2, 4]},
    "ConstantLR": {}, "LinearLR": {}, "ExponentialLR": {"gamma": 0.9},
    "PolynomialLR": {}, "CosineAnnealingLR": {"T_max": 10},
    "CosineAnnealingWarmRestarts": {"T_0": 5},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1},
    "OneCycleLR": {"max_lr": 0.1, "total_steps": 100}, "ReduceLROnPlateau": {},
    "SequentialLR": {"schedulers": [{"type": "ConstantLR"},
                                    {"type": "ExponentialLR", "gamma": 0.9}],
                     "milestones": [2]},
    "ChainedScheduler": {"schedulers": [{"type": "ConstantLR"},
                                        {"type": "StepLR", "step_size": 2}]},
}
TRANSFORMS = [
    {"type": "Resize", "size": [32, 32]}, {"type": "CenterCrop", "size": [24, 28]},
    {"type": "RandomCrop", "size": 28, "padding": 4},
    {"type": "RandomResizedCrop", "size": 28}, {"type": "RandomHorizontalFlip"},
    {"type": "RandomVerticalFlip", "p": 0.3}, {"type": "RandomGrayscale"},
    {"type": "Grayscale"}, {"type": "Pad", "padding": [1, 2]},
    {"type": "ColorJitter", "brightness": 0.2}, {"type": "RandomRotation", "degrees": 10},
    {"type": "ToTensor"}, {"type": "Normalize", "mean": [0.5], "std": [0.25]},
]
DATASETS = [
    {"format": "idx", "images": "train-images.gz", "labels": "train-labels.gz"},
    {"format": "npz", "path": "train.npz"},
    {"format": "csv", "path": "train.csv", "label": -1, "header": False},
    {"format": "imagefolder", "root": "images/train"},
]


def spec_text(spec):
    return json.dumps(spec, separators=(",", ":")).encode()


def spec_seeds():
    d = corpus("spec")
    for path in sorted(glob.glob(os.path.join(ROOT, "models", "*.json"))):
        write(d, os.path.basename(path), open(path, "rb").read())
    base = {"loss": {"type": "CrossEntropyLoss"}, "optimizer": {"type": "SGD", "lr": 0.1}}
    for loss in LOSSES:
        s = dict(base, loss=dict({"type": loss}, **LOSS_TENSORS.get(loss, {})))
        write(d, "loss_" + loss + ".json", spec_text(s))
    for opt in OPTIMIZERS:
        s = dict(base, optimizer={"type": opt, "lr": 0.01})
        if opt not in ("LBFGS",):
            s["optimizer"]["param_groups"] = [{"params": ["fc1.*"], "lr": 0.001}]
        write(d, "optim_" + opt + ".json", spec_text(s))
    for sched, args in SCHEDULERS.items():
        s = dict(base, lr_scheduler=dict({"type": sched}, **args))
        write(d, "sched_" + sched + ".json", spec_text(s))
    for i, ds in enumerate(DATASETS):
        s = dict(base, data={"train": ds, "valid": ds, "transforms": TRANSFORMS[i::4]})
        write(d, "data_" + ds["format"] + ".json", spec_text(s))
    full = dict(base, inputs={"input": "image"}, frozen=["fc3.weight", "conv*"],
                batch_size=8, epochs=3, shuffle=True, drop_last=True, seed=7,
                log_interval=5, val_interval=1, clip_grad_norm=1.0,
                grad_accumulation=2, nonfinite="skip_step",
                checkpoint={"dir": "ckpt", "every_epochs": 1})
    write(d, "full.json", spec_text(full))
    # With overrides after a NUL: key\0value pairs (see fuzz_spec.c).
    overrides = [("--epochs", "3"), ("--optimizer.lr", "0.5"),
                 ("optimizer.betas", "0.9,0.99"), ("--inputs['input.1']", "x"),
                 ("lr_scheduler", '{"type": "StepLR", "step_size": 1}'),
                 ("frozen[0]", "fc1.*")]
    text = spec_text(base) + b"\0" + b"\0".join(
        k.encode() + b"\0" + v.encode() for k, v in overrides)
    write(d, "overrides.json", text)

    # The dictionary: every quoted name of the spec tables, and JSON tokens.
    words = set()
    for src in glob.glob(os.path.join(ROOT, "frontends", "spec", "*.c")):
        words.update(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', open(src).read()))
    with open(os.path.join(HERE, "spec.dict"), "w") as f:
        f.write("# Generated by make_seeds.py: names of frontends/spec/*.c and JSON tokens.\n")
        for tok in ["{", "}", "[", "]", ":", ",", "null", "true", "false", "-1", "0.5",
                    "1e308", "\\u0000", "--", ".", "[0]", "['"]:
            f.write('"%s"\n' % tok.replace("\\", "\\\\").replace('"', '\\"'))
        for w in sorted(words):
            f.write('"\\"%s\\""\n' % w)


# ---- idx ---------------------------------------------------------------------

IDX_TYPES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(a):
    head = bytes([0, 0, IDX_TYPES[a.dtype.type], a.ndim])
    head += b"".join(struct.pack(">I", n) for n in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def idx_input(images, labels=None):
    """fuzz_idx.c's input: a flag byte, then the images file (and, with
    labels, its length as u16 LE before it and the labels file after)."""
    if labels is None:
        return b"\0" + images
    return b"\1" + struct.pack("<H", len(images)) + images + labels


def gz(b):
    return gzip.compress(b, mtime=0)


def idx_seeds():
    d = corpus("idx")
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (3, 4, 4)).astype(np.uint8)
    labels = np.array([1, 0, 2], np.uint8)
    write(d, "u8_images_labels", idx_input(idx_bytes(images), idx_bytes(labels)))
    write(d, "u8_images_labels_gz", idx_input(gz(idx_bytes(images)), gz(idx_bytes(labels))))
    write(d, "u8_images_only", idx_input(idx_bytes(images)))
    for t in (np.int8, np.int16, np.int32, np.float32, np.float64):
        a = rng.integers(-5, 5, (2, 3)).astype(t)
        write(d, "rank2_" + np.dtype(t).name, idx_input(idx_bytes(a)))
    write(d, "rank4_i16_labels", idx_input(idx_bytes(np.arange(16, dtype=np.int16).reshape(2, 2, 2, 2)),
                                           idx_bytes(np.array([3, 4], np.int16))))
    write(d, "rank1_empty", idx_input(idx_bytes(np.zeros((0,), np.uint8))))


# ---- npy and npz -------------------------------------------------------------

def npy_bytes(a, version=None):
    f = io.BytesIO()
    np.lib.format.write_array(f, a, version=version, allow_pickle=False)
    return f.getvalue()


def npy_arrays():
    rng = np.random.default_rng(2)
    return {
        "f32": rng.standard_normal((2, 3)).astype(np.float32),
        "f64": np.array(3.5),
        "i64": np.arange(4, dtype=np.int64),
        "i32": np.arange(6, dtype=np.int32).reshape(1, 2, 3),
        "i16": np.array([-1, 2], np.int16),
        "i8": np.array([[-3]], np.int8),
        "u8": np.arange(5, dtype=np.uint8),
        "u16": np.array([7], np.uint16),
        "u32": np.array([8, 9], np.uint32),
        "u64": np.array([10], np.uint64),
        "bool": np.array([True, False]),
        "empty": np.zeros((0, 3), np.float32),
    }


def npy_seeds():
    d = corpus("npy")
    for name, a in npy_arrays().items():
        write(d, name + ".npy", npy_bytes(a))
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    write(d, "v2.npy", npy_bytes(a, (2, 0)))
    write(d, "v3.npy", npy_bytes(a, (3, 0)))
    write(d, "fortran.npy", npy_bytes(np.asfortranarray(a)))
    write(d, "big_endian.npy", npy_bytes(a.astype(">f4")))


def npz_bytes(arrays, compressed, zip64=True):
    """What numpy.savez (or savez_compressed) writes, zip64 extras included,
    with a fixed timestamp so the seeds do not change from run to run."""
    f = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(f, "w", method) as z:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            with z.open(info, "w", force_zip64=zip64) as member:
                member.write(npy_bytes(a))
    return f.getvalue()


def npz_seeds():
    d = corpus("npz")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 2)).astype(np.float32)
    y = np.array([0, 1, 1], np.int64)
    write(d, "stored.npz", npz_bytes({"x": x, "y": y}, False))
    write(d, "deflated.npz", npz_bytes({"x": x, "y": y}, True))
    write(d, "one_u8.npz", npz_bytes({"image": np.arange(4, dtype=np.uint8).reshape(2, 2)}, False))
    write(d, "no_zip64.npz", npz_bytes({"x": x, "y": y}, True, zip64=False))
    # A member that is not .npy.
    f = io.BytesIO()
    with zipfile.ZipFile(f, "w") as z:
        z.writestr(zipfile.ZipInfo("notes.txt", date_time=(1980, 1, 1, 0, 0, 0)), b"hello")
    write(d, "not_npy.npz", f.getvalue())


# ---- csv and images ------------------------------------------------------------

def csv_seeds():
    """The first byte is fuzz_csv.c's options: 3 = header, label by name."""
    d = corpus("csv")
    write(d, "header.csv", b"\x03a,b,label\n1.5,-2,0\n3e2,4,1\n")
    write(d, "quoted_crlf.csv", b"\x03\"a\",\"b,c\",label\r\n1,\"2\",1\r\n\r\n3,4,0\r\n")
    write(d, "by_index.csv", b"\x04" + b"1,2,3\n4,5,6\n")  # no header, label column -1
    write(d, "bad_cell.csv", b"\x03x,label\nfoo,1\n")


def image_seeds():
    """Tiny images of every format stb_image decodes for image folders."""
    from PIL import Image
    d = corpus("image")
    rgb = Image.fromarray(np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3))
    for name, im, fmt, kw in [("rgb.png", rgb, "PNG", {}),
                              ("grey.png", rgb.convert("L"), "PNG", {}),
                              ("palette.png", rgb.convert("P"), "PNG", {}),
                              ("rgba.png", rgb.convert("RGBA"), "PNG", {}),
                              ("rgb.bmp", rgb, "BMP", {}),
                              ("rgb.jpg", rgb, "JPEG", {"quality": 90}),
                              ("progressive.jpg", rgb, "JPEG", {"progressive": True}),
                              ("rgb.ppm", rgb, "PPM", {}),
                              ("grey.pgm", rgb.convert("L"), "PPM", {})]:
        f = io.BytesIO()
        im.save(f, fmt, **kw)
        write(d, name, f.getvalue())


if __name__ == "__main__":
    onnx_seeds()
    spec_seeds()
    idx_seeds()
    npy_seeds()
    npz_seeds()
    csv_seeds()
    image_seeds()
    total = 0
    for target in sorted(os.listdir(os.path.join(HERE, "corpus"))):
        files = glob.glob(os.path.join(HERE, "corpus", target, "*"))
        size = sum(os.path.getsize(p) for p in files)
        total += size
        print("%-5s %3d files, %7d bytes" % (target, len(files), size))
    print("total %d bytes" % total)
