"""Timing the benchmarks share: the best wall time of a few runs with its CPU seconds, and the load average."""

from __future__ import annotations

import time
from collections.abc import Callable

#: Best wall time -> CPU seconds (``time.process_time``, all threads) of that run; a benchmark may add its own.
CPU_OF_BEST: dict[float, float] = {}


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time (s) of ``repeat`` runs of ``fn``; its CPU seconds go into :data:`CPU_OF_BEST`."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t, time.process_time() - c))
    CPU_OF_BEST[best[0]] = best[1]
    return best[0]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or "n/a" where /proc is not there."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"
