"""Non-convex landscape (the paper's C.10, as its code ran it).

**Loss.** ``L = (x1 + x2 − Y)² + a(x1² + x2²) + b sin(ω x2)`` (agent 1's cost ``a x1²``, agent 2's
``a x2² + b sin(ω x2)``): about 30 local minima. The reference is the best minimum found by
:func:`mechanism.global_minimum` (64 seeded Sobol starts in the action box); the paper's
"globally optimal" point (L ≈ 1.12) is not it.

**Action space.** Unbounded problem; the env uses ``Box(−s, s, (1,), float64)``,
``s = max(10, 2|Y|)``; proposals outside are clipped.

**Observation.** iterative ``[x_i, G_i, agent_index, t/T]``; one-shot ``[agent_index]``.

**Reward.** See :class:`mbi_envs.MechanismEnv`.

**Starting state.** The paper's ``(0, 0)``; with ``random_start=True`` ``U[−5, 5]`` i.i.d.

**Arguments.** ``Y=5.0, a=0.1, b=0.5, omega=4π, random_start=False, x0=(0, 0)``; default horizon
5000 steps (the paper's iteration count). ``Y``, ``b``, ``ω`` finite, ``a > 0``, ``random_start`` a
bool, ``x0`` finite with 2 entries; anything else raises ``ValueError`` naming the parameter.

**Version history.** v0: initial version.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mechanism import Problem, nonconvex_problem

from ..scenario import Scenario, fixed_start, global_reference, symmetric_box, uniform_start
from ..registry import pettingzoo_constructors
from ._params import require_bool

ENV_ID = "nonconvex_v0"
GYM_ID = "mbi_envs/Nonconvex-v0"
PAPER = "C.10"


@dataclass(frozen=True)
class NonconvexIncentiveBound:
    """Exact-quadratic-part bound of ``|G_i|`` over the box: with ``G_1 = −[2(s − Y) + 2a x_1]``,
    ``G_2 = −[2(s − Y) + 2a x_2 + bω cos(ω x_2)]`` (``s = x_1 + x_2``), box centre ``m`` and
    half-widths ``r``: ``|G_i| ≤ |2(Σm − Y) + 2a m_i| + 2Σr + 2a r_i`` (+ ``|bω|`` for agent 2)."""

    a: float
    b: float
    omega: float

    def __call__(self, problem: Problem, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        m, r = (low + high) / 2.0, (high - low) / 2.0
        Y = float(problem.data("belief")["Y"])
        bound = np.abs(2.0 * (m.sum() - Y) + 2.0 * self.a * m) + 2.0 * r.sum() + 2.0 * self.a * r
        bound[1] += abs(self.b * self.omega)
        return bound


def build(*, Y: float = 5.0, a: float = 0.1, b: float = 0.5, omega: float = 4.0 * math.pi,
          random_start: bool = False, x0: Any = (0.0, 0.0)) -> Scenario:
    """The C.10 preset with the given parameters (see the module docstring)."""
    random_start = require_bool("random_start", random_start)
    problem = nonconvex_problem(Y, a, b, omega)
    start = uniform_start(-5.0, 5.0, (2, 1)) if random_start else fixed_start(x0, (2, 1))
    low, high = symmetric_box(Y, *([] if random_start else start(None).reshape(-1)))
    reference = global_reference((low, high), n_starts=64,
                                 key=(ENV_ID, float(Y), float(a), float(b), float(omega)))
    return Scenario(ENV_ID, PAPER, problem, low, high, start, max_steps=5000, reference=reference,
                    incentive_bound=NonconvexIncentiveBound(float(a), float(b), float(omega)))


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
