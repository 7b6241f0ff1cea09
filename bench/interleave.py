"""Interleaved timing of two live sides (sides.Side): short bursts of steps,
alternating between them (and which goes first), so that whatever else the
machine does in the meantime slows both alike."""
import statistics
import time

BURST_MS = 20.0  # a burst is about this long (at least one step, at most 10)
MAX_STEP_S = 2.0  # a case whose step is slower (idle_ms) is skipped


class TooSlow(Exception):
    pass


def burst_size(est_ms):
    return max(1, min(10, int(BURST_MS / max(est_ms, 1e-3))))


def idle_ms(wall_ms, cpu_ms, threads):
    """What a step would take on an idle machine, roughly: its wall-clock,
    or its CPU time spread over its threads where that is less (a busy
    machine stretches wall-clock, not CPU time)."""
    return min(wall_ms, cpu_ms / threads)


def measure(a, b, steps, warmup, gap_s, threads):
    """Warms both sides up (warmup steps each, alternating), then times
    bursts until each has `steps` timed steps. gap_s: an idle pause at each
    hand-over, so a side's worker threads that spin after its step (OpenMP
    does, for milliseconds) do not run into the other's step. Returns
    {side: [(wall ms, CPU ms) of each timed step]}. Raises TooSlow (after
    two steps) where a side's step takes over MAX_STEP_S (idle_ms)."""
    last = {}
    for i in range(max(warmup, 2)):
        for side in (a, b) if i % 2 == 0 else (b, a):
            last[side] = idle_ms(*side.step(1)[0], threads)
            time.sleep(gap_s)
        if i >= 1:  # the first step may pay for lazy initialisation
            if max(last.values()) > MAX_STEP_S * 1e3:
                raise TooSlow(", ".join(f"{s.label} step {last[s] / 1e3:.2f} s" for s in (a, b)))
    k = burst_size(max(last.values()))
    times = {a: [], b: []}
    r = 0
    while min(len(t) for t in times.values()) < steps:
        for side in (a, b) if r % 2 == 0 else (b, a):
            times[side] += side.step(k)
            time.sleep(gap_s)
        r += 1
    return times


def summary(times):
    """Medians and minimum of a side's (wall, CPU) step times."""
    wall = [w for w, _ in times]
    return {"median_ms": statistics.median(wall), "min_ms": min(wall),
            "cpu_median_ms": statistics.median(c for _, c in times), "n": len(times)}
