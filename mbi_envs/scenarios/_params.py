"""Parameter checks shared by the scenario modules' ``build`` (named errors, before any work).

Each check raises :class:`mechanism.InvalidParameterError` (a ``ValueError``) naming the
parameter and its value. Generic checks (integers, booleans) are :mod:`mbi_envs.checks`'.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mechanism import InvalidParameterError

from ..checks import require_bool, require_int, require_real
from ..scenario import fixed_start

__all__ = ["require_bool", "require_int", "require_real", "nonnegative_target", "start_range", "start_in_box"]


def nonnegative_target(name: str, value: Any) -> float:
    """A finite target ``>= 0`` for the aggregative scenarios whose actions are ``x_i >= 0``.

    A negative target would be met best by producing nothing (``x = 0``) while the closed-form
    optimum ``x_i* ∝ Y`` lies outside the box: the env would have no reference optimum and no
    ``loss_gap``. Such a target is refused instead."""
    v = require_real(name, value)
    if v < 0:
        raise InvalidParameterError(
            f"{name} must be >= 0 (actions are x_i >= 0, so a negative target is met best by x = 0 and the "
            f"closed-form optimum Y/(λ_i(1+K)) leaves the box: no reference, no loss_gap), got {value!r}")
    return v


def start_range(start_low: Any, start_high: Any, box_low: float) -> tuple[float, float]:
    """``(start_low, start_high)`` as finite floats with ``box_low <= start_low <= start_high``
    (a start below the action box would be clipped onto it without a word)."""
    lo, hi = require_real("start_low", start_low), require_real("start_high", start_high)
    if lo < box_low:
        raise InvalidParameterError(f"start_low must be >= {box_low} (the action box's lower end), got {start_low!r}")
    if hi < lo:
        raise InvalidParameterError(f"need start_low <= start_high, got start_low={start_low!r}, "
                                    f"start_high={start_high!r}")
    return lo, hi


def start_in_box(name: str, x0: Any, shape: tuple[int, int], low: Any, high: Any):
    """A :func:`~mbi_envs.scenario.fixed_start` whose point lies in the action box ``[low, high]``
    (a point outside would be clipped onto it at reset without a word)."""
    start = fixed_start(x0, shape, name)
    x = start(None)
    lo, hi = np.broadcast_to(low, shape), np.broadcast_to(high, shape)
    if (x < lo).any() or (x > hi).any():
        raise InvalidParameterError(f"{name} must lie in the action box [{np.min(lo)}, {np.max(hi)}], got {x0!r}")
    return start
