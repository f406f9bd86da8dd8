"""Payment rules other than Groves/VCG (:mod:`mechanism.design.vcg`), and the standard set.

Notation: :mod:`mechanism.design.game`. Rules (:class:`~mechanism.design.game.PaymentRule`:
``allocate``, ``transfer``, ``transfers``):

* :class:`NoPayment`: ``t_i = 0``.
* :class:`DPMLinearPrice`: the paper's price. ``G_i = −∂L_global/∂x_i`` (paper §4.3.3, eq. 3;
  B.5) is zero at the optimum; the price that supports the optimum is its system part
  ``p_i = −∂L_system/∂x_i`` (at an interior optimum ``p_i = ∂C_i/∂x_i``, Lemma 1, eq. B.2), and the
  agent is paid linearly ``t_i = p_i · x*_i``.
* :class:`AGV`: expected externality (d'Aspremont–Gérard-Varet / Arrow) under a declared prior:
  ``ξ_i(θ̂_i) = E_{θ_{−i}}[−(L(x*(θ̂_i, θ_{−i}); θ̂_i, θ_{−i}) − C_i)]`` and
  ``t_i = ξ_i(θ̂_i) − (1/(N−1)) Σ_{j≠i} ξ_j(θ̂_j)`` (budget balanced ex post by construction; Bayesian IC).
* :class:`BayesianDPM`: C.17's rule: the allocation uses the prior mean ``E[θ_i]`` in place of the
  reports of the agents with a declared prior (the report is ignored) and pays the DPM price.

:func:`standard_rules` is the list the audits compare (with :class:`~mechanism.design.vcg.GrovesFamily`
``h = 0`` and :class:`~mechanism.design.vcg.VCG`).
"""
from __future__ import annotations

import weakref
from typing import Any, Sequence

import numpy as np

from ..errors import InvalidParameterError
from .game import PaymentRule, ReportingGame
from .priors import IndependentPrior
from .vcg import VCG, GrovesFamily, zero_h

__all__ = ["NoPayment", "DPMLinearPrice", "AGV", "BayesianDPM", "standard_rules"]


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




def standard_rules(prior: IndependentPrior | None = None, agv_samples: int = 256, seed: int = 0
                   ) -> list[PaymentRule]:
    """``none``, ``dpm``, ``groves_h0``, ``vcg`` and, with a prior, ``agv`` and ``bayes_dpm``."""
    rules: list[PaymentRule] = [NoPayment(), DPMLinearPrice(), GrovesFamily(zero_h, "groves_h0"), VCG()]
    if prior is not None:
        rules += [AGV(prior, agv_samples, seed), BayesianDPM(prior)]
    return rules
