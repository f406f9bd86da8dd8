"""Priors over agents' private types, Monte Carlo estimates with confidence intervals, and a
Planner that updates its belief from observed responses.

* :class:`FiniteTypes`: a ``torch.distributions.Distribution`` on finitely many type values
  (``enumerate_support`` makes expectations exact: quadrature instead of Monte Carlo).
* :class:`IndependentPrior`: one ``torch.distributions`` object per agent (independent types,
  the common-prior assumption of the paper's Theorem 3, §8.3.5.1); seeded sampling, support
  bounds, means, exact enumeration when every marginal is finite.
* :class:`Estimate` / :func:`mc_estimate`: a sample mean with a Student-t confidence interval.
* :class:`GridPosterior`: the Planner's belief about one agent's scalar type on a grid, updated
  by Bayes' rule from the agent's responses to posted prices (an agent with cost ``λ x²`` facing
  a linear price ``p`` best-responds ``x = p / (2λ)``; observed with Gaussian noise ``σ``).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import scipy.special
import scipy.stats
import torch
from torch.distributions import Distribution, constraints

from ..errors import InvalidParameterError, require_int_at_least, require_positive

__all__ = ["FiniteTypes", "IndependentPrior", "Estimate", "mc_estimate", "GridPosterior",
           "quadratic_best_response", "simulate_responses"]


class FiniteTypes(Distribution):
    """A distribution on the finite set ``values`` with probabilities ``probs`` (scalar events).

    ``FiniteTypes([0.1, 0.3], [0.5, 0.5])`` is C.17's prior on ``λ_1``. Supports ``sample``,
    ``log_prob`` (``-inf`` off the support), ``mean``, ``variance`` and ``enumerate_support``.
    """

    arg_constraints: dict = {}
    has_enumerate_support = True

    def __init__(self, values: Any, probs: Any = None, validate_args: bool | None = None) -> None:
        v = torch.as_tensor(values, dtype=torch.float64).reshape(-1)
        if v.numel() < 1 or not torch.isfinite(v).all():
            raise InvalidParameterError(f"values must be a non-empty finite list, got {values!r}")
        p = (torch.full_like(v, 1.0 / v.numel()) if probs is None
             else torch.as_tensor(probs, dtype=torch.float64).reshape(-1))
        if p.shape != v.shape or not torch.isfinite(p).all() or (p < 0).any() or abs(float(p.sum()) - 1) > 1e-9:
            raise InvalidParameterError(f"probs must be {v.numel()} non-negative numbers summing to 1, got {probs!r}")
        self.values, self.probs = v, p
        super().__init__(batch_shape=torch.Size(), event_shape=torch.Size(), validate_args=False)

    @property
    def support(self):
        return constraints.interval(float(self.values.min()), float(self.values.max()))

    @property
    def mean(self) -> torch.Tensor:
        return (self.values * self.probs).sum()

    @property
    def variance(self) -> torch.Tensor:
        return (self.probs * (self.values - self.mean) ** 2).sum()

    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        idx = torch.multinomial(self.probs, int(np.prod(sample_shape)) if len(sample_shape) else 1,
                                replacement=True)
        return self.values[idx].reshape(sample_shape)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        value = torch.as_tensor(value, dtype=torch.float64)
        match = (value.unsqueeze(-1) == self.values)
        p = (match * self.probs).sum(-1)
        return torch.log(p)

    def enumerate_support(self, expand: bool = True) -> torch.Tensor:
        return self.values.clone()


def _bounds_of(dist: Distribution) -> tuple[float, float]:
    if isinstance(dist, FiniteTypes):
        return float(dist.values.min()), float(dist.values.max())
    sup = dist.support
    lo = getattr(sup, "lower_bound", None)
    hi = getattr(sup, "upper_bound", None)
    if lo is None or hi is None:
        raise InvalidParameterError(f"prior marginal {dist!r} has no bounded interval support; "
                                    "pass report bounds explicitly")
    return float(lo), float(hi)


class IndependentPrior:
    """Independent types: agent ``i``'s type ~ ``marginals[i]`` (scalar ``torch.distributions``).

    Args:
        marginals: one scalar distribution per agent (``Uniform``, ``LogNormal``, :class:`FiniteTypes`, ...).
    """

    def __init__(self, marginals: Sequence[Distribution]) -> None:
        marginals = list(marginals)
        if not marginals:
            raise InvalidParameterError("marginals must hold one distribution per agent, got []")
        for i, d in enumerate(marginals):
            if not isinstance(d, Distribution) or d.batch_shape != torch.Size() or d.event_shape != torch.Size():
                raise InvalidParameterError(f"marginals[{i}] must be a scalar torch.distributions object, got {d!r}")
        self.marginals = marginals

    @classmethod
    def iid(cls, dist: Distribution, n_agents: int) -> "IndependentPrior":
        """``n_agents`` agents with the same marginal ``dist``."""
        return cls([dist] * require_int_at_least("n_agents", n_agents, 1))

    @property
    def n_agents(self) -> int:
        return len(self.marginals)

    @property
    def mean(self) -> np.ndarray:
        """``E[θ_i]`` per agent, ``(N,)``."""
        return np.array([float(d.mean) for d in self.marginals])

    def bounds(self, i: int) -> tuple[float, float]:
        """The support ``[lo, hi]`` of agent ``i``'s type (the report space the audit searches)."""
        return _bounds_of(self.marginals[i])

    def is_finite(self, agents: Sequence[int] | None = None) -> bool:
        """Whether the marginals of ``agents`` (default all) are finite (exact enumeration possible)."""
        idx = range(self.n_agents) if agents is None else agents
        return all(getattr(self.marginals[i], "has_enumerate_support", False) for i in idx)

    def sample(self, n: int, seed: int, agents: Sequence[int] | None = None) -> np.ndarray:
        """``n`` joint draws, ``(n, N)`` float64 (or ``(n, len(agents))``); same seed, same draws."""
        n = require_int_at_least("n", n, 1)
        idx = list(range(self.n_agents)) if agents is None else list(agents)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            cols = [self.marginals[i].sample(torch.Size([n])).to(torch.float64) for i in idx]
        return torch.stack(cols, dim=1).numpy() if cols else np.zeros((n, 0))

    def sample_qmc(self, n: int, seed: int, agents: Sequence[int] | None = None) -> np.ndarray:
        """``n`` scrambled-Sobol draws mapped through each marginal's inverse CDF, ``(n, len(agents))``:
        quasi-Monte Carlo, error ``~(log n)^d / n`` instead of ``n^{-1/2}`` for smooth integrands.
        Raises ``NotImplementedError`` when a marginal has no ``icdf``."""
        n = require_int_at_least("n", n, 1)
        idx = list(range(self.n_agents)) if agents is None else list(agents)
        if not idx:
            return np.zeros((n, 0))
        engine = torch.quasirandom.SobolEngine(len(idx), scramble=True, seed=int(seed))
        u = engine.draw(n, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
        return torch.stack([self.marginals[j].icdf(u[:, k]).to(torch.float64) for k, j in enumerate(idx)],
                           dim=1).numpy()

    def enumerate(self, agents: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every joint type of ``agents`` with its probability: ``(K, len(agents))`` values, ``(K,)`` weights."""
        idx = list(range(self.n_agents)) if agents is None else list(agents)
        if not self.is_finite(idx):
            raise InvalidParameterError("enumerate needs finite marginals (FiniteTypes) for every agent")
        supports = [self.marginals[i].enumerate_support().numpy() for i in idx]
        probs = [torch.exp(self.marginals[i].log_prob(torch.as_tensor(s))).numpy()
                 for i, s in zip(idx, supports)]
        values = np.array(list(itertools.product(*supports)), dtype=np.float64).reshape(-1, len(idx))
        weights = np.array([math.prod(w) for w in itertools.product(*probs)], dtype=np.float64)
        return values, weights

    def __repr__(self) -> str:
        return f"IndependentPrior({self.marginals!r})"


@dataclass(frozen=True)
class Estimate:
    """A mean with a two-sided ``level`` confidence interval ``[low, high]`` from ``n`` samples
    (``n = 0``/``exact=True``: computed by exact enumeration, zero-width interval)."""

    mean: float
    low: float
    high: float
    n: int
    level: float = 0.95
    exact: bool = False

    @property
    def half_width(self) -> float:
        return 0.5 * (self.high - self.low)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "ci_low": self.low, "ci_high": self.high, "n": self.n,
                "level": self.level, "exact": self.exact}


def mc_estimate(values: Any, level: float = 0.95, weights: Any = None) -> Estimate:
    """Mean of ``values`` with a Student-t interval; with ``weights`` (exact quadrature over an
    enumerated prior) the weighted mean and a zero-width interval."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0 or not np.isfinite(v).all():
        raise InvalidParameterError(f"values must be a non-empty finite array, got size {v.size}")
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        m = float(np.dot(w, v) / w.sum())
        return Estimate(m, m, m, int(v.size), level, exact=True)
    m = float(v.mean())
    if v.size < 2:
        return Estimate(m, -math.inf, math.inf, 1, level)
    half = float(scipy.stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return Estimate(m, m - half, m + half, int(v.size), level)


# ---------------------------------------------------------------------------- belief updating
def quadratic_best_response(price: Any, lam: Any) -> np.ndarray:
    """An agent with cost ``λ x²`` facing a linear price ``p`` maximises ``p x − λ x²``: ``x = p/(2λ)``."""
    return np.asarray(price, dtype=np.float64) / (2.0 * np.asarray(lam, dtype=np.float64))


def simulate_responses(true_type: float, prices: Any, noise_std: float, seed: int,
                       response: Callable[[Any, Any], np.ndarray] = quadratic_best_response) -> np.ndarray:
    """Observed responses ``response(p, θ) + N(0, σ²)`` to each posted price (seeded)."""
    require_positive("noise_std", noise_std)
    prices = np.asarray(prices, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return response(prices, true_type) + noise_std * rng.standard_normal(prices.shape)


class GridPosterior:
    """The Planner's posterior over one agent's scalar type on a grid (exact Bayes on the grid).

    Starts from ``prior`` (a scalar ``torch.distributions`` object; a :class:`FiniteTypes` prior is
    used on its own support). :meth:`observe` multiplies in the likelihood of responses
    ``y_k = response(p_k, θ) + ε_k``, ``ε_k ~ N(0, σ²)``:

        log post(θ) = log prior(θ) − Σ_k (y_k − response(p_k, θ))² / (2σ²) + const.

    Args:
        prior: the Planner's prior on the type.
        grid_size: grid points over the prior's support (ignored for finite priors).
        response: ``(price, θ) -> response`` (module-level function; default :func:`quadratic_best_response`).
    """

    def __init__(self, prior: Distribution, grid_size: int = 2001,
                 response: Callable[[Any, Any], np.ndarray] = quadratic_best_response) -> None:
        if isinstance(prior, FiniteTypes):
            self.grid = prior.values.numpy().copy()
        else:
            lo, hi = _bounds_of(prior)
            n = require_int_at_least("grid_size", grid_size, 3)
            self.grid = np.linspace(lo, hi, n + 2)[1:-1]  # interior points: log_prob finite
        self.log_post = prior.log_prob(torch.as_tensor(self.grid)).numpy().astype(np.float64)
        self.response = response
        self.n_observations = 0
        self._normalise()

    def _normalise(self) -> None:
        self.log_post = self.log_post - scipy.special.logsumexp(self.log_post)

    @property
    def weights(self) -> np.ndarray:
        """Posterior probabilities on :attr:`grid`."""
        return np.exp(self.log_post)

    def observe(self, prices: Any, responses: Any, noise_std: float) -> "GridPosterior":
        """Bayes update from responses to posted prices; returns ``self``."""
        require_positive("noise_std", noise_std)
        p = np.asarray(prices, dtype=np.float64).reshape(-1)
        y = np.asarray(responses, dtype=np.float64).reshape(-1)
        if p.shape != y.shape or not (np.isfinite(p).all() and np.isfinite(y).all()):
            raise InvalidParameterError(f"prices and responses must be finite with the same length, got "
                                        f"{p.shape} and {y.shape}")
        pred = self.response(p[None, :], self.grid[:, None])            # (G, K)
        self.log_post = self.log_post - ((y[None, :] - pred) ** 2).sum(1) / (2 * noise_std ** 2)
        self.n_observations += int(p.size)
        self._normalise()
        return self

    @property
    def mean(self) -> float:
        return float(np.dot(self.weights, self.grid))

    @property
    def std(self) -> float:
        return float(math.sqrt(max(np.dot(self.weights, (self.grid - self.mean) ** 2), 0.0)))

    @property
    def map(self) -> float:
        return float(self.grid[int(np.argmax(self.log_post))])

    def credible_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Equal-tailed credible interval from the grid CDF."""
        cdf = np.cumsum(self.weights)
        lo = self.grid[min(int(np.searchsorted(cdf, (1 - level) / 2)), self.grid.size - 1)]
        hi = self.grid[min(int(np.searchsorted(cdf, 1 - (1 - level) / 2)), self.grid.size - 1)]
        return float(lo), float(hi)
