"""Batched searches for incentive violations over whole report profiles.

The quantities (notation of :mod:`mechanism.design`: reports ``R``, true types ``θ``,
``u_i(R; θ_i) = t_i(R) − C_i(x*_i(R); θ_i)``):

* **ex-post regret at a profile** ``(θ_i, R_{−i})``: agent i of true type ``θ_i`` facing the
  others' reports ``R_{−i}`` (any reports, not only truthful ones):
  ``ρ_i(θ_i, R_{−i}) = max_{r ∈ [low_i, high_i]} u_i(r, R_{−i}; θ_i) − u_i(θ_i, R_{−i}; θ_i)``.
  A rule is dominant-strategy IC (DSIC) iff ``ρ_i = 0`` for every agent, type and profile.
* **budget surplus** ``−Σ_i t_i(R)`` and **ex-post IR** ``u_i(θ; θ_i) ≥ 0`` at truthful profiles.

:func:`batched_maximize` maximises one scalar function per row (a grid, then golden-section
search inside the best grid cell, all rows at once); :func:`regret_at_profiles` evaluates
``ρ_i`` at many profiles in one batch; :func:`dsic_search` maximises ``ρ_i`` over the profile
box (corners, a scrambled Sobol design, draws from a prior, then a batched hill climb from the
worst profiles found), and :func:`profile_search` scans truthful profiles for IR and budget-balance
violations. Every result says what was searched (``search``) and how many profiles (``k``), so a
label built on it can say "no violation in K profiles (search S)".
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..errors import InvalidParameterError, require_int_at_least
from .game import PaymentRule, ReportingGame, agent_utility, budget_surplus, utilities
from .priors import IndependentPrior

__all__ = ["batched_maximize", "regret_at_profiles", "profile_design", "dsic_search", "profile_search",
           "expected_ex_post_regret"]

_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


def batched_maximize(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, *,
                     n_grid: int = 33, n_golden: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Maximise ``f`` on ``[lo_m, hi_m]`` for every row ``m`` at once.

    ``f`` maps candidate points ``(M, K)`` to values ``(M, K)``. A grid of ``n_grid`` points per
    row, then golden-section search on the two grid cells around each row's best grid point
    (``n_golden`` iterations shrink the bracket by ``0.618^n_golden``). Exact for functions that
    are unimodal on that bracket; the grid guards against other local maxima wider than a cell.
    Returns ``(argmax (M,), max (M,))``.
    """
    n_grid = require_int_at_least("n_grid", n_grid, 3)
    n_golden = require_int_at_least("n_golden", n_golden, 0)
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    if lo.shape != hi.shape or lo.ndim != 1 or not (np.isfinite(lo).all() and np.isfinite(hi).all()) \
            or (lo >= hi).any():
        raise InvalidParameterError("batched_maximize needs finite 1-D lo < hi of one shape, got "
                                    f"lo={lo[:4].tolist()}..., hi={hi[:4].tolist()}...")
    rows = np.arange(lo.size)
    t = np.linspace(0.0, 1.0, n_grid)
    grid = lo[:, None] + (hi - lo)[:, None] * t[None, :]
    values = np.asarray(f(grid), np.float64)
    k = np.argmax(values, axis=1)
    best_x, best_v = grid[rows, k], values[rows, k]
    a, b = grid[rows, np.maximum(k - 1, 0)], grid[rows, np.minimum(k + 1, n_grid - 1)]
    c, d = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    fc, fd = np.asarray(f(np.stack([c, d], 1)), np.float64).T
    for _ in range(n_golden):                # invariant: a < c < d < b, c and d golden points
        left = fc >= fd                      # the maximum lies in [a, d]: drop (d, b]
        a, b = np.where(left, a, c), np.where(left, d, b)
        keep, keep_f = np.where(left, c, d), np.where(left, fc, fd)   # the surviving inner point
        new = np.where(left, b - _INV_PHI * (b - a), a + _INV_PHI * (b - a))
        fnew = np.asarray(f(new[:, None]), np.float64)[:, 0]
        c, fc = np.where(left, new, keep), np.where(left, fnew, keep_f)
        d, fd = np.where(left, keep, new), np.where(left, keep_f, fnew)
    for x, v in ((c, fc), (d, fd)):
        better = v > best_v
        best_x, best_v = np.where(better, x, best_x), np.where(better, v, best_v)
    return best_x, best_v


def regret_at_profiles(game: ReportingGame, rule: PaymentRule, i: int, profiles: np.ndarray, *,
                       n_grid: int = 33, n_golden: int = 48) -> dict[str, np.ndarray]:
    """``ρ_i`` at each row of ``profiles`` ``(M, N)``: column ``i`` is agent i's *true type*, the
    other columns are the others' *reports*. Returns ``regret`` (≥ 0), ``gain`` (signed),
    ``best_report`` and ``truthful_utility``, each ``(M,)``."""
    P = game.profiles(profiles, "profiles")
    M, N = P.shape
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < N:
        raise InvalidParameterError(f"agent i must be an index in [0, {N}), got {i!r}")
    theta = P[:, i]

    def u(reports: np.ndarray) -> np.ndarray:          # (M, K) own reports -> (M, K) utilities
        K = reports.shape[1]
        R = np.repeat(P, K, axis=0)
        R[:, i] = reports.reshape(-1)
        T = R.copy()
        T[:, i] = np.repeat(theta, K)
        return agent_utility(game, rule, i, R, T).reshape(M, K)

    truthful = u(theta[:, None])[:, 0]
    best_r, best_u = batched_maximize(u, np.full(M, game.low[i]), np.full(M, game.high[i]),
                                      n_grid=n_grid, n_golden=n_golden)
    gain = best_u - truthful
    return {"regret": np.maximum(gain, 0.0), "gain": gain, "best_report": best_r, "truthful_utility": truthful}


def profile_design(game: ReportingGame, n: int, seed: int, prior: IndependentPrior | None = None,
                   *, include_truth: bool = True) -> tuple[np.ndarray, dict[str, int]]:
    """Profiles in the report box ``Π_j [low_j, high_j]``: the game's truth, the box's corners
    (up to 1,024 of them), ``n`` scrambled-Sobol points and, with a prior, ``n`` prior draws
    clipped to the box. Returns ``(profiles (K, N), counts per source)``."""
    n = require_int_at_least("n", n, 0)
    N = game.n_agents
    parts, counts = [], {}
    if include_truth:
        parts.append(game.truth[None, :])
        counts["truth"] = 1
    if N <= 10:
        corners = np.array(list(itertools.product(*zip(game.low, game.high))), dtype=np.float64)
        parts.append(corners)
        counts["corners"] = len(corners)
    if n > 0:
        u = torch.quasirandom.SobolEngine(N, scramble=True, seed=int(seed)).draw(n, dtype=torch.float64).numpy()
        parts.append(game.low + (game.high - game.low) * u)
        counts["sobol"] = n
        if prior is not None:
            parts.append(np.clip(prior.sample(n, seed + 1), game.low, game.high))
            counts["prior_draws"] = n
    return np.concatenate(parts), counts


def dsic_search(game: ReportingGame, rule: PaymentRule, *, agents: Sequence[int] | None = None,
                n_profiles: int = 1024, n_refine: int = 4, prior: IndependentPrior | None = None, seed: int = 0,
                n_grid: int = 33, n_golden: int = 48, climb_steps: int = 40) -> dict[str, Any]:
    """The largest ex-post regret ``ρ_i(θ_i, R_{−i})`` found over agents, own types and the
    others' report profiles.

    Search: :func:`profile_design` (truth, corners, ``n_profiles`` Sobol points, ``n_profiles``
    prior draws), each profile's own-report maximisation by :func:`batched_maximize`, then
    Nelder–Mead over the whole profile (own type and others' reports, clipped to the box) from
    the ``n_refine`` worst profiles per agent (``climb_steps`` steps). Returns ``max_regret``, the ``witness`` (agent,
    type, others' reports, best report, gain), ``k`` (profiles evaluated, refinement included),
    ``per_agent`` maxima, and ``search`` (a description for labels).
    """
    agents = list(range(game.n_agents)) if agents is None else list(agents)
    bad = [a for a in agents if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not 0 <= a < game.n_agents]
    if bad:
        raise InvalidParameterError(f"agents must be indices in [0, {game.n_agents}), got {bad!r}")
    n_refine = require_int_at_least("n_refine", n_refine, 0)
    climb_steps = require_int_at_least("climb_steps", climb_steps, 0)
    P, counts = profile_design(game, n_profiles, seed, prior)
    best: dict[str, Any] = {"gain": -math.inf}
    per_agent, k = [], 0
    rng = np.random.default_rng(seed + 7)
    for i in agents:
        res = regret_at_profiles(game, rule, i, P, n_grid=n_grid, n_golden=n_golden)
        k += len(P)
        order = np.argsort(-res["gain"])[: max(1, n_refine)]
        X, G, Rep = P[order].copy(), res["gain"][order].copy(), res["best_report"][order].copy()
        if n_refine > 0:
            X, G, Rep, used = _local_search(game, rule, i, X, G, Rep, rng, n_grid, n_golden, climb_steps)
            k += used
        m = int(np.argmax(G))
        row, g = X[m], float(G[m])
        per_agent.append({"agent": i, "max_regret": max(g, 0.0), "type": float(row[i]),
                          "others_reports": np.delete(row, i).tolist(), "best_report": float(Rep[m])})
        if g > best["gain"]:
            best = {"agent": i, "type": float(row[i]), "others_reports": np.delete(row, i).tolist(),
                    "best_report": float(Rep[m]), "gain": g}
    sources = ", ".join(f"{v} {name.replace('_', ' ')}" for name, v in counts.items())
    return {"max_regret": max(best["gain"], 0.0), "witness": best, "k": k, "per_agent": per_agent,
            "agents": agents, "profiles_per_agent": len(P),
            "search": (f"profiles of (own type, others' reports) in the report box: {sources}; own report by "
                       f"a {n_grid}-point grid + golden section; a batched Gaussian hill climb ({climb_steps} steps × {_CLIMB_PROPOSALS} "
                       f"proposals, step halving) from the {n_refine} worst per agent")}


_CLIMB_PROPOSALS = 16


def _local_search(game: ReportingGame, rule: PaymentRule, i: int, X: np.ndarray, G: np.ndarray, Rep: np.ndarray,
                  rng: np.random.Generator, n_grid: int, n_golden: int, steps: int) -> tuple[np.ndarray, ...]:
    """Hill climb on ``ρ_i`` over whole profiles from each row of ``X`` at once: Gaussian
    proposals (step 10% of the box, halved after a step without improvement), clipped to the box."""
    width = game.high - game.low
    step = np.full(len(X), 0.1)
    used = 0
    for _ in range(steps):
        prop = X[:, None, :] + step[:, None, None] * width * rng.standard_normal((len(X), _CLIMB_PROPOSALS, X.shape[1]))
        prop = np.clip(prop, game.low, game.high).reshape(-1, X.shape[1])
        r = regret_at_profiles(game, rule, i, prop, n_grid=n_grid, n_golden=n_golden)
        used += len(prop)
        g = r["gain"].reshape(len(X), _CLIMB_PROPOSALS)
        j = np.argmax(g, axis=1)
        rows = np.arange(len(X))
        better = g[rows, j] > G
        pick = rows * _CLIMB_PROPOSALS + j
        X = np.where(better[:, None], prop[pick], X)
        Rep = np.where(better, r["best_report"][pick], Rep)
        G = np.where(better, g[rows, j], G)
        step = np.where(better, step, step / 2)
    return X, G, Rep, used


def profile_search(game: ReportingGame, rule: PaymentRule, *, n_profiles: int = 1024,
                   prior: IndependentPrior | None = None, seed: int = 0) -> dict[str, Any]:
    """Truthful profiles ``θ`` (truth, corners, Sobol points, prior draws; :func:`profile_design`):
    the worst IR margin ``min_i u_i(θ; θ_i)`` and the largest ``|budget surplus|``, with witnesses."""
    P, counts = profile_design(game, n_profiles, seed + 17, prior)
    U = utilities(game, rule, P, P)
    m, i = np.unravel_index(int(np.argmin(U)), U.shape)
    S = budget_surplus(game, rule, P)
    b = int(np.argmax(np.abs(S)))
    sources = ", ".join(f"{v} {name.replace('_', ' ')}" for name, v in counts.items())
    return {"k": len(P), "search": f"truthful type profiles in the report box: {sources}",
            "min_utility": float(U[m, i]), "ir_witness": {"agent": int(i), "types": P[m].tolist(), "utility": float(U[m, i])},
            "max_abs_surplus": float(abs(S[b])), "bb_witness": {"reports": P[b].tolist(), "surplus": float(S[b])}}


def expected_ex_post_regret(game: ReportingGame, rule: PaymentRule, prior: IndependentPrior, *, n: int,
                            seed: int, n_grid: int = 33, n_golden: int = 48) -> dict[str, Any]:
    """``E_{θ ~ prior}[ρ_i(θ_i, θ_{−i})]`` (others truthful), RegretNet's metric: per agent and
    averaged over agents, with 95% t-intervals from ``n`` i.i.d. profiles (exact weights when the
    prior is finite: every profile is enumerated)."""
    from .priors import mc_estimate

    if prior.is_finite():
        P, w = prior.enumerate()
    else:
        P, w = prior.sample(require_int_at_least("n", n, 2), seed), None
    per = np.stack([regret_at_profiles(game, rule, i, P, n_grid=n_grid, n_golden=n_golden)["regret"]
                    for i in range(game.n_agents)], axis=1)
    return {"mean_over_agents": mc_estimate(per.mean(1), weights=w).to_dict(),
            "per_agent": [mc_estimate(per[:, i], weights=w).to_dict() for i in range(game.n_agents)],
            "max_over_profiles": float(per.max()), "n_profiles": int(len(P)), "exact": w is not None}
