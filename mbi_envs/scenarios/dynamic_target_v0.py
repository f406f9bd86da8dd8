"""Dynamic target (the paper's C.15): C.13's problem whose target switches mid-episode.

**Loss.** ``L = (Σx − Y_t)² + Σ λ_i x_i²`` with ``λ = (0.1, 0.5, 0.2, 0.4, 0.6)``; ``Y_t = Y``
before step ``switch_step`` and ``Y_after`` from it on (the problem after step t is the one in
force at t; ``env.problem`` and the reference optimum follow the switch).

**Action space.** ``Box(0, max(2, 2|Y|, 2|Y_after|), (1,), float64)``; clipped.

**Observation.** iterative ``[x_i, G_i, λ_i, agent_index, t/T]`` (agents learn of the switch only
through ``G_i``); one-shot ``[λ_i, agent_index]`` (scored at step 1, so under ``Y`` unless
``switch_step = 1``).

**Reward.** See :class:`mbi_envs.MechanismEnv`. The team reward ``L_{t−1} − L_t`` compares the
losses in force at ``t−1`` and ``t``, so the return still telescopes to ``L_0 − L_T``; the jump
of the loss at the switch shows up as a negative reward in that step.

**Starting state.** ``x0 = 0.1`` (C.13), or ``U[start_low, start_high]`` with ``x0=None``.

**Arguments.** ``Y=7.461, Y_after=10.0, switch_step=5000, lam=C.4's, x0=0.1, start_low=0.0,
start_high=2.0``; default horizon 10,000 steps (the paper's). ``Y`` and ``Y_after`` ``>= 0``
(a negative target under ``x ≥ 0`` has no closed-form reference), ``switch_step`` an integer
``>= 1`` (a ``switch_step`` beyond the env's ``max_steps`` means the switch never happens),
the rest as :mod:`~mbi_envs.scenarios.heterogeneous_parallel_v0`'s.

**Version history.** v0: initial version.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import heterogeneous_parallel_v0 as het
from ..scenario import Scenario, SwitchAt
from ..registry import pettingzoo_constructors
from ._params import nonnegative_target, require_int

ENV_ID = "dynamic_target_v0"
GYM_ID = "mbi_envs/DynamicTarget-v0"
PAPER = "C.15"


def build(*, Y: float = het.C4_Y, Y_after: float = 10.0, switch_step: int = 5000, lam: Any = het.C4_LAM,
          x0: Any = 0.1, start_low: float = 0.0, start_high: float = 2.0) -> Scenario:
    """The C.15 preset with the given parameters (see the module docstring)."""
    switch_step = require_int("switch_step", switch_step, 1)
    Y_after = nonnegative_target("Y_after", Y_after)
    base = het.build(lam=lam, Y=Y, x0=x0, start_low=start_low, start_high=start_high,
                     _name=ENV_ID, _paper=PAPER)
    after = base.problem.with_data(Y=Y_after)
    base.problem_at = SwitchAt(base.problem, after, switch_step)
    base.action_high = np.maximum(base.action_high, 2.0 * abs(Y_after))
    base.max_steps = 10_000
    return base


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
