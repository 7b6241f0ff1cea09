"""The benchmark harness works (bench/run.py): one tiny case, MLP at batch 1
with SGD on one thread, 3 timed steps a side, must produce its table row
with every measurement filled in; tc_step_bench --serve refuses a command
it does not know; bench/conv_layers.py fills its table in one round. A
functional test: no time or ratio is checked.

usage: bench_smoke.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

SOURCE, BUILD = sys.argv[1], sys.argv[2]
failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print(f"FAIL {name}\n{detail}", file=sys.stderr)


def harness(work):
    r = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "bench", "run.py"), BUILD,
                        "--models", "mlp", "--batches", "1", "--threads", "1", "--optim", "sgd",
                        "--steps", "3", "--warmup", "2", "--work-dir", work],
                       capture_output=True, text=True, timeout=600)
    detail = f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    check("run.py exits 0", r.returncode == 0, detail)
    rows = [line for line in r.stdout.splitlines() if line.startswith("| MLP |")]
    check("one MLP row", len(rows) == 1, detail)
    if len(rows) != 1:
        return work
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    check("fourteen cells", len(cells) == 14, rows[0])
    if len(cells) != 14:
        return work
    check("batch, threads, optimizer", cells[1:4] == ["1", "1", "SGD momentum 0.9"], rows[0])
    number = re.compile(r"^\d+(\.\d+)?x?$")
    for i, what in enumerate(["trainc ms/step", "PyTorch ms/step", "ratio", "trainc CPU ms",
                              "PyTorch CPU ms", "CPU ratio", "compile s", "trainc peak RSS",
                              "PyTorch peak RSS", "arena"], start=4):
        check(f"{what} is a number", number.match(cells[i]) is not None, rows[0])
    check("the command is printed", "bench/run.py" in r.stdout and "--models mlp" in r.stdout,
          r.stdout)
    check("the machine is described", "CPU:" in r.stdout and "PyTorch " in r.stdout, r.stdout)
    return work


def serve_refuses(work):
    """The --serve protocol: a ready line, a step's time, then a usage error."""
    tool = os.path.join(BUILD, "bench", "tc_step_bench")
    spec = os.path.join(work, "mlp.b1.sgd.json")
    p = subprocess.run([tool, os.path.join(work, "mlp.train.onnx"), spec, "1", "1", "--serve"],
                       input="step 2\nbogus\n", capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, TRAINC_NO_CACHE="1"))
    lines = p.stdout.splitlines()
    detail = f"exit {p.returncode}\nstdout: {p.stdout!r}\nstderr: {p.stderr!r}"
    check("serve: ready line", len(lines) == 2 and lines[0].startswith('{"ready": true'), detail)
    check("serve: two steps' wall and CPU times",
          len(lines) == 2 and re.fullmatch(r"[\d.]+,[\d.]+ [\d.]+,[\d.]+", lines[1]), detail)
    check("serve: unknown command is a usage error",
          p.returncode == 1 and "unknown command 'bogus'" in p.stderr, detail)


def conv_layers():
    """bench/conv_layers.py: a row per layer, every cell two numbers, and the
    weighted total; tc_conv_bench refuses a malformed layer."""
    r = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "bench", "conv_layers.py"),
                        "--build", BUILD, "--rounds", "1"],
                       capture_output=True, text=True, timeout=600)
    detail = f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    check("conv_layers.py exits 0", r.returncode == 0, detail)
    pair = r"[\d.]+ / [\d.]+"
    layer = re.compile(rf"^\| [^|]+ \| \d \| {pair} \| {pair} \| {pair} \| [\d.]+x \|$")
    rows = [line for line in r.stdout.splitlines() if layer.match(line)]
    check("conv_layers.py: a row per layer", len(rows) == 12, detail)
    check("conv_layers.py: the weighted total",
          re.search(rf"weighted by count.*\| {pair} ms: [\d.]+x \|", r.stdout) is not None, detail)
    tool = os.path.join(BUILD, "bench", "tc_conv_bench")
    p = subprocess.run([tool, "2,3,2,4,7,1,0"], capture_output=True, text=True, timeout=60)
    check("tc_conv_bench: a kernel larger than the padded input is refused",
          p.returncode == 1 and "bad layer '2,3,2,4,7,1,0'" in p.stderr and p.stdout == "",
          f"exit {p.returncode}\nstderr: {p.stderr!r}")


def main():
    with tempfile.TemporaryDirectory() as work:
        harness(work)
        serve_refuses(work)
    conv_layers()
    print(f"{len(failures)} failed" if failures else "bench smoke: ok")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
