#!/usr/bin/python3
"""ResNet-18's convolution layers (64x64 images, batch 64), pass by pass:
trainc's kernels against PyTorch's, one thread each.

build/bench/tc_conv_bench JIT-compiles each layer's forward, input
gradient and weight gradient as one-node graphs (the nodes a training step
runs); PyTorch runs conv2d and aten.convolution_backward with one output
selected (what autograd calls: oneDNN's kernels). Runs are interleaved
pass by pass and round by round, each round a median over REPS runs, the
table the median over rounds, in this thread's CPU time by default. The
last row weighs each layer by how often ResNet-18 has it (the first
layer's input gradient is never computed): the step's convolution time on
each side.

usage: bench/conv_layers.py [--build build] [--rounds 5] [--clock cpu|wall]
"""
import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

# (label, count in ResNet-18, N, C, H, M, K, S, P)
LAYERS = [
    ("conv1 7x7/2, 3->64, 64x64", 1, 64, 3, 64, 64, 7, 2, 3),
    ("layer1 3x3, 64, 16x16", 4, 64, 64, 16, 64, 3, 1, 1),
    ("layer2 3x3/2, 64->128, 16x16", 1, 64, 64, 16, 128, 3, 2, 1),
    ("layer2 3x3, 128, 8x8", 3, 64, 128, 8, 128, 3, 1, 1),
    ("layer2 1x1/2, 64->128", 1, 64, 64, 16, 128, 1, 2, 0),
    ("layer3 3x3/2, 128->256, 8x8", 1, 64, 128, 8, 256, 3, 2, 1),
    ("layer3 3x3, 256, 4x4", 3, 64, 256, 4, 256, 3, 1, 1),
    ("layer3 1x1/2, 128->256", 1, 64, 128, 8, 256, 1, 2, 0),
    ("layer4 3x3/2, 256->512, 4x4", 1, 64, 256, 4, 512, 3, 2, 1),
    ("layer4 3x3, 512, 2x2", 3, 64, 512, 2, 512, 3, 1, 1),
    ("layer4 1x1/2, 256->512", 1, 64, 256, 4, 512, 1, 2, 0),
    # not in ResNet-18: the 2x2 layer's multiply-adds with every tap inside
    # the input, against which the padded layer shows what skipping the
    # taps that fall in the padding (5 of 9 at every output there) saves
    ("3x3, 512, 4x4 unpadded (2x2 out)", 0, 64, 512, 4, 512, 3, 1, 0),
]
PASSES = ("forward", "input grad", "weight grad")


def torch_calls(n, c, h, m, k, s, p):
    x = torch.randn(n, c, h, h)
    w = torch.randn(m, c, k, k)
    oh = (h + 2 * p - k) // s + 1
    dy = torch.randn(n, m, oh, oh)

    def backward(mask):
        return lambda: torch.ops.aten.convolution_backward(
            dy, x, w, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, mask)

    return (lambda: torch.nn.functional.conv2d(x, w, stride=s, padding=p),
            backward([True, False, False]), backward([False, True, False]))


def median(t):
    t = sorted(t)
    return t[len(t) // 2]


def torch_median(call, reps, clock):
    call()
    t = []
    for _ in range(reps):
        t0 = clock()
        call()
        t.append(clock() - t0)
    return median(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    exe = os.path.join(args.build, "bench", "tc_conv_bench")
    argv = [exe] + [",".join(str(v) for v in layer[2:]) for layer in LAYERS]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":
        sys.exit(f"{exe} failed to start")
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    column = 1 if args.clock == "cpu" else 0
    calls = [torch_calls(*layer[2:]) for layer in LAYERS]
    tc_t = [[[] for _ in PASSES] for _ in LAYERS]
    pt_t = [[[] for _ in PASSES] for _ in LAYERS]
    for _ in range(args.rounds):
        for i, (_, _, n, c, h, m, k, s, p) in enumerate(LAYERS):
            oh = (h + 2 * p - k) // s + 1
            reps = max(3, min(30, int(2e8 / (2.0 * n * m * c * k * k * oh * oh) * 10)))
            for j in range(len(PASSES)):
                pt_t[i][j].append(torch_median(calls[i][j], reps, clock))
                proc.stdin.write(f"{i * len(PASSES) + j} {reps}\n")
                proc.stdin.flush()
                tc_t[i][j].append(float(proc.stdout.readline().split()[column]))
    proc.stdin.close()
    proc.wait()
    load = os.getloadavg()
    print(f"load: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}  rounds {args.rounds}, "
          f"clock {args.clock}, torch {torch.__version__}, one thread each; ms (trainc / PyTorch)")
    print()
    print("| layer (batch 64) | count | forward | input grad | weight grad | all three, PyTorch/trainc |")
    print("|---|---|---|---|---|---|")
    total = [0.0, 0.0]
    for i, (label, count, *_) in enumerate(LAYERS):
        tc = [median(t) * 1e3 for t in tc_t[i]]
        pt = [median(t) * 1e3 for t in pt_t[i]]
        cells = " | ".join(f"{a:.2f} / {b:.2f}" for a, b in zip(tc, pt))
        used = [j for j in range(len(PASSES)) if not (i == 0 and j == 1)]
        tcs, pts = sum(tc[j] for j in used), sum(pt[j] for j in used)
        total[0] += count * tcs
        total[1] += count * pts
        print(f"| {label} | {count} | {cells} | {pts / tcs:.2f}x |")
    print(f"| ResNet-18's convolutions, weighted by count (no input grad for conv1) | | | | | "
          f"{total[0]:.1f} / {total[1]:.1f} ms: {total[1] / total[0]:.2f}x |")


if __name__ == "__main__":
    main()
