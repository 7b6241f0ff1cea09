"""The benchmark harness: trainc's compiled training step against PyTorch
eager, same model, same batch, same optimizer, in one run, interleaved.

Prints ms/step (median over the timed steps after warm-up) for both, the
ratio PyTorch/trainc (> 1: trainc is faster), and trainc's JIT compile time.
Both run on one thread (PyTorch with torch.set_num_threads(1) and
OPENBLAS_NUM_THREADS=1, set before torch is imported).

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/run.py BUILD_DIR [STEPS]
"""
import gzip
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnx.numpy_helper  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
CASES = [("lenet5", "LeNet5"), ("mlp", "MLP")]
BATCHES = [16, 64]


def torch_ms(model_cls, onnx_path, batch, steps):
    spec = importlib.util.spec_from_file_location("export", os.path.join(SOURCE, "models", "export.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = getattr(mod, model_cls)()
    model.load_state_dict({t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy())
                           for t in onnx.load(onnx_path).graph.initializer})
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16)[:batch * 784].reshape(batch, 1, 28, 28)
    x = torch.from_numpy(((x.astype(np.float32) / 255) - 0.2860) / 0.3530)
    y = torch.randint(0, 10, (batch,))
    times = []
    for k in range(steps + 5):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if k >= 5:
            times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def main():
    build = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    torch.set_num_threads(1)
    print(f"# trainc vs PyTorch {torch.__version__} eager, training step, 1 thread, {steps} steps")
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print("| model | batch | trainc ms/step | PyTorch ms/step | ratio | trainc compile s |")
    print("|---|---|---|---|---|---|")
    for name, cls in CASES:
        onnx_path = os.path.join(SOURCE, "models", name + ".onnx")
        for batch in BATCHES:
            r = subprocess.run([os.path.join(build, "bench", "tc_step_bench"), onnx_path,
                                os.path.join(SOURCE, "models", name + ".json"), str(batch), str(steps)],
                               capture_output=True, text=True, check=True)
            ours = json.loads(r.stdout)
            theirs = torch_ms(cls, onnx_path, batch, steps)
            print(f"| {name} | {batch} | {ours['median_ms']:.3f} | {theirs:.3f} | "
                  f"{theirs / ours['median_ms']:.2f}x | {ours['compile_s']:.2f} |")


if __name__ == "__main__":
    main()
