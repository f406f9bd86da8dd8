"""Groves payments and VCG (the Clarke pivot), in both forms: as a :class:`PaymentRule` over a
:class:`~mechanism.design.game.ReportingGame` (batched report profiles, the IC audit's interface) and
as :func:`vcg_payments` over one :class:`~mechanism.Problem` (its belief = the reports). The two
are tested equal.

**Groves**: ``t_i = −[L(x*; θ̂) − C_i(x*_i; θ̂_i)] + h_i(θ̂_{−i})``: the others' negative cost plus any
function of the others' reports. With ``h_i = 0`` this is the paper's integrated DPM signal
(Theorem 1, B.6–B.7: ``∫ G_i dx_i = −L_global + Const(X_{−i})`` with ``Const = 0``).

**Clarke pivot (VCG)**. Agent i *absent* means its action pinned at a documented null action
``a₀`` (default 0: it produces nothing) and its own cost removed. Then

    h_i(θ̂_{−i}) = min_{X : x_i = a₀} [ L(X; θ̂) − C_i(a₀; θ̂_i) ]        (others' best cost without i)
    t_i(θ̂)      = h_i(θ̂_{−i}) − [ L(x*; θ̂) − C_i(x*_i; θ̂_i) ]            (others' cost it saves them)
    u_i         = t_i − C_i(x*_i; θ_i)                                   (agent i's true utility)

Because ``u_i = h_i(θ̂_{−i}) − L(x*(θ̂); θ_i, θ̂_{−i})`` and ``h_i`` does not depend on agent i's
report, truthful reporting minimises the second term: it is a dominant strategy (up to the
solver's accuracy). :func:`misreport_gain` measures this on a grid for one agent; the audit of
every rule is :mod:`mechanism.design.ic_audit`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import torch

from ..core.problem import Problem
from ..errors import InvalidParameterError
from .game import PaymentRule, ReportingGame, allocate, pivot_cost

__all__ = ["GrovesFamily", "VCG", "zero_h", "clarke_pivot", "VCGResult", "vcg_payments", "misreport_gain"]


# ---------------------------------------------------------------------------- as payment rules
def zero_h(game: ReportingGame, i: int, R: np.ndarray) -> np.ndarray:
    """``h_i = 0`` (the Groves term of the paper's integrated DPM signal with ``Const = 0``)."""
    return np.zeros(R.shape[0])


def clarke_pivot(game: ReportingGame, i: int, R: np.ndarray) -> np.ndarray:
    """The Clarke pivot ``h_i(θ̂_{−i})``: the others' least cost without agent ``i``."""
    return game.pivot(i, R)


class GrovesFamily(PaymentRule):
    """``t_i = −[L(x*; θ̂) − C_i(x*_i; θ̂_i)] + h(game, i, R)``; ``h`` must not depend on ``R[:, i]``
    (a module-level function, so that rules pickle). Dominant-strategy IC for every such ``h``."""

    def __init__(self, h: Callable[[ReportingGame, int, np.ndarray], np.ndarray] = zero_h,
                 name: str = "groves_h0") -> None:
        self.h, self.name = h, name

    def transfer(self, game, i, R, X=None):
        R = game.profiles(R)
        X = game.allocate(R) if X is None else X
        others = game.social_cost(X, R) - game.costs(X, R)[:, i]
        return -others + self.h(game, i, R)


class VCG(GrovesFamily):
    """Groves with the Clarke pivot (as :func:`vcg_payments`)."""

    def __init__(self) -> None:
        super().__init__(clarke_pivot, "vcg")



# ---------------------------------------------------------------------------- over one problem
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
    pivots = np.array([pivot_cost(problem, i, null_action, x) for i in range(N)])
    transfers = pivots - (social - costs)
    return VCGResult(x, social, transfers, pivots, costs, transfers - true_costs, float(null_action))



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

    pivot = pivot_cost(problem, agent, null_action, allocate(problem))
    u_truth = pivot + utility(float(truth[agent]))
    reports = [float(r) for r in reports]
    gains = [float(pivot + utility(r) - u_truth) for r in reports]
    return {"reports": reports, "gains": gains, "max_gain": max(gains) if gains else 0.0,
            "truthful_utility": float(u_truth)}
