"""Hidden cost / asymmetric information (the paper's C.14; Bayesian incentive C.17).

**Loss.** C.4's heterogeneous problem ``L = (Σx − Y)² + Σ λ_i x_i²``, ``Y = 7.461``,
``λ = (0.1, 0.5, 0.2, 0.4, 0.6)``. The agents' TRUE types are ``true_lam`` (agent 1's true
``λ_1 = 0.3``) while the Planner's incentive ``G`` uses its belief ``lam`` (``λ̂_1 = 0.1``; C.17's
Bayesian Planner uses ``E[λ_1] = 0.2``: pass ``lam=(0.2, 0.5, 0.2, 0.4, 0.6)``). Rewards, infos'
``global_loss`` and the reference optimum are under the TRUE types: the loss gap measures the
penalty of the hidden information.

**Action space.** ``Box(0, max(2, 2|Y|), (1,), float64)`` per agent; clipped.

**Observation.** iterative ``[x_i, G_i, λ_i (true: the agent knows its own type), agent_index,
t/T]``; one-shot ``[λ_i, agent_index]``.

**Reward.** See :class:`mbi_envs.MechanismEnv`.

**Starting state.** ``x0 = 1`` (C.4), or ``U[start_low, start_high]`` with ``x0=None``.

**Arguments.** ``lam`` (belief) ``=(0.1, 0.5, 0.2, 0.4, 0.6)``, ``true_lam=(0.3, 0.5, 0.2, 0.4,
0.6)``, ``Y=7.461``, ``x0=1.0``, ``start_low=0.0, start_high=2.0``; default horizon 100,000.
Checked as :mod:`~mbi_envs.scenarios.heterogeneous_parallel_v0`'s (``Y >= 0``, ``λ > 0``, ``x0`` in the box).

**Version history.** v0: initial version.
"""
from __future__ import annotations

from typing import Any

from . import heterogeneous_parallel_v0 as het
from ..scenario import Scenario
from ..registry import pettingzoo_constructors

ENV_ID = "hidden_cost_v0"
GYM_ID = "mbi_envs/HiddenCost-v0"
PAPER = "C.14, C.17"
TRUE_LAM = (0.3, 0.5, 0.2, 0.4, 0.6)


def build(*, lam: Any = het.C4_LAM, true_lam: Any = TRUE_LAM, Y: float = het.C4_Y, x0: Any = 1.0,
          start_low: float = 0.0, start_high: float = 2.0) -> Scenario:
    """The C.14 preset with the given parameters (see the module docstring)."""
    return het.build(lam=lam, Y=Y, true_lam=true_lam, x0=x0, start_low=start_low,
                     start_high=start_high, _name=ENV_ID, _paper=PAPER)


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
