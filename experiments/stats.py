"""Statistics for the benchmark: the median over seeds with a seeded 95% bootstrap confidence interval.

``scipy.stats.bootstrap`` (percentile method: BCa is undefined for the degenerate samples a
deterministic contender produces) does the resampling. ``None`` in a sample means "never
happened" (e.g. an accuracy never reached) and counts as +inf, so a median is ``None`` when at
least half of the seeds never got there; every returned number is finite or ``None``.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Iterable

import numpy as np
import scipy.stats

__all__ = ["median_ci", "finite_or_none"]


def finite_or_none(value: Any) -> float | None:
    """``float(value)`` if it is a finite number, else ``None``."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def median_ci(values: Iterable[float | None], confidence: float = 0.95, n_resamples: int = 2000,
              seed: int = 0) -> dict[str, Any]:
    """Median over seeds and a bootstrap CI of the median.

    Returns ``{"median", "ci_low", "ci_high", "n", "n_null"}``: ``None`` entries (and non-finite
    values) count as +inf; with a single value the CI is ``None``; with identical values it is
    that value on both sides.
    """
    raw = list(values)
    data = np.array([np.inf if finite_or_none(v) is None else float(v) for v in raw], dtype=float)
    out: dict[str, Any] = {"median": None, "ci_low": None, "ci_high": None, "n": len(raw),
                           "n_null": int(np.isinf(data).sum())}
    if data.size == 0:
        return out
    out["median"] = finite_or_none(np.median(data))
    if data.size == 1:
        return out
    if np.all(data == data[0]):
        out["ci_low"] = out["ci_high"] = finite_or_none(data[0])
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = scipy.stats.bootstrap((data,), np.median, confidence_level=confidence, n_resamples=n_resamples,
                                    method="percentile", random_state=np.random.default_rng(seed),
                                    vectorized=True)
    out["ci_low"] = finite_or_none(res.confidence_interval.low)
    out["ci_high"] = finite_or_none(res.confidence_interval.high)
    return out
