#!/usr/bin/python3
"""trainc's matrix product against OpenBLAS SGEMM (numpy), one thread each.

build/bench/tc_matmul_bench JIT-compiles a one-node Gemm graph per shape
(what trainc runs: the kernel bitcode optimized for this CPU); numpy's
matmul calls OpenBLAS in this process. Runs are interleaved shape by shape
and round by round so both see the same machine load; each round reports a
median over REPS runs, and the table gives the median over rounds. Times
are this thread's CPU time by default (--clock wall for the wall clock):
on a machine shared with other jobs, CPU time leaves out the slices other
processes take, though not their effect on the caches. OpenBLAS runs with
the kernels machine.openblas_coretype picks (its best here, where its own
CPU detection falls back to generic ones).

With --baseline OTHER_BUILD, the tc_matmul_bench of another build (say, of
the previous kernel) runs interleaved too, as a third column.

usage: bench/matmul.py [--build build] [--baseline BUILD] [--rounds 5] [--quick]
                       [--clock cpu|wall]
"""
import argparse
import os
import subprocess
import sys
import time

import machine  # noqa: E402

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
CORETYPE = machine.openblas_coretype()
if CORETYPE:
    os.environ["OPENBLAS_CORETYPE"] = CORETYPE
import numpy as np  # noqa: E402  (after the OpenBLAS settings)

# (label, M, N, K, transA, transB)
SQUARE = [(f"square {n}", n, n, n, 0, 0) for n in (128, 256, 512, 1024, 2048)]
MODEL = [
    ("mlp fc1 b1", 1, 256, 784, 0, 1),
    ("mlp fc2 b1", 1, 10, 256, 0, 1),
    ("mlp fc1 b16", 16, 256, 784, 0, 1),
    ("mlp fc2 b16", 16, 10, 256, 0, 1),
    ("mlp fc1 b64", 64, 256, 784, 0, 1),
    ("mlp dW fc1 b64", 256, 784, 64, 1, 0),
    ("lenet conv2 im2col", 16, 100, 150, 0, 0),
    ("resnet8 conv 3x3x32 16x16", 32, 256, 288, 0, 0),
    ("resnet8 conv dW 32x288", 32, 288, 256, 0, 1),
    ("resnet8 conv dX 288x256", 288, 256, 32, 1, 0),
    ("matvec 512", 512, 1, 512, 0, 0),
]


def flops(m, n, k):
    return 2.0 * m * n * k


def reps_for(m, n, k):
    return max(3, min(200, int(2e8 / flops(m, n, k))))


def numpy_median(a, b, ta, tb, reps, clock):
    x = a.T if ta else a
    w = b.T if tb else b
    out = np.empty((x.shape[0], w.shape[1]), np.float32)
    np.matmul(x, w, out=out)
    t = []
    for _ in range(reps):
        t0 = clock()
        np.matmul(x, w, out=out)
        t.append(clock() - t0)
    return float(np.median(t))


def start_bench(build, shapes):
    exe = os.path.join(build, "bench", "tc_matmul_bench")
    argv = [exe] + [f"{m},{n},{k},{ta},{tb}" for _, m, n, k, ta, tb in shapes]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":
        sys.exit(f"{exe} failed to start")
    return proc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--baseline", help="another build whose tc_matmul_bench runs alongside")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--quick", action="store_true", help="square 256 and 512 only")
    args = ap.parse_args()
    shapes = SQUARE + MODEL
    if args.quick:
        shapes = [s for s in SQUARE if s[1] in (256, 512)]
    builds = [args.build] + ([args.baseline] if args.baseline else [])
    procs = [start_bench(b, shapes) for b in builds]
    rng = np.random.default_rng(0)
    mats = []
    for _, m, n, k, ta, tb in shapes:
        a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        mats.append((a, b))
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    column = 1 if args.clock == "cpu" else 0
    tc_t = [[[] for _ in shapes] for _ in procs]
    np_t = [[] for _ in shapes]
    for _ in range(args.rounds):
        for i, (_, m, n, k, ta, tb) in enumerate(shapes):
            reps = reps_for(m, n, k)
            np_t[i].append(numpy_median(*mats[i], ta, tb, reps, clock))
            for p, proc in enumerate(procs):
                proc.stdin.write(f"{i} {reps}\n")
                proc.stdin.flush()
                tc_t[p][i].append(float(proc.stdout.readline().split()[column]))
    for proc in procs:
        proc.stdin.close()
        proc.wait()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}  "
          f"rounds {args.rounds}, clock {args.clock}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"OPENBLAS_CORETYPE={CORETYPE or '(OpenBLAS chooses)'}")
    print(f"{'shape':28s} {'M':>5s} {'N':>5s} {'K':>5s} ta tb {'trainc GF/s':>11s} "
          f"{'OpenBLAS GF/s':>13s} {'ratio':>6s}" + ("  baseline GF/s" if args.baseline else ""))
    for i, (label, m, n, k, ta, tb) in enumerate(shapes):
        gf = [flops(m, n, k) / float(np.median(t[i])) * 1e-9 for t in tc_t]
        gn = flops(m, n, k) / float(np.median(np_t[i])) * 1e-9
        line = f"{label:28s} {m:5d} {n:5d} {k:5d} {ta:2d} {tb:2d} {gf[0]:11.2f} {gn:13.2f} "
        line += f"{gf[0] / gn:6.2f}" + (f" {gf[1]:14.2f}" if args.baseline else "")
        print(line)


if __name__ == "__main__":
    main()
