#!/usr/bin/python3
"""The benchmark harness behind every performance claim: trainc's compiled
training step against PyTorch eager on the same model, weights, batch,
optimizer and hyperparameters, measured in the same run, interleaved.

For each case (model x optimizer x threads x batch) it keeps one trainc
process (build/bench/tc_step_bench --serve) and one PyTorch process
(bench/torch_side.py) alive and alternates short bursts of timed steps
between them (interleave.py), so machine noise hits both. Each side times
its own steps; the table gives the median ms/step over the timed steps
after warm-up, the ratio PyTorch/trainc (above 1: trainc is faster), the
same for the CPU time each process spent in a step (all its threads: less
disturbed than wall-clock on a busy machine, but it counts spinning),
trainc's cold compile time (JIT of the whole step, compile cache off), the
peak RSS (VmHWM) of each process, which runs only its side, and trainc's
planned arena.

    /usr/bin/python3 bench/run.py [BUILD_DIR] [--models mlp,lenet5] [--batches 1,16]
        [--threads 1,2] [--optim sgd,adam] [--steps 30] [--warmup 5] [--write]

A quick run: --models mlp,lenet5 --batches 16 --threads 1 --optim sgd --steps 30.
The whole matrix takes tens of minutes (see bench/RESULTS.md).
"""
import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cases  # noqa: E402
import interleave  # noqa: E402
import machine  # noqa: E402
import sides  # noqa: E402

PREDICT_SKIP = 1.5  # skip without running where a smaller batch predicts this x the limit
COLUMNS = ["model", "batch", "threads", "optimizer", "trainc ms/step", "PyTorch ms/step",
           "PyTorch/trainc", "trainc CPU ms/step", "PyTorch CPU ms/step", "PyTorch/trainc CPU",
           "trainc compile s", "trainc peak RSS MiB", "PyTorch peak RSS MiB", "trainc arena MiB"]


def csv_list(kind, allowed=None):
    def parse(text):
        items = [kind(x) for x in text.split(",") if x]
        bad = [x for x in items if allowed is not None and x not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected a comma-separated list of {', '.join(map(str, allowed))}"
                if allowed else f"{text!r}: expected a comma-separated list")
        return items
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build", nargs="?", default=os.path.join(cases.SOURCE, "build"),
                   help="the build folder (holds bench/tc_step_bench)")
    p.add_argument("--models", type=csv_list(str, list(cases.MODELS)), default=list(cases.MODELS))
    p.add_argument("--batches", type=csv_list(int), default=[1, 16, 64, 256])
    p.add_argument("--threads", type=csv_list(int), default=[1, 2])
    p.add_argument("--optim", type=csv_list(str, list(cases.OPTIMIZERS)),
                   default=list(cases.OPTIMIZERS))
    p.add_argument("--steps", type=int, default=30, help="timed steps per side (default 30)")
    p.add_argument("--warmup", type=int, default=5,
                   help="untimed steps per side first (at least 2; default 5)")
    p.add_argument("--openblas-threads", type=int, default=1,
                   help="OPENBLAS_NUM_THREADS for PyTorch (default 1, its faster setting here)")
    p.add_argument("--work-dir", help="keep the exports and batches here (default: a temporary "
                   "folder)")
    p.add_argument("--json", help="also write every case's raw step times here")
    p.add_argument("--write", action="store_true",
                   help="also write the report to bench/RESULTS.md")
    a = p.parse_args(argv)
    if a.steps < 1 or a.warmup < 0 or min(a.batches) < 1 or min(a.threads) < 1:
        p.error("--steps, --batches and --threads must be positive, --warmup non-negative")
    return a


def threads_flag_supported(build, cs):
    """Whether tc_step_bench takes --threads (another change adds it): a
    usage error on the smallest case says it does not."""
    name = "mlp"
    try:
        side = sides.trainc_side(build, cs.onnx(name), cs.spec(name, 1, "sgd"), 1, 1, True)
    except sides.SideError as e:
        if "usage" in str(e):
            return False
        raise
    side.close()
    return True


def fmt_mib(n):
    return f"{n / (1 << 20):.1f}"


def row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


class Runner:
    def __init__(self, args, cs, threads_flag):
        self.args, self.cs, self.threads_flag = args, cs, threads_flag
        self.slowest = {}  # (model, optim, threads) -> (batch, slower side's median ms)
        self.raw = []
        self.failed = 0
        self.blas = []  # what PyTorch's process loaded (the machine description)

    def skip_reason(self, name, optim, threads, batch):
        if threads > 1 and not self.threads_flag:
            return "skipped: tc_step_bench has no --threads yet"
        seen = self.slowest.get((name, optim, threads))
        if seen is None:
            return None
        b, ms = seen
        if ms is None:
            return f"skipped: a step at batch {b} already took over {interleave.MAX_STEP_S:g} s"
        predicted = ms * batch / b / 1e3
        if predicted > PREDICT_SKIP * interleave.MAX_STEP_S:
            return (f"skipped: batch {b}'s step predicts ~{predicted:.1f} s "
                    f"(over {interleave.MAX_STEP_S:g} s)")
        return None

    def case(self, name, optim, threads, batch):
        """One table row."""
        head = [cases.MODELS[name], batch, threads, cases.OPTIMIZERS[optim]]
        reason = self.skip_reason(name, optim, threads, batch)
        if reason:
            return row(head + [reason] + [""] * (len(COLUMNS) - 5))
        cs, a = self.cs, self.args
        onnx, npz = cs.onnx(name), cs.batch(name, batch)
        spec = cs.spec(name, batch, optim)
        tc = pt = None
        try:
            tc = sides.trainc_side(a.build, onnx, spec, batch, threads, self.threads_flag)
            pt = sides.torch_side(name, onnx, npz, optim, threads, a.openblas_threads)
            self.blas = pt.ready["blas"]
            gap = 0.01 if threads > 1 else 0.0
            times = interleave.measure(tc, pt, a.steps, a.warmup, gap, threads)
            ours, theirs = interleave.summary(times[tc]), interleave.summary(times[pt])
            rss_tc, rss_pt = tc.peak_rss_bytes(), pt.peak_rss_bytes()
        except interleave.TooSlow as e:
            self.slowest[(name, optim, threads)] = (batch, None)
            return row(head + [f"skipped: {e} (over {interleave.MAX_STEP_S:g} s)"] +
                       [""] * (len(COLUMNS) - 5))
        except sides.SideError as e:
            self.failed += 1
            return row(head + ["failed: " + " ".join(str(e).split())[:300]] +
                       [""] * (len(COLUMNS) - 5))
        finally:
            for side in (tc, pt):
                if side:
                    side.close()
        self.slowest[(name, optim, threads)] = (batch, max(
            interleave.idle_ms(x["median_ms"], x["cpu_median_ms"], threads) for x in (ours, theirs)))
        self.raw.append({"model": name, "batch": batch, "threads": threads, "optim": optim,
                         "trainc_wall_cpu_ms": times[tc], "torch_wall_cpu_ms": times[pt],
                         "compile_s": tc.ready["compile_s"],
                         "arena_bytes": tc.ready["arena_bytes"],
                         "trainc_peak_rss": rss_tc, "torch_peak_rss": rss_pt})
        return row(head + [f"{ours['median_ms']:.3f}", f"{theirs['median_ms']:.3f}",
                           f"{theirs['median_ms'] / ours['median_ms']:.2f}x",
                           f"{ours['cpu_median_ms']:.3f}", f"{theirs['cpu_median_ms']:.3f}",
                           f"{theirs['cpu_median_ms'] / ours['cpu_median_ms']:.2f}x",
                           f"{tc.ready['compile_s']:.2f}", fmt_mib(rss_tc), fmt_mib(rss_pt),
                           fmt_mib(tc.ready["arena_bytes"])])


def emit(lines, out):
    for line in lines:
        print(line, file=out, flush=True)


def main(argv):
    args = parse_args(argv)
    tool = os.path.join(args.build, "bench", "tc_step_bench")
    if not os.access(tool, os.X_OK):
        sys.exit(f"run.py: {tool} not found: build first (cmake --build {args.build})")
    started = time.time()
    load_before = machine.load()
    work = args.work_dir or tempfile.mkdtemp(prefix="trainc-bench-")
    cs = cases.Cases(work)
    threads_flag = threads_flag_supported(args.build, cs)
    runner = Runner(args, cs, threads_flag)
    command = "/usr/bin/python3 bench/run.py " + " ".join(shlex.quote(x) for x in argv)
    coretype = machine.openblas_coretype()
    if coretype:  # PyTorch's side inherits it
        os.environ["OPENBLAS_CORETYPE"] = coretype
    import torch
    head = ["# trainc vs PyTorch eager: one training step (forward, loss, backward, update)",
            "",
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, commit "
            f"{git_commit()}, command:",
            "",
            "```", command, "```", "",
            f"- {args.steps} timed steps per side after {max(args.warmup, 2)} warm-up steps; "
            f"interleaved bursts of ~{interleave.BURST_MS:g} ms (1 to 10 steps), alternating "
            "which side goes first; medians of wall-clock and of process CPU time (all "
            "threads); a 10 ms pause at each hand-over with 2+ threads",
            f"- models exported in training mode (BatchNorm with batch statistics, Dropout "
            f"kept: both sides do the same work), the export's weights loaded into the torch "
            f"module; one synthetic batch, the same on both sides; lr {cases.LR:g}",
            f"- PyTorch: torch.set_num_threads(threads), OPENBLAS_NUM_THREADS="
            f"{args.openblas_threads}, OPENBLAS_CORETYPE="
            f"{coretype or '(OpenBLAS chooses)'} (machine.openblas_coretype); trainc: "
            + ("tc_step_bench --threads N" if threads_flag else
               "single-threaded (tc_step_bench has no --threads yet: 2-thread cases skipped)"),
            f"- a case is skipped where a side's step takes over {interleave.MAX_STEP_S:g} s "
            "(wall-clock, or CPU time / threads where less), measured after two steps, or "
            f"predicted from a smaller batch at over {PREDICT_SKIP:g} x that",
            "- peak RSS (VmHWM) includes each side's runtime: Python with torch's libraries, "
            "trainc with LLVM's JIT",
            f"- load average (1/5/15 min) at the start: {load_before}"]
    emit(head, sys.stdout)
    body = ["", row(COLUMNS), row(["---"] * len(COLUMNS))]
    emit(body, sys.stdout)
    for name in args.models:
        for optim in args.optim:
            for threads in args.threads:
                for batch in sorted(args.batches):
                    line = runner.case(name, optim, threads, batch)
                    body.append(line)
                    emit([line], sys.stdout)
    elapsed = time.time() - started
    tail = ["", "Machine:", ""] + ["- " + x for x in machine.describe(torch.__version__,
                                                                        runner.blas)] + \
        ["", f"Load average at the end: {machine.load()}; the run took {elapsed / 60:.1f} min."]
    emit(tail, sys.stdout)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runner.raw, f)
    if args.write:
        with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
            emit(head + body + tail, f)
    sys.exit(1 if runner.failed else 0)


def git_commit():
    r = subprocess.run(["git", "-C", cases.SOURCE, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", cases.SOURCE, "status", "--porcelain", "-uno"],
                           capture_output=True, text=True).stdout.strip()
    return (r.stdout.strip() or "unknown") + (" (with local changes)" if dirty else "")


if __name__ == "__main__":
    main(sys.argv[1:])
