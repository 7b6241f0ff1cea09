"""The training experience: progress bar, curves, report, eval's confusion matrix.

The MLP of models/ trains for 2 epochs on 1200 Fashion-MNIST images (400
held out for validation), then:

1. Plain output (a pipe): the Training:/Valid: lines keep their exact form,
   with no \\r or escape sequences.
2. --metrics m.jsonl also draws m.svg: it parses as XML (SVG namespace), has
   the four curves, the training loss curve has one point per logged step,
   and every point, mapped back to data values through the tick labels of
   its axes, is the JSONL's iteration and loss (accuracy in percent); the
   validation points sit at the iteration of the last step before them.
   `trainc plot m.jsonl -o p.svg` draws the same picture byte for byte.
3. --report r.html: well-formed (tags balance under html.parser), no
   scripts or external resources, the inline SVG passes the same checks,
   the final metrics are the JSONL's, the spec shown is the effective one
   (command-line overrides in it), and the confusion matrix and per-class
   accuracy are the ones computed independently below.
4. `trainc eval` of the trained model prints the confusion matrix and
   per-class accuracy; both equal a confusion matrix computed in float64
   numpy from the ONNX file's weights (Flatten, Gemm, Relu evaluated here)
   on the same validation images; samples whose two best logits are within
   1e-4 may go either way and are allowed to differ.
5. Under a pseudo-terminal (Python's pty, 100 columns) trainc train draws a
   progress bar redrawn with \\r (batch count, samples/s, ETA, running loss
   and accuracy) and ends each epoch with the summary line, whose loss is
   the mean of the epoch's logged losses and whose accuracy the epoch's
   last logged accuracy. A standalone trainer (trainc build) does the same,
   and draws the same curves from memory as trainc plot from its log.
6. Errors: trainc plot on a missing file, a malformed line (named with its
   line number), a wrong value type, an empty log and an unwritable output;
   trainc train --report into a missing folder fails before compiling.

usage: /usr/bin/python3 training_ux.py TRAINC SOURCE_DIR
"""
import fcntl
import gzip
import html.parser
import json
import os
import pty
import re
import struct
import subprocess
import sys
import tempfile
import termios
import xml.etree.ElementTree as ET

import numpy as np
import onnx
import onnx.numpy_helper

FASHION = "/usr/share/datasets/fashion-mnist"
SVG = "{http://www.w3.org/2000/svg}"
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""),
          flush=True)
    return ok


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def run(cmd, cwd, env=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def build_env(trainc, tmp):
    """The environment for trainc build: a trainc built with sanitizers links
    its trainers through a cc that adds the sanitizer runtime too."""
    env = dict(os.environ)
    if "libasan" in subprocess.run(["ldd", trainc], capture_output=True, text=True).stdout:
        cc = os.path.join(tmp, "cc-sanitize")
        with open(cc, "w") as f:
            f.write('#!/bin/sh\nexec cc -fsanitize=address,undefined "$@"\n')
        os.chmod(cc, 0o755)
        env["CC"] = cc
    return env


def records(path):
    with open(path) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return [r for r in recs if r["kind"] == "train"], [r for r in recs if r["kind"] == "valid"]


# ---- the SVG picture ------------------------------------------------------------------------

def fit(pairs):
    """Least-squares pixel = a + b * value through (value, pixel) pairs."""
    v = np.array([p[0] for p in pairs], float)
    px = np.array([p[1] for p in pairs], float)
    b, a = np.polyfit(v, px, 1)
    return a, b


def panel_axes(panel):
    """Pixel = a + b * value for each axis, from its tick labels and their positions."""
    xs = [(float(t.text), float(t.get("x"))) for t in
          panel.find(f"{SVG}g[@class='x-ticks']").iter(SVG + "text")]
    # a y tick label's baseline is 4 px below its tick
    ys = [(float(t.text), float(t.get("y")) - 4) for t in
          panel.find(f"{SVG}g[@class='y-ticks']").iter(SVG + "text")]
    return fit(xs), fit(ys), xs, ys


def curve_values(panel, curve_id):
    """The points of polyline curve_id mapped back to data values."""
    (ax, bx), (ay, by), _, _ = panel_axes(panel)
    line = panel.find(f"{SVG}polyline[@id='{curve_id}']")
    if line is None:
        return None, None
    pts = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    return [((x - ax) / bx, (y - ay) / by) for x, y in pts], (abs(bx), abs(by))


def check_svg(label, root, train, valid):
    check(f"{label}: the root is an SVG element with a title",
          root.tag == SVG + "svg" and root.find(SVG + "title") is not None, root.tag)
    panels = [g for g in root.iter(SVG + "g") if g.get("class") == "panel"]
    if not check(f"{label}: a loss panel and an accuracy panel", len(panels) == 2,
                 f"{len(panels)} panels"):
        return
    texts = [t.text for t in root.iter(SVG + "text")]
    check(f"{label}: panel titles, axis names and legend",
          all(s in texts for s in ("Loss", "Accuracy", "iteration", "loss", "accuracy (%)",
                                   "training loss", "validation loss", "validation accuracy")),
          str(texts[:12]))
    for panel, key, scale, curves in ((panels[0], "loss", 1.0, ("train-loss", "valid-loss")),
                                      (panels[1], "acc", 100.0, ("train-acc", "valid-acc"))):
        _, _, xs, ys = panel_axes(panel)
        check(f"{label}: {key} panel has at least 3 ticks per axis", len(xs) >= 3 and len(ys) >= 3)
        for curve, recs in zip(curves, (train, valid)):
            pts, (px_x, px_y) = curve_values(panel, curve)
            if not check(f"{label}: {curve} is drawn", pts is not None):
                continue
            check(f"{label}: {curve} has one point per logged record ({len(recs)})",
                  len(pts) == len(recs), f"{len(pts)} points")
            # points are written with 2 decimals: 0.005 px of rounding
            bad = [(p, r) for p, r in zip(pts, recs)
                   if abs(p[0] - r["iteration"]) > 0.006 / px_x or
                   abs(p[1] - scale * r[key]) > 0.006 / px_y]
            check(f"{label}: {curve} points are the JSONL's (iteration, {key})", not bad,
                  str(bad[:3]))
    last_iter = {}
    for r in train:
        last_iter[r["epoch"]] = r["iteration"]
    check(f"{label}: validation points sit at the last iteration of their epoch",
          [v["iteration"] for v in valid] == [last_iter[v["epoch"]] for v in valid],
          str([(v["epoch"], v["iteration"]) for v in valid]))


# ---- the HTML report ------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}


class Report(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tables, self.pre = [], [], {}, {}
        self.table = self.row = self.cell = None
        self.pre_id = None
        self.attrs_seen = []
        self.svg_start = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.attrs_seen.append((tag, a))
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self.table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self.table is not None:
            self.row = []
            self.table.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif tag == "pre":
            self.pre_id = a.get("id")
            self.pre[self.pre_id] = ""

    def handle_startendtag(self, tag, attrs):
        self.attrs_seen.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.table = None
        elif tag == "pre":
            self.pre_id = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        if self.pre_id is not None:
            self.pre[self.pre_id] += data


def check_report(path, train, valid, matrix, settings):
    text = open(path, encoding="utf-8").read()
    p = Report()
    p.feed(text)
    p.close()
    check("report: tags balance (html.parser)", not p.errors and not p.stack,
          str(p.errors[:3] + p.stack[:3]))
    external = [(t, a) for t, a in p.attrs_seen
                if t in ("script", "link", "img", "iframe") or "src" in a or "href" in a]
    check("report: no scripts and no external resources",
          not external and "url(" not in text and "<script" not in text, str(external[:3]))
    m = re.search(r"<svg.*?</svg>", text, re.S)
    if check("report: the curves are inline SVG", m is not None):
        check_svg("report SVG", ET.fromstring(m.group(0)), train, valid)
    final = {row[0]: row[1] for row in p.tables.get("final-metrics", []) if len(row) == 2}
    epoch_loss = np.mean([r["loss"] for r in train if r["epoch"] == train[-1]["epoch"]])
    ok = final and abs(float(final["validation loss"]) - valid[-1]["loss"]) <= 6e-5 and \
        abs(float(final["validation accuracy"].rstrip("%")) - 100 * valid[-1]["acc"]) <= 6e-3 and \
        abs(float(final["training loss (mean of the last epoch)"]) - epoch_loss) <= 6e-5 and \
        abs(float(final["training accuracy (last epoch)"].rstrip("%")) - 100 * train[-1]["acc"]) \
        <= 6e-3
    check("report: final metrics are the JSONL's", ok, str(final))
    cm = p.tables.get("confusion-matrix", [])
    got = [[int(c) for c in row[1:]] for row in cm[1:]]
    check("report: confusion matrix header and row names are the class indices",
          cm and cm[0][1:] == [str(k) for k in range(10)] and
          [row[0] for row in cm[1:]] == [str(k) for k in range(10)], str(cm[:1]))
    check("report: confusion matrix equals the independent one", got == matrix.tolist(),
          f"\n{np.array(got)}\nvs\n{matrix}")
    pc = p.tables.get("per-class-accuracy", [])[1:]
    ok = len(pc) == 10
    for k, row in enumerate(pc):
        n, c = matrix[k].sum(), matrix[k, k]
        ok = ok and int(row[1]) == n and int(row[2]) == c and \
            abs(float(row[3].rstrip("%")) - 100 * c / n) <= 6e-3
    check("report: per-class accuracy is the matrix's diagonal over its rows", ok, str(pc[:2]))
    st = {row[0]: row[1] for row in p.tables.get("settings", []) if len(row) == 2}
    check("report: settings name the model, spec, trained model and epochs",
          all(st.get(k) == v for k, v in settings.items()) and st.get("training time", "")
          .endswith(" s"), str(st))
    try:
        spec = json.loads(p.pre.get("spec", ""))
        check("report: the effective spec (overrides applied, defaults filled in)",
              spec["batch_size"] == 32 and spec["epochs"] == 2 and
              spec["optimizer"]["dampening"] == 0, str(spec)[:200])
    except ValueError as e:
        check("report: the effective spec is JSON", False, str(e))


# ---- the independent confusion matrix --------------------------------------------------------

def mlp_logits(model_path, x):
    """Flatten/Gemm/Relu of the ONNX file, in float64 numpy."""
    m = onnx.load(model_path)
    w = {t.name: onnx.numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    vals = {m.graph.input[0].name: x}
    for n in m.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        ins = [vals[i] if i in vals else w[i] for i in n.input]
        if n.op_type == "Flatten":
            ax = a.get("axis", 1)
            out = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif n.op_type == "Relu":
            out = np.maximum(ins[0], 0)
        elif n.op_type == "Gemm":
            A = ins[0].T if a.get("transA", 0) else ins[0]
            B = ins[1].T if a.get("transB", 0) else ins[1]
            out = a.get("alpha", 1.0) * A @ B
            if len(ins) > 2:
                out = out + a.get("beta", 1.0) * ins[2]
        else:
            raise RuntimeError(f"unexpected op {n.op_type}")
        vals[n.output[0]] = out
    return vals[m.graph.output[0].name]


def independent_confusion(model_path, images, labels):
    x = (images.astype(np.float64) / 255.0 - 0.2860) / 0.3530
    logits = mlp_logits(model_path, x.reshape(-1, 1, 28, 28))
    pred = logits.argmax(1)
    top2 = np.sort(logits, 1)[:, -2:]
    ambiguous = int(((top2[:, 1] - top2[:, 0]) < 1e-4).sum())
    cm = np.zeros((10, 10), np.int64)
    for t, p in zip(labels, pred):
        cm[t, p] += 1
    return cm, ambiguous


def parse_eval(out):
    lines = out.splitlines()
    i = lines.index("Per-class accuracy:")
    per_class = [l.split() for l in lines[i + 2:i + 12]]
    j = lines.index("Confusion matrix (rows: true class, columns: predicted class):")
    header = lines[j + 1].split()
    rows = [l.split() for l in lines[j + 2:j + 12]]
    return lines[0], per_class, header, rows


# ---- the pseudo-terminal ---------------------------------------------------------------------

def run_pty(cmd, cwd, columns=100):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=subprocess.PIPE)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    return p.returncode, out.decode(), err


def screen_lines(raw):
    """What a terminal shows at the end: \\r returns to column 0, ESC[K erases to the end."""
    shown = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        buf, col = [], 0
        for part in re.split(r"(\r|\x1b\[K)", line):
            if part == "\r":
                col = 0
            elif part == "\x1b[K":
                del buf[col:]
            else:
                for ch in part:
                    if col < len(buf):
                        buf[col] = ch
                    else:
                        buf.append(ch)
                    col += 1
        shown.append("".join(buf))
    return shown


def check_pty(trainc, model, spec, tmp):
    metrics = os.path.join(tmp, "pty.jsonl")
    rc, out, err = run_pty([trainc, "train", model, "--spec", spec, "--batch_size", "16",
                            "--log_interval", "5", "--metrics", metrics], tmp)
    if not check("pty: trainc train exits 0", rc == 0, err[-500:]):
        return
    train, valid = records(metrics)
    nb = 1200 // 16
    frames = re.findall(r"\rEpoch (\d{3})/002 \[[=> ]+\] +(\d+)/(\d+)  (\d+) samples/s  "
                        r"ETA (\d+:\d\d)  loss (\d+\.\d{4})  acc (\d+\.\d\d)%\x1b\[K", out)
    for e in ("001", "002"):
        fe = [f for f in frames if f[0] == e]
        done = [int(f[1]) for f in fe]
        check(f"pty: epoch {e} redraws a bar with \\r (batches, samples/s, ETA, loss, acc)",
              len(fe) >= 2 and done == sorted(done) and done[-1] == nb and
              all(int(f[2]) == nb for f in fe), f"{len(fe)} frames: {done[:10]}")
    # a frame's running loss and accuracy are the epoch's so far
    bad = []
    for f in frames:
        e, k = int(f[0]), int(f[1])
        recs = [r for r in train if r["epoch"] == e][:k]
        if abs(np.mean([r["loss"] for r in recs]) - float(f[5])) > 6e-5 or \
                abs(100 * recs[-1]["acc"] - float(f[6])) > 6e-3:
            bad.append(f)
    check("pty: every frame shows the running loss and accuracy of the epoch", not bad,
          str(bad[:2]))
    screen = [l for l in screen_lines(out) if l]
    summary = re.compile(r"^Training:Epoch\[(\d{3})/002\] Iteration\[(\d{3})/(\d{3})\] "
                         r"Loss: (\d+\.\d{4}) Acc:(\d+\.\d\d)% \(\d+\.\d s, \d+ samples/s\)$")
    valid_line = re.compile(r"^Valid:  Epoch\[(\d{3})/002\] Loss: (\d+\.\d{4}) Acc:(\d+\.\d\d)%$")
    ok = len(screen) == 4
    for e in (1, 2):
        recs = [r for r in train if r["epoch"] == e]
        m = summary.match(screen[2 * e - 2]) if ok else None
        v = valid_line.match(screen[2 * e - 1]) if ok else None
        ok = ok and m and v and int(m[1]) == e and int(m[2]) == int(m[3]) == nb and \
            abs(float(m[4]) - np.mean([r["loss"] for r in recs])) <= 6e-5 and \
            abs(float(m[5]) - 100 * recs[-1]["acc"]) <= 6e-3 and int(v[1]) == e and \
            abs(float(v[2]) - valid[e - 1]["loss"]) <= 6e-5 and \
            abs(float(v[3]) - 100 * valid[e - 1]["acc"]) <= 6e-3
    check("pty: the screen ends with one summary line (the epoch's mean loss, accuracy, time, "
          "samples/s) and one Valid line per epoch", ok, f"\n{screen}")
    check("pty: the plain Training lines are not printed on a terminal",
          "Iteration[005/" not in out, out[:300])


# ---- main ------------------------------------------------------------------------------------

def main():
    trainc, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    model = os.path.join(source, "models", "mlp.onnx")
    images = idx(f"{FASHION}/train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    labels = idx(f"{FASHION}/train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    vimages, vlabels = images[50000:50400], labels[50000:50400]
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(os.path.join(tmp, "train.npz"), image=images[:1200], label=labels[:1200])
        np.savez(os.path.join(tmp, "valid.npz"), image=vimages, label=vlabels)
        with open(os.path.join(source, "models", "mlp.json")) as f:
            spec = json.load(f)
        spec["data"]["train"] = {"format": "npz", "path": "train.npz"}
        spec["data"]["valid"] = {"format": "npz", "path": "valid.npz"}
        spec.update(epochs=2, batch_size=64, log_interval=10)
        spec_path = os.path.join(tmp, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)

        # 1. plain output, metrics, curves, report
        r = run([trainc, "train", model, "--spec", spec_path, "--batch_size", "32",
                 "--metrics", "m.jsonl", "--report", "r.html", "--out", "t.onnx"], tmp)
        if not check("trainc train --metrics --report exits 0", r.returncode == 0,
                     r.stderr[-800:]):
            return
        plain = re.compile(r"^(Training:Epoch\[\d{3}/002\] Iteration\[\d{3}/038\] Loss: \d+\.\d{4}"
                           r" Acc:\d+\.\d\d%|Valid:  Epoch\[\d{3}/002\] Loss: \d+\.\d{4} "
                           r"Acc:\d+\.\d\d%)$")
        lines = r.stdout.splitlines()
        check("plain output: only Training:/Valid: lines, no \\r or escapes",
              lines and all(plain.match(l) for l in lines) and "\r" not in r.stdout and
              "\x1b" not in r.stdout and len(lines) == 2 * (4 + 1), r.stdout[:400])
        check("the log says where the curves and the report went",
              "trainc: wrote the training curves to m.svg" in r.stderr and
              "trainc: wrote the report to r.html" in r.stderr, r.stderr[-400:])
        train, valid = records(os.path.join(tmp, "m.jsonl"))
        check("metrics: validation records carry the iteration",
              len(valid) == 2 and all("iteration" in v for v in valid), str(valid))

        # 2. the curves
        try:
            check_svg("m.svg", ET.parse(os.path.join(tmp, "m.svg")).getroot(), train, valid)
        except ET.ParseError as e:
            check("m.svg parses as XML", False, str(e))
        r = run([trainc, "plot", "m.jsonl", "-o", "p.svg"], tmp)
        check("trainc plot exits 0 and says what it drew",
              r.returncode == 0 and f"wrote p.svg ({len(train)} training and 2 validation points)"
              in r.stderr, r.stderr)
        check("trainc plot draws the picture written at the end of training",
              open(os.path.join(tmp, "p.svg"), "rb").read() ==
              open(os.path.join(tmp, "m.svg"), "rb").read())

        # 3 and 4. the independent confusion matrix, eval and the report
        matrix, ambiguous = independent_confusion(os.path.join(tmp, "t.onnx"), vimages, vlabels)
        check("the independent model is accurate enough for a meaningful matrix",
              np.trace(matrix) / matrix.sum() > 0.5 and ambiguous <= 2,
              f"{np.trace(matrix)}/{matrix.sum()}, {ambiguous} ambiguous")
        r = run([trainc, "eval", "t.onnx", "--spec", spec_path], tmp)
        if check("trainc eval exits 0", r.returncode == 0, r.stderr[-500:]):
            try:
                first, per_class, header, rows = parse_eval(r.stdout)
                got = np.array([[int(c) for c in row[1:]] for row in rows])
                check("eval: the matrix's header and rows are the classes",
                      header == [str(k) for k in range(10)] and
                      [row[0] for row in rows] == header, str(header))
                diff = int(np.abs(got - matrix).sum()) // 2
                check("eval: confusion matrix equals numpy's on the same data",
                      diff <= ambiguous and got.sum() == 400, f"\n{got}\nvs\n{matrix}")
                ok = all(int(p[1]) == got[k].sum() and int(p[2]) == got[k, k] and
                         abs(float(p[3].rstrip("%")) - 100 * got[k, k] / got[k].sum()) <= 6e-3
                         for k, p in enumerate(per_class))
                check("eval: per-class accuracy is the matrix's diagonal over its rows", ok,
                      str(per_class[:2]))
                acc = float(re.search(r"Acc:(\d+\.\d\d)%", first).group(1))
                check("eval: Acc is the matrix's trace over its total",
                      abs(acc - 100 * np.trace(got) / got.sum()) <= 6e-3, first)
                m = re.match(r"Eval: Loss: (\d+\.\d{4}) Acc:(\d+\.\d\d)% \(400 samples\)$", first)
                check("eval: its loss and accuracy are the last validation's",
                      m and abs(float(m[1]) - valid[-1]["loss"]) <= 6e-5 and
                      abs(float(m[2]) - 100 * valid[-1]["acc"]) <= 6e-3, first)
            except (ValueError, IndexError, AttributeError) as e:
                check("eval output parses", False, f"{e}: {r.stdout[:600]}")
        check_report(os.path.join(tmp, "r.html"), train, valid, matrix,
                     {"model": model, "spec": spec_path, "trained model": "t.onnx",
                      "epochs": "2", "optimizer steps": str(2 * 38)})

        # 5. the progress bar on a terminal
        check_pty(trainc, model, spec_path, tmp)

        # the standalone trainer shares the loop: bar on a terminal, curves next to its log
        r = run([trainc, "build", model, "--spec", spec_path, "-o", "trainer"], tmp,
                build_env(trainc, tmp))
        if check("trainc build exits 0", r.returncode == 0, r.stderr[-500:]):
            rc, out, err = run_pty(["./trainer", "--epochs", "1", "--metrics", "tm.jsonl"], tmp)
            screen = [l for l in screen_lines(out) if l]
            check("trainer on a terminal: a bar, then the summary and Valid lines",
                  rc == 0 and re.search(r"\rEpoch 001/001 \[[=> ]+\] 19/19 ", out) and
                  len(screen) == 2 and screen[0].startswith("Training:Epoch[001/001] "
                                                             "Iteration[019/019] Loss: ") and
                  screen[1].startswith("Valid:  Epoch[001/001]"), f"{rc} {screen} {err[-300:]}")
            r = run([trainc, "plot", "tm.jsonl", "-o", "tp.svg"], tmp)
            check("trainer: its curves (tm.svg) are trainc plot's of its log",
                  "wrote the training curves to tm.svg" in err and r.returncode == 0 and
                  open(os.path.join(tmp, "tm.svg"), "rb").read() ==
                  open(os.path.join(tmp, "tp.svg"), "rb").read(), err[-300:] + r.stderr)

        # 6. errors
        missing = os.path.join(tmp, "missing.jsonl")
        r = run([trainc, "plot", missing, "-o", "x.svg"], tmp)
        check("plot: a missing log is an input error naming it",
              r.returncode == 2 and missing in r.stderr and "cannot open" in r.stderr, r.stderr)
        lines = open(os.path.join(tmp, "m.jsonl")).read().splitlines()
        with open(os.path.join(tmp, "bad.jsonl"), "w") as f:
            f.write("\n".join(lines[:2] + ['{"kind":"train","epoch":1,'] + lines[2:]) + "\n")
        r = run([trainc, "plot", "bad.jsonl", "-o", "x.svg"], tmp)
        check("plot: a malformed line is named with its number",
              r.returncode == 2 and "bad.jsonl:3: not a JSON object" in r.stderr, r.stderr)
        with open(os.path.join(tmp, "type.jsonl"), "w") as f:
            f.write(lines[0] + '\n{"kind":"train","epoch":1,"iteration":2,"loss":"low"}\n')
        r = run([trainc, "plot", "type.jsonl", "-o", "x.svg"], tmp)
        check("plot: a value of the wrong type names line and key",
              r.returncode == 2 and 'type.jsonl:2: "loss": expected a number or null' in r.stderr,
              r.stderr)
        open(os.path.join(tmp, "empty.jsonl"), "w").close()
        r = run([trainc, "plot", "empty.jsonl"], tmp)
        check("plot: an empty log is an error", r.returncode == 2 and "empty.jsonl: no" in r.stderr,
              r.stderr)
        r = run([trainc, "plot", "m.jsonl", "-o", "/nonexistent-dir/c.svg"], tmp)
        check("plot: an unwritable output is an error naming it",
              r.returncode == 2 and "/nonexistent-dir/c.svg: cannot write the curves" in r.stderr,
              r.stderr)
        check("plot: no output left behind on errors", not os.path.exists(os.path.join(tmp, "x.svg")))
        r = run([trainc, "plot"], tmp)
        check("plot: no log is a usage error", r.returncode == 1 and "usage:" in r.stderr, r.stderr)
        r = run([trainc, "train", model, "--spec", spec_path, "--report", "/nonexistent-dir/r.html"],
                tmp)
        check("train --report into a missing folder fails before compiling",
              r.returncode == 2 and "/nonexistent-dir/r.html: cannot write the report" in r.stderr
              and "compiling" not in r.stderr, r.stderr[-400:])

    print(f"{sum(results)}/{len(results)} checks passed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
