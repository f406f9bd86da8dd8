"""Direct-revelation mechanisms over a :class:`~mechanism.Problem`: reports, allocation, payment rules.

Notation (costs, not welfare; a transfer ``t_i`` is paid *to* agent i; rows of a batch are
independent report profiles):

* each agent ``i`` reports a scalar type ``θ̂_i`` (the data node ``key``, default ``"lam"``); a
  report profile is a row ``R`` of shape ``(N,)``, a batch ``(M, N)``;
* the allocation is the DPM's optimum under the reports, ``x*(θ̂) = argmin_X L(X; θ̂)`` with
  ``L(X; θ) = L_system(X) + Σ_j C_j(x_j; θ_j)`` (the Planner believes the reports);
* agent i's **true utility** is quasi-linear: ``u_i = t_i(θ̂) − C_i(x*_i(θ̂); θ_i)``;
  its outside option (not participating: null action ``a₀ = 0``, no cost, no transfer) is 0.

Payment rules (:class:`PaymentRule`: ``allocate``, ``transfer``, ``transfers``):

* :class:`NoPayment`: ``t_i = 0``.
* :class:`DPMLinearPrice`: the paper's price. ``G_i = −∂L_global/∂x_i`` (paper §4.3.3, eq. 3;
  B.5) is zero at the optimum; the price that supports the optimum is its system part
  ``p_i = −∂L_system/∂x_i`` (at an interior optimum ``p_i = ∂C_i/∂x_i``, Lemma 1, eq. B.2), and the
  agent is paid linearly ``t_i = p_i · x*_i``.
* :class:`GrovesFamily`: ``t_i = −[L(x*; θ̂) − C_i(x*_i; θ̂_i)] + h_i(θ̂_{−i})``: the others' negative
  cost plus any function of the others' reports. With ``h_i = 0`` this is the paper's integrated
  DPM signal (Theorem 1, B.6–B.7: ``∫ G_i dx_i = −L_global + Const(X_{−i})`` with ``Const = 0``).
* :class:`VCG`: Groves with the Clarke pivot ``h_i = min_{X: x_i = a₀} [L(X; θ̂) − C_i(a₀; θ̂_i)]``.
* :class:`AGV`: expected externality (d'Aspremont–Gérard-Varet / Arrow) under a declared prior:
  ``ξ_i(θ̂_i) = E_{θ_{−i}}[−(L(x*(θ̂_i, θ_{−i}); θ̂_i, θ_{−i}) − C_i)]`` and
  ``t_i = ξ_i(θ̂_i) − (1/(N−1)) Σ_{j≠i} ξ_j(θ̂_j)`` (budget balanced ex post by construction; Bayesian IC).
* :class:`BayesianDPM`: C.17's rule: the allocation uses the prior mean ``E[θ_i]`` in place of the
  reports of the agents with a declared prior (the report is ignored) and pays the DPM price.

Closed forms for the aggregative family (:func:`aggregative_game`) make every quantity exact
and batched; any other problem goes through the generic (per-row, solver-backed) path.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..errors import InvalidParameterError, ShapeMismatchError, require_finite_number
from .payments import _pivot, allocate as _allocate_one, dpm_prices
from .priors import IndependentPrior
from ..core.problem import Problem
from ..problems.appendix_c import aggregative_problem

__all__ = ["ReportingGame", "AggregativeClosedForm", "aggregative_game", "PaymentRule", "NoPayment",
           "DPMLinearPrice", "GrovesFamily", "VCG", "AGV", "BayesianDPM", "zero_h", "clarke_pivot",
           "utilities", "budget_surplus", "efficiency_loss", "standard_rules"]


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
            L-BFGS-B) and Clarke pivots by :func:`mechanism.design.payments._pivot` (cached).
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
        return np.stack([_allocate_one(self._row_problem(r)).numpy() for r in R])

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
                self._pivot_cache[k] = _pivot(p, i, self.null_action, _allocate_one(p))
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


class NoPayment(PaymentRule):
    """``t_i = 0``: agents bear their own cost."""

    name = "none"

    def transfer(self, game, i, R, X=None):
        return np.zeros(game.profiles(R).shape[0])


class DPMLinearPrice(PaymentRule):
    """The DPM's linear price: ``t_i = p_i · x*_i`` with ``p_i = −∂L_system/∂x_i`` at ``x*(θ̂)``."""

    name = "dpm"

    def transfer(self, game, i, R, X=None):
        R = game.profiles(R)
        Reff = self.effective_reports(game, R)
        X = game.allocate(Reff) if X is None else X
        P = game.prices(X, Reff)
        return (P[:, i, :] * X[:, i, :]).sum(-1)


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
    """Groves with the Clarke pivot (as :func:`mechanism.design.payments.vcg_payments`)."""

    def __init__(self) -> None:
        super().__init__(clarke_pivot, "vcg")


class AGV(PaymentRule):
    """Expected-externality (AGV) transfers under a declared ``prior`` (see module doc).

    ``ξ_i`` is an exact expectation when the others' marginals are finite, else a quasi-Monte
    Carlo (scrambled Sobol through the inverse CDFs; plain Monte Carlo if a marginal has no
    ``icdf``) mean over ``n_samples`` fixed draws (seed ``seed + i``): the mechanism is then a
    deterministic function of the reports, BIC up to that integration error. With the game's closed form ``ξ`` is computed in batches
    (:meth:`AggregativeClosedForm.others_cost`); otherwise its values are cached per (game, agent,
    report) (:meth:`clear_cache`).
    """

    name = "agv"

    def __init__(self, prior: IndependentPrior, n_samples: int = 256, seed: int = 0) -> None:
        self.prior, self.n_samples, self.seed = prior, int(n_samples), int(seed)
        self._samples: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self._cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._memo: dict[tuple, dict[bytes, np.ndarray]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = None  # weak references do not pickle; the cache is rebuilt on demand
        state["_memo"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache = weakref.WeakKeyDictionary()

    @property
    def exchangeable(self) -> bool:
        """Only with exact expectations: each agent's ``ξ_i`` uses its own QMC draws (seed + i)."""
        return self.prior.is_finite()

    def clear_cache(self) -> None:
        """Forget cached ``ξ`` values (they grow with every new report value seen)."""
        self._cache = weakref.WeakKeyDictionary()
        self._memo = {}

    def _others(self, game: ReportingGame, i: int) -> tuple[np.ndarray, np.ndarray | None]:
        if self.prior.n_agents != game.n_agents:
            raise InvalidParameterError(f"prior has {self.prior.n_agents} agents, game has {game.n_agents}")
        if i not in self._samples:
            idx = [j for j in range(game.n_agents) if j != i]
            if self.prior.is_finite(idx):
                self._samples[i] = self.prior.enumerate(idx)
            else:
                try:  # quasi-Monte Carlo where every marginal has an inverse CDF
                    draws = self.prior.sample_qmc(self.n_samples, self.seed + i, idx)
                except NotImplementedError:
                    draws = self.prior.sample(self.n_samples, self.seed + i, idx)
                self._samples[i] = (draws, None)
        return self._samples[i]

    def xi(self, game: ReportingGame, i: int, r: float) -> float:
        """``ξ_i(r)``: agent i's report ``r``, the others truthful from the prior: their expected negative cost."""
        return float(self.xi_many(game, i, np.array([float(r)]))[0])

    def xi_many(self, game: ReportingGame, i: int, r: np.ndarray, chunk_rows: int = 1 << 18) -> np.ndarray:
        """``ξ_i`` at every value of ``r`` (any shape); values not yet cached are computed in
        batches of at most ``chunk_rows`` (report, draw) rows."""
        r = np.asarray(r, dtype=np.float64)
        if game.closed_form is not None:         # exact and batched; the last arrays are memoised
            memo = self._memo.setdefault((game.closed_form, game.n_agents, i), {})
            key = r.tobytes()
            if key not in memo:
                others, w = self._others(game, i)
                unique, inverse = np.unique(r.reshape(-1), return_inverse=True)
                per = max(1, chunk_rows // max(others.shape[0], 1))
                out = np.concatenate([np.average(-game.closed_form.others_cost(unique[s:s + per], others), axis=1,
                                                 weights=w) for s in range(0, unique.size, per)])
                if len(memo) >= 8:
                    memo.pop(next(iter(memo)))
                memo[key] = out[inverse].reshape(r.shape)
            return memo[key]
        cache = self._cache.setdefault(game, {}).setdefault(i, {})
        unique, inverse = np.unique(r.reshape(-1), return_inverse=True)
        missing = np.array([v for v in unique.tolist() if v not in cache], dtype=np.float64)
        if missing.size:
            others, w = self._others(game, i)
            S = others.shape[0]
            per = max(1, chunk_rows // max(S, 1))
            for start in range(0, missing.size, per):
                vals = missing[start:start + per]
                R = np.insert(np.tile(others, (vals.size, 1)), i, np.repeat(vals, S), axis=1)
                X = game.allocate(R)
                value = -(game.social_cost(X, R) - game.costs(X, R)[:, i]).reshape(vals.size, S)
                cache.update(zip(vals.tolist(), np.average(value, axis=1, weights=w).tolist()))
        return np.array([cache[v] for v in unique.tolist()])[inverse].reshape(r.shape)

    def transfer(self, game, i, R, X=None):
        R = game.profiles(R)
        N = game.n_agents
        if N == 1:
            return np.zeros(R.shape[0])
        xi = np.stack([self.xi_many(game, j, R[:, j]) for j in range(N)], axis=1)
        return xi[:, i] - (xi.sum(1) - xi[:, i]) / (N - 1)


class BayesianDPM(DPMLinearPrice):
    """C.17's Bayesian MBI: the allocation uses ``E[θ_j]`` for the ``agents`` with a declared prior
    (default: every agent whose marginal is not a point mass), ignoring their reports; DPM price.
    Every other agent's report is still used (:meth:`reads_report`), so the rule is BIC only if
    those agents, too, cannot gain by misreporting."""

    name = "bayes_dpm"

    def __init__(self, prior: IndependentPrior, agents: Sequence[int] | None = None) -> None:
        self.prior = prior
        if agents is None:
            agents = [j for j, d in enumerate(prior.marginals) if float(d.variance) > 0]
        self.agents = list(agents)

    def reads_report(self, i: int) -> bool:
        """The reports of the agents with a declared prior are replaced by the prior mean; the
        others' reports are used (so their incentives still matter)."""
        return i not in self.agents

    def effective_reports(self, game, R):
        R = np.array(R, dtype=np.float64, copy=True)
        R[:, self.agents] = self.prior.mean[self.agents]
        return R


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


def standard_rules(prior: IndependentPrior | None = None, agv_samples: int = 256, seed: int = 0
                   ) -> list[PaymentRule]:
    """``none``, ``dpm``, ``groves_h0``, ``vcg`` and, with a prior, ``agv`` and ``bayes_dpm``."""
    rules: list[PaymentRule] = [NoPayment(), DPMLinearPrice(), GrovesFamily(zero_h, "groves_h0"), VCG()]
    if prior is not None:
        rules += [AGV(prior, agv_samples, seed), BayesianDPM(prior)]
    return rules
