"""A multi-stage supply chain on a wide D-DAG: suppliers → plants → distribution → markets.

**Problem.** ``depth − 1`` stages of ``width`` facilities (agents) and ``width`` markets; facility
j ships to ``fanout`` facilities of the next stage (lanes ``(j + o) mod width``); its action is
the vector of its shipments in ``[0, capacity]^fanout``. Seeded random convex costs
(:func:`mechanism.problems.supply_chain.supply_chain_problem`):

``L = Σ_markets w (d_m − in_m)² + Σ_{stage ≥ 1} h (in_j − out_j)² + Σ_j (α_j out_j + β_j out_j²)
+ Σ_lanes (τ_e x_e + ½ κ_e x_e²)``.

The DPM runs the generic autograd reverse pass through the graph (no closed form).

**Action space.** ``Box(0, capacity_j, (fanout,), float64)`` per facility; clipped.

**Observation.** iterative ``[x_j (fanout), G_j (fanout), stage, α_j, β_j, agent_index/(N−1), t/T]``;
one-shot ``[stage, α_j, β_j, agent_index/(N−1)]``.

**Reward.** See :class:`mbi_envs.MechanismEnv`.

**Reference.** The exact optimum (:func:`mechanism.problems.supply_chain.solve_supply_chain`: BVLS on the
Cholesky factor of the exact Hessian, certified by its KKT residual), cached per parameter set.

**Starting state.** ``U[0, capacity]`` i.i.d. per lane (``random_start=True``, default) or all zeros.

**Arguments.** ``width=3, depth=4, fanout=2, seed=0, random_start=True``; default horizon 3000.
``width`` an integer ``>= 1`` or one per stage (``len == depth``), ``depth`` an integer ``>= 2``,
``fanout`` an integer ``>= 1`` and at most the smallest downstream width, ``seed`` an integer
``>= 0``, ``random_start`` a bool; anything else raises ``ValueError`` naming the parameter.

**Version history.** v0: initial version.
"""
from __future__ import annotations

import functools

import numpy as np

from mechanism import InvalidParameterError, Optimum, Problem
from mechanism.problems.supply_chain import solve_supply_chain, supply_chain_problem

from ..scenario import Scenario, quadratic_incentive_bound
from ..registry import pettingzoo_constructors
from ._params import require_bool, require_int
from .economic_dispatch_v0 import fixed_point, uniform_in_box

ENV_ID = "supply_chain_v0"
GYM_ID = "mbi_envs/SupplyChain-v0"
PAPER = "real problem (not in the paper)"

_REFERENCES: dict[tuple, Optimum] = {}


def exact_reference(key: tuple, problem: Problem) -> Optimum:
    """The exact optimum of ``problem`` (cached under ``key``, the scenario's parameters)."""
    if key not in _REFERENCES:
        sol = solve_supply_chain(problem)
        _REFERENCES[key] = Optimum(sol.x, sol.loss)
    return _REFERENCES[key]


def build(*, width: int = 3, depth: int = 4, fanout: int = 2, seed: int = 0, random_start: bool = True) -> Scenario:
    """The supply-chain scenario with the given parameters (see the module docstring)."""
    if isinstance(width, (str, bytes)) or not (hasattr(width, "__iter__") or isinstance(width, (int, np.integer))):
        raise InvalidParameterError(f"width must be an integer >= 1 or one integer per stage, got {width!r}")
    width = (require_int("width", width, 1) if not hasattr(width, "__iter__")
             else tuple(require_int(f"width[{k}]", w, 1) for k, w in enumerate(width)))
    depth, fanout = require_int("depth", depth, 2), require_int("fanout", fanout, 1)
    seed, random_start = require_int("seed", seed, 0), require_bool("random_start", random_start)
    problem = supply_chain_problem(width, depth, fanout, seed=seed)
    low, high = problem.lower.numpy(), problem.upper.numpy()
    start = (functools.partial(uniform_in_box, low, high) if random_start
             else functools.partial(fixed_point, np.zeros_like(low)))
    key = (ENV_ID, width if isinstance(width, int) else tuple(width), depth, fanout, seed)
    return Scenario(ENV_ID, PAPER, problem, low, high, start, max_steps=3000,
                    reference=functools.partial(exact_reference, key), incentive_bound=quadratic_incentive_bound)


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
