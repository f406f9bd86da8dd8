"""Errors raised by the mechanism core.

Every error names the offending parameter (or graph node) and its value, and is raised
before any state changes.
"""
from __future__ import annotations

import math
from typing import Any

import torch


class MechanismError(ValueError):
    """Base class of every error the mechanism core raises on bad input."""


class InvalidParameterError(MechanismError):
    """A parameter is outside its valid domain (e.g. ``lam <= 0``, ``n_agents < 1``)."""


class ShapeMismatchError(MechanismError):
    """A tensor has the wrong shape for the problem or graph it is fed to."""


class NonFiniteError(MechanismError):
    """A tensor that must be finite holds NaN or inf."""


class GraphError(MechanismError):
    """A D-DAG is malformed: a cycle, a dangling edge, a dangling agent, a duplicate name."""


def require_positive(name: str, value: Any) -> None:
    """Raise :class:`InvalidParameterError` unless every entry of ``value`` is finite and > 0."""
    t = torch.as_tensor(value, dtype=torch.float64)
    if not torch.isfinite(t).all() or (t <= 0).any():
        raise InvalidParameterError(f"{name} must be finite and > 0, got {_short(value)}")


def require_nonnegative(name: str, value: Any) -> None:
    """Raise :class:`InvalidParameterError` unless every entry of ``value`` is finite and >= 0."""
    t = torch.as_tensor(value, dtype=torch.float64)
    if not torch.isfinite(t).all() or (t < 0).any():
        raise InvalidParameterError(f"{name} must be finite and >= 0, got {_short(value)}")


def require_int_at_least(name: str, value: Any, minimum: int) -> int:
    """Return ``int(value)`` or raise unless it is an integer >= ``minimum``.

    A float with an integral value (``1e4``, ``2.0``) counts as that integer, so that counts written
    in scientific notation work; ``bool`` and fractional values are refused."""
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
        isinstance(value, float) and value.is_integer()
    ):
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if int(value) < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def require_finite_number(name: str, value: Any) -> float:
    """Return ``float(value)`` or raise unless it is a finite real number (a string or a bool is refused,
    though ``float()`` would accept ``"10"`` and ``True``)."""
    if isinstance(value, (str, bytes, bool)):
        raise InvalidParameterError(f"{name} must be a finite number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a finite number, got {value!r}") from None
    if not math.isfinite(v):
        raise InvalidParameterError(f"{name} must be a finite number, got {value!r}")
    return v


def distinct_values(t: torch.Tensor) -> torch.Tensor:
    """The part of ``t`` that holds distinct memory: a broadcast (stride-0) dimension shrinks to 1."""
    if t.dim() == 0 or 0 not in t.stride():
        return t
    return t[tuple(slice(0, 1) if s == 0 else slice(None) for s in t.stride())]


def require_finite_tensor(name: str, t: torch.Tensor) -> None:
    """Raise :class:`NonFiniteError` if ``t`` holds NaN or inf (O(1) for a broadcast scalar)."""
    t = distinct_values(t)
    if not torch.isfinite(t).all():
        bad = (~torch.isfinite(t)).nonzero()[0].tolist()
        raise NonFiniteError(f"{name} must be finite; first non-finite entry at index {bad}: "
                             f"{t[tuple(bad)].item()!r}")


def _short(value: Any) -> str:
    text = repr(value.tolist() if isinstance(value, torch.Tensor) else value)
    return text if len(text) < 120 else text[:117] + "..."
