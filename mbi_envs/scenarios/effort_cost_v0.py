"""Non-orthogonal effort cost (the paper's C.12).

**Loss.** ``L = (x1 + x2 − Y)² + λ(x1² + x2²)``: the symmetric aggregative problem with N = 2,
``L* = λY²/(2 + λ)`` (= 4/21 for the defaults).

**Effort cost.** Agent 1 pays ``κ·t·x1,t²`` in step t (an effort growing with time and with its
action: the paper's agent 1 descends ``L + κ t x1²``); agent 2 pays nothing. The Planner's
incentive ``G`` is the gradient of L alone.

**Action space.** Unbounded problem; the env uses ``Box(−s, s, (1,), float64)``,
``s = max(10, 2|Y|)``; proposals outside are clipped.

**Observation.** iterative ``[x_i, G_i, λ_i, κ_i, agent_index, t/T]`` (``κ_2 = 0``);
one-shot ``[λ_i, κ_i, agent_index]``.

**Reward.** See :class:`mbi_envs.MechanismEnv`; in iterative mode rewards subtract the effort
paid in the step (team: summed over agents). Infos carry ``"effort_cost"`` (cumulative).

**Starting state.** The paper's ``(1, 1)``.

**Arguments.** ``Y=2.0, lam=0.1, kappa=5e-5, x0=(1, 1)``; default horizon 5000 steps. ``Y``
finite, ``λ > 0``, ``κ`` one finite number ``>= 0``, ``x0`` finite with 2 entries; anything else
raises ``ValueError`` naming the parameter.

**Version history.** v0: initial version.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mechanism import InvalidParameterError, aggregative_problem
from ..scenario import Scenario, aggregative_incentive_bound, fixed_start, symmetric_box
from ..registry import pettingzoo_constructors
from ._params import require_real

ENV_ID = "effort_cost_v0"
GYM_ID = "mbi_envs/EffortCost-v0"
PAPER = "C.12"


@dataclass(frozen=True, eq=False)
class GrowingEffort:
    """Effort ``e_i(t) = κ_i · t · ‖x_i‖²`` (C.12: an effort cost that grows with time)."""

    kappa: np.ndarray

    def __call__(self, t: int, X_prev: np.ndarray, X_new: np.ndarray) -> np.ndarray:
        return self.kappa * t * (X_new ** 2).sum(axis=1)


def build(*, Y: float = 2.0, lam: float = 0.1, kappa: float = 5e-5, x0: Any = (1.0, 1.0)) -> Scenario:
    """The C.12 preset with the given parameters (see the module docstring)."""
    kappa = require_real("kappa", kappa)
    if kappa < 0:
        raise InvalidParameterError(f"kappa must be >= 0 (an effort cost, not a subsidy), got {kappa!r}")
    k = np.array([kappa, 0.0])
    problem = aggregative_problem(2, Y, lam, lower=float("-inf"), name=ENV_ID)
    low, high = symmetric_box(Y)

    return Scenario(ENV_ID, PAPER, problem, low, high, fixed_start(x0, (2, 1)), max_steps=5000,
                    effort=GrowingEffort(k), incentive_bound=aggregative_incentive_bound, extra_features=k.reshape(2, 1), extra_feature_names=("kappa",))


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
