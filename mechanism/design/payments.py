"""Mechanism payments: Clarke-pivot VCG transfers and the DPM's marginal prices.

Notation (costs, not welfare; a transfer ``t_i`` is paid *to* agent i):

* social cost ``L(X; θ) = L_system(X) + Σ_j C_j(x_j; θ_j)`` (``problem.loss``);
* reported types ``θ̂`` = the Planner's belief (``types="belief"``), true types ``θ``;
* allocation ``x*(θ̂) = argmin_X L(X; θ̂)`` over the box (closed form when the problem has
  one, else scipy L-BFGS-B via :func:`~mechanism.core.solvers.centralized_optimum`).

**Clarke pivot (VCG)**. Agent i *absent* means its action pinned at a documented null action
``a₀`` (default 0: it produces nothing) and its own cost removed. Then

    h_i(θ̂_{−i}) = min_{X : x_i = a₀} [ L(X; θ̂) − C_i(a₀; θ̂_i) ]        (others' best cost without i)
    t_i(θ̂)      = h_i(θ̂_{−i}) − [ L(x*; θ̂) − C_i(x*_i; θ̂_i) ]            (others' cost it saves them)
    u_i         = t_i − C_i(x*_i; θ_i)                                   (agent i's true utility)

Because ``u_i = h_i(θ̂_{−i}) − L(x*(θ̂); θ_i, θ̂_{−i})`` and ``h_i`` does not depend on agent i's
report, truthful reporting minimises the second term: it is a dominant strategy (up to the
solver's accuracy). :func:`misreport_gain` measures this on a grid.

**DPM marginal price**. The DPM pays agent i the marginal value of its action to the system,
``p_i = −∂L_system/∂x_i`` at ``X`` (at an interior optimum ``p_i = ∂C_i/∂x_i``); with linear
pricing agent i receives ``p_i · x_i``.

This module keeps the original functional API. Payment rules as objects with one interface
(no payment, the DPM linear price, Groves, VCG, AGV, Bayesian DPM), priors and the incentive-
compatibility audit of *every* rule live in :mod:`mechanism.design.mechanisms`, :mod:`mechanism.design.priors`
and :mod:`mechanism.design.ic_audit` (``docs/mechanism_design.md``); their VCG rule is tested equal to
:func:`vcg_payments`. :func:`misreport_gain` audits VCG only: VCG's zero gain says nothing about
the DPM price, whose ex-post regret is positive (closed form in :mod:`mechanism.design.ic_audit`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import torch

from ..errors import InvalidParameterError
from ..core.problem import Problem
from ..core.solvers import centralized_optimum

__all__ = ["VCGResult", "allocate", "vcg_payments", "dpm_prices", "misreport_gain"]


@dataclass
class VCGResult:
    """Allocation ``x`` (``(N, d)``), social cost there, transfers ``t`` (to agents), the pivot
    terms ``h``, each agent's (believed) cost and true utility, all ``(N,)`` numpy arrays."""

    x: torch.Tensor
    social_cost: float
    transfers: np.ndarray
    pivots: np.ndarray
    costs: np.ndarray
    true_utilities: np.ndarray
    null_action: float


def allocate(problem: Problem) -> torch.Tensor:
    """``argmin_X L(X; belief)`` over the box: closed form if known, else L-BFGS-B. ``(N, d)``."""
    opt = problem.optimum("belief")
    if opt is not None:
        return opt.x.to(problem.dtype).reshape(problem.n_agents, problem.action_dim)
    return centralized_optimum(problem, types="belief").x


def _without(problem: Problem, i: int, null_action: float) -> Problem:
    """A copy of ``problem`` whose agent ``i`` is pinned at ``null_action``."""
    lo, hi = problem.lower.clone(), problem.upper.clone()
    lo[i], hi[i] = null_action, null_action
    return problem.with_bounds(lo, hi)


def vcg_payments(problem: Problem, *, null_action: float = 0.0) -> VCGResult:
    """Clarke-pivot VCG transfers for ``problem`` under its belief (the reports); see module doc."""
    if not np.isfinite(null_action):
        raise InvalidParameterError(f"null_action must be finite, got {null_action!r}")
    x = allocate(problem)
    X = x.unsqueeze(0)
    social = float(problem.loss(X, "belief")[0])
    costs = problem.agent_costs(X, "belief")[0].numpy().copy()
    true_costs = problem.agent_costs(X, "true")[0].numpy()
    N = problem.n_agents
    pivots = np.array([_pivot(problem, i, null_action, x) for i in range(N)])
    transfers = pivots - (social - costs)
    return VCGResult(x, social, transfers, pivots, costs, transfers - true_costs, float(null_action))


def _pivot(problem: Problem, i: int, null_action: float, x: torch.Tensor) -> float:
    """``h_i``: the others' least social cost with agent ``i`` pinned at ``null_action``."""
    pinned = _without(problem, i, null_action)
    x0 = problem.project(x.unsqueeze(0))[0].clone()
    x0[i] = null_action
    xi = centralized_optimum(pinned, x0=x0, types="belief").x.unsqueeze(0)
    return float(pinned.loss(xi, "belief")[0]) - float(pinned.agent_costs(xi, "belief")[0, i])


def dpm_prices(problem: Problem, X: Any, types: str = "belief") -> np.ndarray:
    """``p_i = −∂L_system/∂x_i`` at ``X`` (``(N, d)``, one instance), as an ``(N, d)`` array."""
    X = problem.as_actions(X)[:1]
    with torch.enable_grad():
        Xg = X.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(problem.system_loss(Xg, types).sum(), Xg)
    return (-grad[0]).numpy()


def misreport_gain(problem: Problem, agent: int, reports: Iterable[float], *, key: str = "lam",
                   null_action: float = 0.0) -> dict[str, Any]:
    """Agent ``agent``'s true-utility gain from reporting each value in ``reports`` for its type
    ``key`` (others report the belief) instead of its true type, under VCG.

    Returns ``{"reports", "gains", "max_gain", "truthful_utility"}``; ``max_gain ≤ 0`` (up to the
    solver's accuracy) means truthful reporting is a best response on the grid.
    """
    truth = problem.true[key].clone()
    base_belief = problem.belief[key].clone()

    def utility(report: float) -> float:
        belief = base_belief.clone()
        belief[agent] = report
        reported = problem.with_belief(**{key: belief})
        x = allocate(reported)
        X = x.unsqueeze(0)
        others = float(reported.loss(X, "belief")[0]) - float(reported.agent_costs(X, "belief")[0, agent])
        # h_i does not depend on agent i's own report; computed once below.
        return -others - float(reported.agent_costs(X, "true")[0, agent])

    pivot = _pivot(problem, agent, null_action, allocate(problem))
    u_truth = pivot + utility(float(truth[agent]))
    reports = [float(r) for r in reports]
    gains = [float(pivot + utility(r) - u_truth) for r in reports]
    return {"reports": reports, "gains": gains, "max_gain": max(gains) if gains else 0.0,
            "truthful_utility": float(u_truth)}
