"""Speed versus precision with a time cost ρ (the paper's C.11).

**Loss.** ``L = (x1 + x2 − Y)² + λ x1²`` with ``x2`` fixed (a non-strategic producer, the
``offset`` of :func:`mechanism.aggregative_problem`): one agent, ``L = (x1 + x2 − Y)² + λ x1²``,
optimum ``x1* = (Y − x2)/(1 + λ)``, ``L* = λ(Y − x2)²/(1 + λ)`` (0 for the defaults).

**Effort cost.** Each step in which the agent changes its action costs it ``ρ`` (``κ(T) = ρT``,
T = steps moved). Proposing the current action again costs nothing: an agent chooses when to
stop. ρ is our addition: the paper never uses it (see spec C.11).

**Action space.** Unbounded problem; the env uses ``Box(−s, s, (1,), float64)``,
``s = max(10, 2|Y|, 2|x0|)``; proposals outside are clipped.

**Observation.** iterative ``[x_1, G_1, λ, ρ, agent_index, t/T]``; one-shot ``[λ, ρ, agent_index]``.

**Reward.** See :class:`mbi_envs.MechanismEnv`; in iterative mode every reward also subtracts
the effort paid in the step (team: the sum over agents), so the team return is
``L_0 − L_T − ρ·(steps moved)``. Infos carry ``"effort_cost"`` (cumulative).

**Starting state.** The paper's ``x1 = 10``.

**Arguments.** ``Y=2.0, lam=0.1, x2=2.0, time_cost=1e-3, x0=10.0``; default horizon 5000 steps.
``Y``, ``x2``, ``x0`` finite numbers, ``λ > 0``, ``time_cost`` one finite number ``>= 0``;
anything else raises ``ValueError`` naming the parameter.

**Version history.** v0: initial version.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechanism import InvalidParameterError, aggregative_problem

from ..scenario import Scenario, aggregative_incentive_bound, fixed_start, symmetric_box
from ..registry import pettingzoo_constructors
from ._params import require_real

ENV_ID = "time_cost_v0"
GYM_ID = "mbi_envs/TimeCost-v0"
PAPER = "C.11"


@dataclass(frozen=True)
class TimeCost:
    """Effort ``e_i(t) = ρ`` for every step at which agent i changes its action (C.11)."""

    rho: float

    def __call__(self, t: int, X_prev: np.ndarray, X_new: np.ndarray) -> np.ndarray:
        return self.rho * (X_new != X_prev).any(axis=1)


def build(*, Y: float = 2.0, lam: float = 0.1, x2: float = 2.0, time_cost: float = 1e-3,
          x0: float = 10.0) -> Scenario:
    """The C.11 preset with the given parameters (see the module docstring)."""
    rho = require_real("time_cost", time_cost)
    if rho < 0:
        raise InvalidParameterError(f"time_cost must be >= 0 (a cost per move, not a reward), got {time_cost!r}")
    x0 = require_real("x0", x0)
    problem = aggregative_problem(1, Y, lam, offset=x2, lower=float("-inf"), name=ENV_ID)
    low, high = symmetric_box(Y, x0)

    return Scenario(ENV_ID, PAPER, problem, low, high, fixed_start(x0, (1, 1)), max_steps=5000,
                    effort=TimeCost(rho), incentive_bound=aggregative_incentive_bound, extra_features=np.array([[rho]]), extra_feature_names=("time_cost",))


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
