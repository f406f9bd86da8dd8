"""Symmetric parallel system (the paper's C.2; also C.6 PPO, C.7 step sizes, C.8 misspecification, C.9 noise).

**Loss.** ``L(x) = (Σ_i x_i − Y)² + λ Σ_i x_i²`` (system loss ``(Σx − Y)²``, agent cost ``λ x_i²``),
closed-form optimum ``x_i* = Y/(N + λ)``, ``L* = λY²/(N + λ)`` under the true λ.

**Action space.** ``Box(0, max(2, 2|Y|), (1,), float64)`` per agent (the paper clamps ``x ≥ 0``;
the upper end is our finite box, which contains ``x*``); out-of-box proposals are clipped.

**Observation.** iterative ``[x_i, G_i, λ_i (true), agent_index/(N−1), t/T]``;
one-shot ``[λ_i, agent_index/(N−1)]``.

**Reward.** See :class:`mbi_envs.MechanismEnv`: team ``L_{t−1} − L_t``, private, difference.

**Starting state.** ``x_i ~ U[start_low, start_high]`` i.i.d. (paper: U[0, 2]), or ``x0`` if given.

**Arguments.** ``n_agents=100, Y=10.0, lam=0.1`` (the Planner's belief), ``true_lam=None``
(C.8: ``lam=0.11, true_lam=0.1``), ``start_low=0.0, start_high=2.0, x0=None``;
default horizon 100,000 steps (the paper's iteration count). ``n_agents`` is an integer ``>= 1``
(not ``2.0``), ``Y >= 0`` (a negative target under ``x ≥ 0`` has no closed-form reference),
``λ > 0``, ``0 <= start_low <= start_high``, ``x0`` inside the action box; anything else raises
``ValueError`` naming the parameter.

**Version history.** v0: initial version.
"""
from __future__ import annotations

from typing import Any

from mechanism import aggregative_problem

from ..scenario import Scenario, aggregative_incentive_bound, uniform_start
from ..registry import pettingzoo_constructors
from ._params import nonnegative_target, require_int, start_in_box, start_range

ENV_ID = "symmetric_parallel_v0"
GYM_ID = "mbi_envs/SymmetricParallel-v0"
PAPER = "C.2, C.6-C.9"


def build(*, n_agents: int = 100, Y: float = 10.0, lam: float = 0.1, true_lam: Any = None,
          start_low: float = 0.0, start_high: float = 2.0, x0: Any = None) -> Scenario:
    """The C.2 preset with the given parameters (see the module docstring)."""
    n_agents, Y = require_int("n_agents", n_agents, 1), nonnegative_target("Y", Y)
    start_low, start_high = start_range(start_low, start_high, 0.0)
    problem = aggregative_problem(n_agents, Y, lam, true_lam=true_lam, name=ENV_ID)
    shape, high = (problem.n_agents, 1), max(2.0, 2.0 * Y, start_high)
    start = uniform_start(start_low, start_high, shape) if x0 is None else start_in_box("x0", x0, shape, 0.0, high)
    return Scenario(ENV_ID, PAPER, problem, 0.0, high, start, max_steps=100_000,
                    incentive_bound=aggregative_incentive_bound)


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
