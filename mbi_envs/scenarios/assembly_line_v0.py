"""Two-agent assembly line (the paper's C.1), the D-DAG ``A1 → A2 → loss``.

**Loss.** ``L = (x1 + x2 − Y)² + λ x1²``; optimum ``x* = (0, Y)``, ``L* = 0``.

**Action space.** Unbounded problem; the env uses ``Box(−s, s, (1,), float64)`` with
``s = max(10, 2|Y|)``; proposals outside are clipped.

**Observation.** iterative ``[x_i, G_i, λ_i, agent_index, t/T]`` (agent 1's feature is λ, agent
2's is 0: it bears no cost); one-shot ``[λ_i, agent_index]``.

**Reward.** See :class:`mbi_envs.MechanismEnv`.

**Starting state.** The paper's ``x0 = (1, −1)``; with ``random_start=True`` ``U[−5, 5]`` i.i.d.
(the paper's 50 random starts).

**Arguments.** ``Y=2.0, lam=0.5, random_start=False, x0=(1, −1)``; default horizon 200 steps
(the paper's iteration count). ``Y`` finite, ``λ > 0``, ``random_start`` a bool, ``x0`` finite
with 2 entries; anything else raises ``ValueError`` naming the parameter.

**Version history.** v0: initial version.
"""
from __future__ import annotations

from typing import Any

from mechanism import assembly_line_problem

from ..scenario import Scenario, fixed_start, quadratic_incentive_bound, symmetric_box, uniform_start
from ..registry import pettingzoo_constructors
from ._params import require_bool

ENV_ID = "assembly_line_v0"
GYM_ID = "mbi_envs/AssemblyLine-v0"
PAPER = "C.1"


def build(*, Y: float = 2.0, lam: float = 0.5, random_start: bool = False,
          x0: Any = (1.0, -1.0)) -> Scenario:
    """The C.1 preset with the given parameters (see the module docstring)."""
    random_start = require_bool("random_start", random_start)
    problem = assembly_line_problem(Y, lam)
    start = uniform_start(-5.0, 5.0, (2, 1)) if random_start else fixed_start(x0, (2, 1))
    low, high = symmetric_box(Y, *([] if random_start else start(None).reshape(-1)))
    return Scenario(ENV_ID, PAPER, problem, low, high, start, max_steps=200,
                    incentive_bound=quadratic_incentive_bound)


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
