"""The direct-revelation game over a :class:`~mechanism.Problem`, and the payment-rule interface.

Notation (costs, not welfare; a transfer ``t_i`` is paid *to* agent i; rows of a batch are
independent report profiles):

* each agent ``i`` reports a scalar type ``θ̂_i`` (the data node ``key``, default ``"lam"``); a
  report profile is a row ``R`` of shape ``(N,)``, a batch ``(M, N)``;
* the allocation is the DPM's optimum under the reports, ``x*(θ̂) = argmin_X L(X; θ̂)`` with
  ``L(X; θ) = L_system(X) + Σ_j C_j(x_j; θ_j)`` over the box (closed form when the problem has
  one, else scipy L-BFGS-B via :func:`~mechanism.solvers.centralized_optimum`);
* agent i's **true utility** is quasi-linear: ``u_i = t_i(θ̂) − C_i(x*_i(θ̂); θ_i)``;
  its outside option (not participating: null action ``a₀``, default 0, no cost, no transfer) is 0;
* the **DPM marginal price** ``p_i = −∂L_system/∂x_i`` at ``X`` (at an interior optimum
  ``p_i = ∂C_i/∂x_i``);
* the **Clarke pivot** ``h_i(θ̂_{−i}) = min_{X : x_i = a₀} [L(X; θ̂) − C_i(a₀; θ̂_i)]``: the others'
  least cost with agent i absent.

A :class:`PaymentRule` maps a game and reports to transfers; the rules live in
:mod:`mechanism.design.rules` (no payment, the DPM price, AGV, Bayesian DPM) and
:mod:`mechanism.design.vcg` (Groves and VCG). Closed forms for the aggregative family
(:func:`aggregative_game`) make every quantity exact and batched; any other problem goes through
the generic (per-row, solver-backed) path.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..core.problem import Problem
from ..core.solvers import centralized_optimum
from ..errors import InvalidParameterError, ShapeMismatchError, require_finite_number
from ..problems.appendix_c import aggregative_problem

__all__ = ["ReportingGame", "AggregativeClosedForm", "aggregative_game", "PaymentRule", "allocate",
           "dpm_prices", "pivot_cost", "utilities", "agent_utility", "budget_surplus", "efficiency_loss"]


# ---------------------------------------------------------------------------- one problem
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



def pivot_cost(problem: Problem, i: int, null_action: float, x: torch.Tensor) -> float:
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



# ---------------------------------------------------------------------------- closed forms
@dataclass(frozen=True)
class AggregativeClosedForm:
    """Batched closed forms of ``L = (Σx + c − Y)² + Σ λ_i x_i²`` (``x ≥ 0``, ``Y' = Y − c ≥ 0``).

    With ``K = Σ_j 1/λ̂_j``: ``x*_i = Y'/(λ̂_i (1 + K))``; the DPM price is the same for every agent,
    ``p = −2(Σx* + c − Y) = 2Y'/(1 + K)``; the Clarke pivot (agent i absent) is ``Y'²/(1 + K − 1/λ̂_i)``.
    """

    Y: float
    offset: float = 0.0

    def allocate(self, R: np.ndarray) -> np.ndarray:
        K = (1.0 / R).sum(1, keepdims=True)
        return ((self.Y - self.offset) / (R * (1.0 + K)))[..., None]

    def costs(self, X: np.ndarray, T: np.ndarray) -> np.ndarray:
        return T * (X ** 2).sum(-1)

    def system(self, X: np.ndarray, R: np.ndarray) -> np.ndarray:
        return (X.sum((1, 2)) + self.offset - self.Y) ** 2

    def prices(self, X: np.ndarray, R: np.ndarray) -> np.ndarray:
        return np.broadcast_to((-2.0 * (X.sum((1, 2)) + self.offset - self.Y))[:, None, None], X.shape).copy()

    def others_cost(self, r: np.ndarray, others: np.ndarray) -> np.ndarray:
        """The others' truthful cost ``L_system + Σ_{j≠i} C_j`` at the optimum when agent i reports
        each value of ``r`` ``(V,)`` and the others report (truthfully) each row of ``others``
        ``(S, N−1)``: ``Y'² (1 + s)/(1 + 1/r + s)²`` with ``s = Σ_{j≠i} 1/λ_j``, ``(V, S)``."""
        s = (1.0 / others).sum(1)[None, :]
        return (self.Y - self.offset) ** 2 * (1.0 + s) / (1.0 + 1.0 / r[:, None] + s) ** 2

    def pivot(self, i: int, R: np.ndarray) -> np.ndarray:
        K_minus = (1.0 / R).sum(1) - 1.0 / R[:, i]
        return (self.Y - self.offset) ** 2 / (1.0 + K_minus)


class ReportingGame:
    """A direct-revelation game over ``problem``: agent ``i`` reports its scalar type ``key``.

    Args:
        problem: the problem (its ``true[key]`` are the agents' true types).
        key: the data node holding the types, shape ``(N,)``.
        report_low, report_high: the report space ``[low, high]`` (scalars or ``(N,)``).
        null_action: agent i's action when absent (Clarke pivot, IR outside option).
        closed_form: optional batched closed forms (e.g. :class:`AggregativeClosedForm`); without
            it every row is solved separately (closed-form optimum if the problem has one, else
            L-BFGS-B) and Clarke pivots by :func:`pivot_cost` (cached).
    """

    def __init__(self, problem: Problem, *, key: str = "lam", report_low: Any, report_high: Any,
                 null_action: float = 0.0, closed_form: AggregativeClosedForm | None = None) -> None:
        if key not in problem.belief:
            raise InvalidParameterError(f"key {key!r} is not a data node of problem {problem.name!r}")
        truth = problem.true[key].reshape(-1)
        if truth.numel() != problem.n_agents:
            raise ShapeMismatchError(f"type {key!r} must have one scalar per agent ({problem.n_agents}), "
                                     f"got shape {tuple(problem.true[key].shape)}")
        self.problem, self.key, self.closed_form = problem, key, closed_form
        self.n_agents = problem.n_agents
        self.truth = truth.numpy().astype(np.float64).copy()
        self.low = np.broadcast_to(np.asarray(report_low, np.float64), (self.n_agents,)).copy()
        self.high = np.broadcast_to(np.asarray(report_high, np.float64), (self.n_agents,)).copy()
        if not (np.isfinite(self.low).all() and np.isfinite(self.high).all()) or (self.low >= self.high).any():
            raise InvalidParameterError(f"report bounds must be finite with low < high, got "
                                        f"report_low={report_low!r}, report_high={report_high!r}")
        self.null_action = require_finite_number("null_action", null_action)
        self._pivot_cache: dict[tuple, float] = {}

    # ------------------------------------------------------------------ input
    def profiles(self, R: Any, name: str = "reports") -> np.ndarray:
        """``R`` as a finite ``(M, N)`` float64 array (accepts ``(N,)``)."""
        a = np.asarray(R, dtype=np.float64)
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.shape[1] != self.n_agents:
            raise ShapeMismatchError(f"{name} must have shape (M, {self.n_agents}) or ({self.n_agents},), "
                                     f"got {a.shape}")
        if not np.isfinite(a).all():
            raise InvalidParameterError(f"{name} must be finite, got {a.tolist()!r}")
        return a

    def _row_problem(self, r: np.ndarray) -> Problem:
        return self.problem.with_belief(**{self.key: torch.as_tensor(r, dtype=self.problem.dtype)})

    # ------------------------------------------------------------------ quantities
    def allocate(self, R: Any) -> np.ndarray:
        """The DPM's optimum under each report profile, ``(M, N, d)``."""
        R = self.profiles(R)
        if self.closed_form is not None:
            return self.closed_form.allocate(R)
        return np.stack([allocate(self._row_problem(r)).numpy() for r in R])

    def costs(self, X: np.ndarray, T: Any) -> np.ndarray:
        """``C_i(x_i; θ_i)`` for each row of types ``T``, ``(M, N)``."""
        T = self.profiles(T, "types")
        if self.closed_form is not None:
            return self.closed_form.costs(X, T)
        return np.stack([self._row_problem(t).agent_costs(torch.as_tensor(x[None]), "belief")[0].numpy()
                         for x, t in zip(X, T)])

    def system(self, X: np.ndarray, R: Any) -> np.ndarray:
        """``L_system(X)``, ``(M,)``."""
        R = self.profiles(R)
        if self.closed_form is not None:
            return self.closed_form.system(X, R)
        return np.array([float(self._row_problem(r).system_loss(torch.as_tensor(x[None]), "belief")[0])
                         for x, r in zip(X, R)])

    def social_cost(self, X: np.ndarray, T: Any) -> np.ndarray:
        """``L(X; θ) = L_system(X) + Σ_j C_j(x_j; θ_j)``, ``(M,)``."""
        return self.system(X, T) + self.costs(X, T).sum(1)

    def prices(self, X: np.ndarray, R: Any) -> np.ndarray:
        """DPM prices ``p_i = −∂L_system/∂x_i`` at ``X``, ``(M, N, d)``."""
        R = self.profiles(R)
        if self.closed_form is not None:
            return self.closed_form.prices(X, R)
        return np.stack([dpm_prices(self._row_problem(r), torch.as_tensor(x)) for x, r in zip(X, R)])

    def pivot(self, i: int, R: Any) -> np.ndarray:
        """Clarke pivot: the others' least cost with agent ``i`` at the null action, ``(M,)``."""
        R = self.profiles(R)
        if self.closed_form is not None:
            if self.null_action != 0.0:
                raise InvalidParameterError("the aggregative closed-form pivot needs null_action = 0")
            return self.closed_form.pivot(i, R)
        out = []
        for r in R:
            k = (i, tuple(np.delete(r, i).tolist()))
            if k not in self._pivot_cache:
                p = self._row_problem(r)
                self._pivot_cache[k] = pivot_cost(p, i, self.null_action, allocate(p))
            out.append(self._pivot_cache[k])
        return np.array(out)

    def optimum_cost(self, T: Any) -> np.ndarray:
        """The least true social cost ``min_X L(X; θ)`` for each row of true types, ``(M,)``."""
        T = self.profiles(T, "types")
        return self.social_cost(self.allocate(T), T)

    def __repr__(self) -> str:
        return f"ReportingGame({self.problem.name!r}, N={self.n_agents}, key={self.key!r})"


def aggregative_game(lam: Any, Y: float = 10.0, *, offset: float = 0.0, report_low: float = 0.05,
                     report_high: float = 1.0, true_lam: Any = None) -> ReportingGame:
    """The aggregative problem (:func:`mechanism.aggregative_problem`) as a reporting game with
    batched closed forms. ``lam`` is the truth (``true_lam`` overrides it when given); the Planner's
    belief is always replaced by the reports. Requires ``Y ≥ offset`` (interior optimum in ``x ≥ 0``)."""
    lam = np.asarray(lam, dtype=np.float64).reshape(-1)
    Y = require_finite_number("Y", Y)
    offset = require_finite_number("offset", offset)
    if Y < offset:
        raise InvalidParameterError(f"aggregative_game needs Y >= offset (x* >= 0), got Y={Y!r}, offset={offset!r}")
    truth = lam if true_lam is None else np.asarray(true_lam, dtype=np.float64).reshape(-1)
    problem = aggregative_problem(lam.size, Y, truth, offset=offset)
    return ReportingGame(problem, key="lam", report_low=report_low, report_high=report_high,
                         closed_form=AggregativeClosedForm(Y, offset))


# ---------------------------------------------------------------------------- rules
class PaymentRule:
    """One interface for every payment rule: ``allocate(game, R)``, ``transfer(game, i, R)``
    (``(M,)``, paid to agent i), ``transfers(game, R)`` (``(M, N)``)."""

    name = "rule"
    #: whether the rule treats agents with equal report bounds and priors alike (so that an
    #: audit may compute one agent's interim regret for the whole class)
    exchangeable = True

    def reads_report(self, i: int) -> bool:
        """Whether agent ``i``'s report can change its allocation or transfer (default: yes)."""
        return True

    def effective_reports(self, game: ReportingGame, R: np.ndarray) -> np.ndarray:
        """The profile the allocation uses (the reports themselves, unless overridden)."""
        return R

    def allocate(self, game: ReportingGame, R: Any) -> np.ndarray:
        """The allocation this rule implements for reports ``R``, ``(M, N, d)``."""
        return game.allocate(self.effective_reports(game, game.profiles(R)))

    def transfer(self, game: ReportingGame, i: int, R: Any, X: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def transfers(self, game: ReportingGame, R: Any, X: np.ndarray | None = None) -> np.ndarray:
        R = game.profiles(R)
        X = self.allocate(game, R) if X is None else X
        return np.stack([self.transfer(game, i, R, X) for i in range(game.n_agents)], axis=1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"



# ---------------------------------------------------------------------------- outcomes
def utilities(game: ReportingGame, rule: PaymentRule, R: Any, T: Any) -> np.ndarray:
    """True utilities ``u_i = t_i(R) − C_i(x*_i(R); T_i)``, ``(M, N)``."""
    R, T = game.profiles(R), game.profiles(T, "types")
    X = rule.allocate(game, R)
    return rule.transfers(game, R, X) - game.costs(X, T)


def agent_utility(game: ReportingGame, rule: PaymentRule, i: int, R: Any, T: Any) -> np.ndarray:
    """Agent ``i``'s true utility only, ``(M,)`` (cheaper than :func:`utilities`)."""
    R, T = game.profiles(R), game.profiles(T, "types")
    X = rule.allocate(game, R)
    return rule.transfer(game, i, R, X) - game.costs(X, T)[:, i]


def budget_surplus(game: ReportingGame, rule: PaymentRule, R: Any) -> np.ndarray:
    """The Planner's surplus ``−Σ_i t_i`` (negative: a deficit it must fund), ``(M,)``."""
    return -rule.transfers(game, game.profiles(R)).sum(1)


def efficiency_loss(game: ReportingGame, rule: PaymentRule, R: Any, T: Any) -> np.ndarray:
    """True social cost at the rule's allocation minus the true optimum, ``(M,)`` (≥ 0)."""
    R, T = game.profiles(R), game.profiles(T, "types")
    return game.social_cost(rule.allocate(game, R), T) - game.optimum_cost(T)

