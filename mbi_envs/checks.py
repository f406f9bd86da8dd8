"""Argument checks of the env layer: strict integers, booleans, seeds, numbers in a range.

Every check raises :class:`mechanism.InvalidParameterError` (a ``ValueError``) whose message
names the parameter and the value, and returns the value in its canonical Python type. Unlike
:func:`mechanism.errors.require_int_at_least`, :func:`require_int` refuses integral floats
(``2.0``): a float where a count is expected is a caller's mistake worth reporting.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np

from mechanism import InvalidParameterError

__all__ = ["require_int", "require_bool", "check_seed", "check_seeds", "require_real", "require_number_in"]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def require_int(name: str, value: Any, minimum: int) -> int:
    """``int(value)`` for a Python or numpy integer ``>= minimum``; bools and floats (even ``2.0``) are refused."""
    if not _is_int(value) or int(value) < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum} (bool and float refused), "
                                    f"got {value!r}")
    return int(value)


def require_bool(name: str, value: Any) -> bool:
    """``bool(value)`` for ``True``/``False`` (numpy bools too); anything else (``"no"``, 0, 1) is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """``None`` or a Python ``int >= 0`` (numpy integers accepted; bools, floats, strings and
    negative integers refused), what ``numpy.random.default_rng`` and Gymnasium accept."""
    if seed is None:
        return None
    if not _is_int(seed) or int(seed) < 0:
        raise InvalidParameterError(f"{name} must be None or an integer >= 0, got {seed!r}")
    return int(seed)


def check_seeds(seeds: Any, name: str = "seeds", allow_none: bool = True) -> list[int | None]:
    """Every entry of the iterable ``seeds`` through :func:`check_seed` (``name[k]`` named on error);
    a bare int or a string is refused (one seed is ``[seed]``)."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise InvalidParameterError(f"{name} must be an iterable of seeds (e.g. [0, 1, 2]), got {seeds!r}")
    out = []
    for k, s in enumerate(seeds):
        if s is None and not allow_none:
            raise InvalidParameterError(f"{name}[{k}] must be an integer >= 0, got None")
        out.append(check_seed(s, f"{name}[{k}]"))
    return out


def require_real(name: str, value: Any) -> float:
    """``float(value)`` for a finite real number: Python or numpy ints and floats, or a 0-d array
    of one; bools, strings (``"0.5"``), sequences, NaN and inf are refused."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidParameterError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def require_number_in(name: str, value: Any, low: float, high: float, why: str = "") -> float:
    """:func:`require_real` in ``[low, high]``; ``why``, if given, says in the message what a
    value outside would mean."""
    v = require_real(name, value)
    if not low <= v <= high:
        raise InvalidParameterError(f"{name} must be in [{low}, {high}]{why}, got {value!r}")
    return v
