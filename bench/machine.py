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


def load():
    """The 1, 5 and 15 minute load averages, as uptime prints them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
