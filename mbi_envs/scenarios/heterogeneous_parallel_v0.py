"""Heterogeneous parallel system (the paper's C.3; with ``Y=7.461, lam=C4_LAM`` also C.4, C.13, C.16).

**Loss.** ``L(x) = (Σ_i x_i − Y)² + Σ_i λ_i x_i²``; closed form ``x_i* = Y/(λ_i(1 + K))``,
``L* = Y²/(1 + K)``, ``K = Σ_j 1/λ_j`` (true types).

**Action space.** ``Box(0, max(2, 2|Y|), (1,), float64)`` per agent (``x_i* ≤ |Y|`` always); clipped.

**Observation.** iterative ``[x_i, G_i, λ_i (true), agent_index/(N−1), t/T]``;
one-shot ``[λ_i, agent_index/(N−1)]``.

**Reward.** See :class:`mbi_envs.MechanismEnv`.

**Starting state.** ``U[start_low, start_high]`` i.i.d. (default U[0, 2]) or ``x0``
(C.4: ``x0=1``; C.13: ``x0=0.1``).

**Arguments.** ``lam=(0.1, 0.5, 1, 5, 10)`` (C.3; its length is N), ``Y=10.0``, ``n_agents=None``
(if given without ``lam``: ``λ = logspace(−1, 1, n_agents)``; with ``lam`` it must match its
length), ``true_lam=None``, ``start_low=0.0, start_high=2.0, x0=None``; default horizon 100,000.
``n_agents`` is an integer ``>= 1`` (not ``2.0``), ``Y >= 0`` (a negative target under ``x ≥ 0``
has no closed-form reference), every ``λ_i > 0``, ``0 <= start_low <= start_high``, ``x0``
inside the action box; anything else raises ``ValueError`` naming the parameter.

**Version history.** v0: initial version.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mechanism import InvalidParameterError, aggregative_problem
from ..scenario import Scenario, aggregative_incentive_bound, uniform_start
from ..registry import pettingzoo_constructors
from ._params import nonnegative_target, require_int, start_in_box, start_range

ENV_ID = "heterogeneous_parallel_v0"
GYM_ID = "mbi_envs/HeterogeneousParallel-v0"
PAPER = "C.3, C.4, C.13, C.16"
C3_LAM = (0.1, 0.5, 1.0, 5.0, 10.0)
C4_LAM = (0.1, 0.5, 0.2, 0.4, 0.6)
C4_Y = 7.461


def resolve_lam(lam: Any, n_agents: Any) -> np.ndarray:
    """λ as a vector: ``lam`` if given (checked against ``n_agents``), else a log-spaced spread."""
    if lam is None:
        n = 5 if n_agents is None else require_int("n_agents", n_agents, 1)
        return np.asarray(C3_LAM) if n_agents is None else np.logspace(-1, 1, n)
    vec = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    if n_agents is not None and require_int("n_agents", n_agents, 1) != vec.size:
        raise InvalidParameterError(f"n_agents={n_agents!r} does not match len(lam)={vec.size}")
    return vec


def build(*, lam: Any = None, Y: float = 10.0, n_agents: int | None = None, true_lam: Any = None,
          start_low: float = 0.0, start_high: float = 2.0, x0: Any = None,
          _name: str = ENV_ID, _paper: str = PAPER) -> Scenario:
    """The C.3 preset with the given parameters (see the module docstring)."""
    lam_vec = resolve_lam(lam, n_agents)
    Y = nonnegative_target("Y", Y)
    start_low, start_high = start_range(start_low, start_high, 0.0)
    problem = aggregative_problem(lam_vec.size, Y, lam_vec, true_lam=true_lam, name=_name)
    shape, high = (problem.n_agents, 1), max(2.0, 2.0 * Y, start_high)
    start = uniform_start(start_low, start_high, shape) if x0 is None else start_in_box("x0", x0, shape, 0.0, high)
    return Scenario(_name, _paper, problem, 0.0, high, start, max_steps=100_000,
                    incentive_bound=aggregative_incentive_bound)


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
