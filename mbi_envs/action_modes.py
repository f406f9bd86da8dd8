"""The two action boxes of :class:`~mbi_envs.MechanismEnv`: each agent's own box, or ``[-1, 1]`` for all.

``action_space="native"`` (the default, what MBI policies use): agent ``i`` proposes ``x_i`` in its
own feasible box ``[low_i, high_i]``. Where the problem gives agents different boxes (a
generator's ``[Pmin_i, Pmax_i]``, a supply-chain stage's capacity) tools that share one policy
over all agents refuse the env: SuperSuit's vector conversion, TorchRL's ``PettingZooWrapper``,
RLlib's shared policy all want one action space.

``action_space="normalized"``: every agent acts in ``Box(-1, 1, (d,))``, mapped affinely onto its
own box by :func:`from_unit` (``a = -1`` is ``low_i``, ``a = 1`` is ``high_i``; ``a`` is clipped to
``[-1, 1]`` first), and its observation ends with its box ``[low_i (d), high_i (d)]``, so that a
shared policy can tell the agents' boxes apart.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ACTION_SPACES", "from_unit", "bound_names", "bound_columns"]

ACTION_SPACES = ("native", "normalized")


def from_unit(action: Any, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Map ``a ∈ [−1, 1]`` (clipped first) onto ``[low, high]``: ``low + (a + 1)/2 · (high − low)``, float64."""
    a = np.clip(np.asarray(action, dtype=np.float64).reshape(low.shape), -1.0, 1.0)
    return np.clip(low + (a + 1.0) / 2.0 * (high - low), low, high)  # no rounding past the corners


def bound_names(action_dim: int) -> list[str]:
    """Observation layout names of the appended box: ``action_low``, ``action_high`` (indexed if ``d > 1``)."""
    dims = [""] if action_dim == 1 else [f"[{j}]" for j in range(action_dim)]
    return [f"action_low{s}" for s in dims] + [f"action_high{s}" for s in dims]


def bound_columns(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For boxes ``low, high`` ``(N, d)``: the per-agent columns ``(N, 2d)`` to append to the
    observations, and their observation bounds (the same for every agent): ``low`` columns in
    ``[min_j low_j, max_j low_j]``, ``high`` columns in ``[min_j high_j, max_j high_j]``, each
    widened to ``[v, v + 1]`` where all agents share the value ``v`` (a Box needs ``low ≤ high``;
    a zero-width interval is legal but makes min-max normalisers divide by zero)."""
    cols = np.concatenate([low, high], axis=1)
    lo, hi = cols.min(axis=0), cols.max(axis=0)
    return cols, lo, np.where(lo == hi, lo + 1.0, hi)
