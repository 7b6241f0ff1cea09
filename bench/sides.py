"""The two sides of a case as live processes (trainc's `tc_step_bench
--serve`, PyTorch's bench/torch_side.py) speaking the same line protocol:
a JSON ready line, then "step K" answered by K (wall, CPU) milliseconds. Each process
runs only its side, so its VmHWM is that side's peak memory."""
import json
import os
import subprocess
import sys
import tempfile

from cases import LR, SOURCE


class SideError(Exception):
    pass


class Side:
    def __init__(self, label, argv, env):
        self.label = label
        # a file, not a pipe: nobody reads stderr while the side runs
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, env=env)
        line = self.proc.stdout.readline()
        try:
            self.ready = json.loads(line)
        except ValueError:
            self.ready = None
        if not self.ready or not self.ready.get("ready"):
            raise SideError(f"{label} did not start (exit {self.stop()}): "
                            f"{self.errors() or line.strip()}")

    def step(self, k):
        """Runs k steps; their (wall, CPU) milliseconds."""
        self.proc.stdin.write(f"step {k}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        try:
            times = [tuple(float(x) for x in w.split(",")) for w in line.split()]
        except ValueError:
            times = []
        if any(len(t) != 2 for t in times):
            times = []
        if len(times) != k:
            raise SideError(f"{self.label} failed a step (exit {self.stop()}): "
                            f"{self.errors() or line.strip()}")
        return times

    def stop(self):
        """Waits briefly for a process that is ending, kills it otherwise;
        its exit status."""
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def errors(self):
        """The end of what the process wrote on stderr."""
        self.stderr.seek(0)
        return self.stderr.read().strip()[-2000:]

    def peak_rss_bytes(self):
        """VmHWM: the process's peak resident set so far."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise SideError(f"{self.label}: no VmHWM in /proc/{self.proc.pid}/status")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.stderr):
            f.close()


def trainc_side(build, onnx, spec, batch, threads, threads_flag):
    """tc_step_bench --serve on the case; `--threads N` only where
    tc_step_bench takes it (threads_flag). The compile cache is off: the
    compile time is a cold JIT of the whole training step."""
    argv = [os.path.join(build, "bench", "tc_step_bench"), onnx, spec, str(batch), "1", "--serve"]
    if threads_flag:
        argv += ["--threads", str(threads)]
    env = dict(os.environ, TRAINC_NO_CACHE="1")
    return Side("trainc", argv, env)


def torch_side(name, onnx, npz, optim, threads, openblas_threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(openblas_threads))
    argv = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "torch_side.py"),
            SOURCE, name, onnx, npz, optim, str(threads), repr(LR)]
    return Side("PyTorch", argv, env)
