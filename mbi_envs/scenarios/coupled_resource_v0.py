"""Coupled resource allocation on a box (the paper's C.5).

**Loss.** ``L = (x1 + x2 − T)² + λ x1 x2`` on ``[low, high]²`` (the coupling cost split equally).
The Hessian has eigenvalues ``−λ`` and ``4 + λ``: the interior stationary point (the paper's
"optimum" (4.444, 4.444)) is a saddle; the true minimum lies on the boundary (L = 0 at (0, T)
or (T, 0) for the defaults). The reference is :func:`mechanism.global_minimum` on the box.

**Action space.** ``Box(low, high, (1,), float64)`` per agent; proposals outside are clipped
(the paper's projection).

**Observation.** iterative ``[x_i, G_i, agent_index, t/T_max]``; one-shot ``[agent_index]``
(no private features).

**Reward.** See :class:`mbi_envs.MechanismEnv`.

**Starting state.** The paper's ``(5, 5)``; with ``random_start=True`` ``U[low, high]`` i.i.d.

**Arguments.** ``T=10.0, lam=0.5, low=0.0, high=10.0, random_start=False, x0=(5, 5)``;
default horizon 1000 steps (the paper stops when a step is below 1e-6). ``T`` finite, ``λ > 0``,
``low < high`` finite, ``random_start`` a bool, ``x0`` inside ``[low, high]²``; anything else
raises ``ValueError`` naming the parameter.

**Version history.** v0: initial version.
"""
from __future__ import annotations

from typing import Any

from mechanism import coupled_resource_problem

from ..scenario import Scenario, global_reference, quadratic_incentive_bound, uniform_start
from ..registry import pettingzoo_constructors
from ._params import require_bool, require_real, start_in_box

ENV_ID = "coupled_resource_v0"
GYM_ID = "mbi_envs/CoupledResource-v0"
PAPER = "C.5"


def build(*, T: float = 10.0, lam: float = 0.5, low: float = 0.0, high: float = 10.0,
          random_start: bool = False, x0: Any = (5.0, 5.0)) -> Scenario:
    """The C.5 preset with the given parameters (see the module docstring)."""
    low, high = require_real("low", low), require_real("high", high)
    random_start = require_bool("random_start", random_start)
    problem = coupled_resource_problem(T, lam, low, high)
    start = uniform_start(low, high, (2, 1)) if random_start else start_in_box("x0", x0, (2, 1), low, high)
    reference = global_reference((float(low), float(high)), key=(ENV_ID, float(T), float(lam)))
    return Scenario(ENV_ID, PAPER, problem, low, high, start, max_steps=1000, reference=reference,
                    incentive_bound=quadratic_incentive_bound)


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
