"""Economic dispatch from published generator data (a real problem, not from the paper's appendix).

**Problem.** Units ``i = 1 … N`` produce ``P_i`` MW at fuel cost ``F_i(P_i) = a_i + b_i P_i + c_i P_i²``
($/h) within ``[Pmin_i, Pmax_i]`` and must meet the demand ``D``. Cases (``case=``):

| case | units | D (MW) | source |
|---|---|---|---|
| ``"wood_wollenberg_3a"`` | 3 | 850 | Wood & Wollenberg, *Power Generation, Operation, and Control*, Example 3A |
| ``"ieee30"`` | 6 | 189.2 (total bus load) | MATPOWER ``case30`` gen/gencost |
| ``"ieee118"`` | 54 | 4242 (total bus load) | MATPOWER ``case118`` gen/gencost |

**Loss (the Planner's).** The augmented Lagrangian
``L_ρ(P; μ) = Σ F_i(P_i) + μ (D − ΣP) + (ρ/2)(D − ΣP)²``; in iterative mode the Planner updates
its multiplier ``μ ← μ + ρ (D − ΣP)`` after every ``multiplier_every`` steps (the method of
multipliers: exact at its fixed point, see :mod:`mechanism.problems.dispatch`). In one-shot mode μ stays
at ``multiplier``. ``global_loss`` is ``L_ρ`` (equal to the fuel cost when ``ΣP = D``).

**Action space.** ``Box(Pmin_i, Pmax_i, (1,), float64)`` per unit (MW); clipped. With
``normalized=True``: ``Box(0, 1)``, ``P_i = Pmin_i + u_i (Pmax_i − Pmin_i)``, and the loss (and so
the reward) is divided by the fleet's cost at full output (O(1) scales for PPO).

**Observation.** iterative ``[P_i, G_i, b_i, c_i, agent_index/(N−1), t/T]`` with the DPM incentive
``G_i = π − F_i'(P_i)`` ($/MWh); one-shot ``[b_i, c_i, agent_index/(N−1)]``.

**Reward.** See :class:`mbi_envs.MechanismEnv`.

**Infos** (besides the common ones; ``optimal_loss`` is the λ-iteration dispatch's fuel cost):
``"system_marginal_price"`` ``π = μ + ρ (D − ΣP)`` ($/MWh, equal to the system λ at the optimum),
``"multiplier"`` μ, ``"balance_mw"`` ``ΣP − D``, ``"generation_cost"`` ``ΣF_i`` ($/h).

**Starting state.** ``U[Pmin_i, Pmax_i]`` i.i.d. (``random_start=True``, default) or the
midpoint of each unit's range.

**Arguments.** ``case="wood_wollenberg_3a", demand=None (the case's), rho=None`` (``4/Σ 1/(2c_i)``),
``multiplier=0.0, multiplier_every=50, random_start=True, normalized=False``; default horizon 3000 steps.
``case`` one of the table's, ``demand`` in ``[Σ Pmin, Σ Pmax]``, ``rho > 0``, ``multiplier`` finite,
``multiplier_every`` an integer ``>= 1``, ``random_start`` and ``normalized`` bools; anything else
raises ``ValueError`` naming the parameter.

**Version history.** v0: initial version.
"""
from __future__ import annotations

import functools

import numpy as np

from mechanism import Problem
from mechanism.problems.dispatch import dispatch_problem, generation_cost, megawatts, price

from ..scenario import Scenario
from ..registry import pettingzoo_constructors
from ._params import require_bool, require_int

ENV_ID = "economic_dispatch_v0"
GYM_ID = "mbi_envs/EconomicDispatch-v0"
PAPER = "real problem (not in the paper)"


def uniform_in_box(low: np.ndarray, high: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A start drawn i.i.d. from ``U[low, high]`` (element-wise) with the env's seeded generator."""
    return rng.uniform(low, high)


def fixed_point(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A deterministic start ``x`` (a copy)."""
    return x.copy()


def update_multiplier(every: int, t: int, problem: Problem, X: np.ndarray) -> Problem:
    """The Planner's move after step ``t``: ``μ ← μ + ρ (D − ΣP)`` every ``every`` steps."""
    if t % every:
        return problem
    d = problem.data()
    total = float(megawatts(problem, X[None]).sum())
    return problem.with_data(mu=float(d["mu"]) + float(d["rho"]) * (float(d["D"]) - total))


def dispatch_infos(problem: Problem, X: np.ndarray) -> dict[str, float]:
    """The price, multiplier, balance and fuel cost at the joint action ``X`` (``(N, 1)``)."""
    d = problem.data()
    return {"system_marginal_price": float(price(problem, X[None])[0]), "multiplier": float(d["mu"]),
            "balance_mw": float(megawatts(problem, X[None]).sum()) - float(d["D"]),
            "generation_cost": float(generation_cost(problem, X[None])[0])}


def build(*, case: str = "wood_wollenberg_3a", demand: float | None = None, rho: float | None = None,
          multiplier: float = 0.0, multiplier_every: int = 50, random_start: bool = True,
          normalized: bool = False) -> Scenario:
    """The dispatch scenario with the given parameters (see the module docstring)."""
    every = require_int("multiplier_every", multiplier_every, 1)
    random_start, normalized = require_bool("random_start", random_start), require_bool("normalized", normalized)
    problem = dispatch_problem(case, demand=demand, rho=rho, multiplier=multiplier, normalized=normalized)
    low, high = problem.lower.numpy(), problem.upper.numpy()
    start = (functools.partial(uniform_in_box, low, high) if random_start
             else functools.partial(fixed_point, (low + high) / 2))
    return Scenario(ENV_ID, PAPER, problem, low, high, start, max_steps=3000,
                    planner_update=functools.partial(update_multiplier, every), extra_infos=dispatch_infos)


parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)
