"""PyTorch's side of the benchmark (bench/run.py starts one per case): the
zoo model with the ONNX export's weights, the case's batch and optimizer,
trained in eager mode one burst at a time as the harness asks, the same
protocol as `tc_step_bench --serve`:

    prints   {"ready": true, "blas": [...], "threads": N}
    reads    "step K"  -> prints one line of K "WALL,CPU" pairs: each step's
                          milliseconds of wall-clock and of process CPU time
             "quit"    -> exits

usage: torch_side.py SOURCE_DIR MODEL ONNX NPZ OPTIM THREADS LR

OPENBLAS_NUM_THREADS must be set by the caller: OpenBLAS reads it when torch
is imported.
"""
import importlib.util
import json
import os
import sys
import time


def loaded_blas():
    """The BLAS libraries mapped into this process (after importing torch)."""
    with open("/proc/self/maps") as f:
        libs = {os.path.basename(line.split()[-1]) for line in f
                if "blas" in line.lower() and "/" in line}
    return sorted(libs)


def load_zoo(source):
    spec = importlib.util.spec_from_file_location("zoo", os.path.join(source, "models", "zoo.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_onnx_weights(model, onnx_path):
    """The export's initializers into the module. A training-mode export
    keeps PyTorch's names; every floating-point parameter and buffer must
    get its value from the file."""
    import onnx
    import onnx.numpy_helper
    import torch
    state = model.state_dict()
    found = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy())
             for t in onnx.load(onnx_path).graph.initializer if t.name in state}
    missing = [k for k, v in state.items() if v.is_floating_point() and k not in found]
    if missing:
        raise SystemExit(f"torch_side: {onnx_path} has no initializer for {missing[:5]}")
    model.load_state_dict(found, strict=False)


def main():
    source, name, onnx_path, npz, optim, threads, lr = sys.argv[1:8]
    import numpy as np
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(int(threads))
    zoo = load_zoo(source)
    model = zoo.build(name)
    load_onnx_weights(model, onnx_path)
    model.train()
    if optim == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=float(lr), momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=float(lr))
    data = np.load(npz)
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    print(json.dumps({"ready": True, "blas": loaded_blas(), "threads": torch.get_num_threads()}),
          flush=True)
    for line in sys.stdin:
        if line == "quit\n":
            break
        words = line.split()
        if len(words) != 2 or words[0] != "step":
            raise SystemExit(f"torch_side: unknown command {line!r}")
        times = []
        for _ in range(int(words[1])):
            t0, c0 = time.perf_counter(), time.process_time()
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            times.append(f"{(time.perf_counter() - t0) * 1e3:.4f},"
                         f"{(time.process_time() - c0) * 1e3:.4f}")
        print(" ".join(times), flush=True)


if __name__ == "__main__":
    main()
