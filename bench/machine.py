"""How fast this machine runs plain Python right now.

The virtual machines the benchmarks run on change speed from one minute to
the next (the same commit measured a first touch p99 of 0.65 s and of 4 s
within an hour). Each script's figures are printed beside this reference,
a fixed loop of integer arithmetic, so figures are compared at like speeds.
"""

from __future__ import annotations

import time

ROUNDS = 2_000_000


def loop_ms() -> float:
    """Milliseconds for the fixed loop, the best of three."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for n in range(ROUNDS):
            total += n * n % 7
        best = min(best, time.perf_counter() - started)
    return best * 1000
