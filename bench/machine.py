"""The machine a benchmark ran on, for the table's header."""
import os
import platform
import re
import subprocess


def lscpu():
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return dict((k.strip(), v.strip()) for k, v in
                (line.split(":", 1) for line in out.splitlines() if ":" in line))


def describe(torch_version, blas):
    """Lines (markdown) naming the CPU, its vector extensions, memory, the
    PyTorch build and the BLAS it runs with."""
    cpu = lscpu()
    flags = cpu.get("Flags", "").split()
    simd = [f for f in flags if re.fullmatch(r"avx\w*|fma|f16c|amx\w*", f)]
    mem = ""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / (1 << 20):.0f} GiB"
    cores = cpu.get("CPU(s)", str(os.cpu_count()))
    per_core = cpu.get("Thread(s) per core", "?")
    return [f"CPU: {cpu.get('Model name', platform.processor())}, {cores} logical CPUs "
            f"({per_core} thread(s) per core), {cpu.get('Hypervisor vendor', 'no') } hypervisor, "
            f"L2 {cpu.get('L2 cache', '?')}, L3 {cpu.get('L3 cache', '?')}, {mem}",
            f"vector extensions: {' '.join(simd) or 'none'}",
            f"PyTorch {torch_version} (eager), BLAS loaded: {', '.join(blas) or 'none found'}",
            f"kernel: {platform.release()}"]


def openblas_coretype():
    """The OPENBLAS_CORETYPE under which OpenBLAS, PyTorch's BLAS and numpy's,
    runs its best kernels here: the caller's setting if any; else, where
    OpenBLAS does not know the CPU and falls back to its generic Prescott
    kernels (OpenBLAS 0.3.21 on Emerald Rapids: 19-27 GFLOP/s at 1024^2
    SGEMM instead of 150), the newest kernels the CPU's flags run. None
    where OpenBLAS's own choice stands. Set it in the environment before
    numpy or torch loads OpenBLAS."""
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    probe = ("import ctypes, numpy.linalg\n"
             "for line in open('/proc/self/maps'):\n"
             "    if 'libopenblas' in line:\n"
             "        lib = ctypes.CDLL(line.split()[-1])\n"
             "        lib.openblas_get_corename.restype = ctypes.c_char_p\n"
             "        print(lib.openblas_get_corename().decode()); break\n")
    out = subprocess.run(["/usr/bin/python3", "-c", probe], capture_output=True,
                         text=True).stdout.strip()
    if out.lower() != "prescott":
        return None
    flags = lscpu().get("Flags", "").split()
    if "avx512f" in flags:
        return "SkylakeX"
    if "avx2" in flags:
        return "Haswell"
    return None


def load():
    """The 1, 5 and 15 minute load averages, as uptime prints them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
