"""Wall-clock timing shared by the benchmark scripts (speed is measured there, never in tests)."""
from __future__ import annotations

import time
from typing import Any, Callable

__all__ = ["best_time_per_call"]


def best_time_per_call(fn: Callable[[], Any], seconds: float, repeats: int,
                       sync: Callable[[], None] = lambda: None) -> float:
    """Best-of-``repeats`` mean seconds per call of ``fn``.

    A warm-up of about ``seconds / 10`` (at least 3 calls) sizes the repeats so that each lasts
    about ``seconds / repeats``; ``sync`` (e.g. ``torch.cuda.synchronize``) runs before each clock
    read so asynchronous devices are timed to completion.
    """
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds / 10 or n < 3:
        fn()
        n += 1
    sync()
    calls = max(3, int(n * 10 / repeats))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best
