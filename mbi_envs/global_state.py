"""The global state of a :class:`~mbi_envs.MechanismEnv` (PettingZoo's ``state()`` / ``state_space``).

What a centralised critic (MAPPO-style) asks PettingZoo for: one flat float64 vector

``[X (N·d), G (N·d), public (p), t/T]``

* ``X``: every agent's current action ``x_i`` (agent 0 first, each ``(d,)``), in the native units;
* ``G``: every agent's DPM incentive ``G_i = −∂L/∂x_i`` under the Planner's belief;
* ``public``: the Planner's public data, the scenario's extra infos in their order (e.g. the system
  marginal price, the multiplier, the balance and the generation cost of ``economic_dispatch_v0``;
  ``p = 0`` for most scenarios);
* ``t/T``: the progress through the episode (one-shot: 0 before the submission, 1 after).

Before the one-shot submission there is no joint action: ``X`` is every agent's default action
(the projection of 0 onto its box, the one the difference reward compares with), ``G`` and the
public data are 0 and ``t/T`` is 0 (so the state stays inside ``state_space``). The true types
(private costs, the true global loss) are not part of the state: the Planner does not know them.

Bounds (:func:`state_space`): ``X`` in each agent's own box, ``|G_i| ≤ B_i`` (the incentive bound
of the observation space, ±inf where the scenario has none), the public data ±inf, ``t/T`` in [0, 1].
"""
from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["state_names", "state_space", "state_vector", "public_data"]


def public_data(extra: dict[str, Any] | None) -> np.ndarray:
    """The scenario's extra infos flattened in their order (an empty vector for ``None``)."""
    if not extra:
        return np.zeros(0)
    return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in extra.values()])


def state_names(n_agents: int, action_dim: int, extra: dict[str, Any] | None) -> list[str]:
    """A name per entry of the state vector, e.g. ``x[agent_3]``, ``G[agent_3][1]``, ``multiplier``, ``progress``."""
    dims = [""] if action_dim == 1 else [f"[{j}]" for j in range(action_dim)]
    agents = [f"[agent_{i}]{s}" for i in range(n_agents) for s in dims]
    public = []
    for k, v in (extra or {}).items():
        size = int(np.size(v))
        public += [k] if np.ndim(v) == 0 else [f"{k}[{j}]" for j in range(size)]
    return [f"x{a}" for a in agents] + [f"G{a}" for a in agents] + public + ["progress"]


def state_space(low: np.ndarray, high: np.ndarray, g_bound: np.ndarray, n_public: int) -> spaces.Box:
    """``Box`` float64 of the state for action boxes ``low, high`` and incentive bound ``g_bound`` (all ``(N, d)``)."""
    inf = np.full(n_public, np.inf)
    lo = np.concatenate([low.ravel(), -g_bound.ravel(), -inf, [0.0]])
    hi = np.concatenate([high.ravel(), g_bound.ravel(), inf, [1.0]])
    return spaces.Box(lo, hi, dtype=np.float64)


def state_vector(X: np.ndarray, G: np.ndarray, public: np.ndarray, progress: float) -> np.ndarray:
    """The state ``[X, G, public, progress]`` as one float64 vector."""
    return np.concatenate([np.ravel(X), np.ravel(G), np.ravel(public), [float(progress)]]).astype(np.float64)
