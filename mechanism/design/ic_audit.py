"""Incentive-compatibility audit of payment rules: labels that are proofs, scoped searches or witnesses.

For a :class:`~mechanism.design.ReportingGame`, a :class:`~mechanism.design.PaymentRule`,
a truth ``θ`` and optionally a prior, :func:`audit_rule` returns four property labels
(:mod:`mechanism.design.ic_labels`) and the numbers behind them:

* **DSIC**: ex-post regret ``ρ_i(θ_i, R_{−i})`` maximised over every agent whose report the
  rule reads, its own type and the others' *report profiles* (not only truthful ones), by
  :func:`mechanism.design.ic_search.dsic_search` (corners, Sobol points, prior draws, hill climb);
  ``proved`` for Groves/VCG with an exact allocation (Groves' theorem);
* **BIC** (with a prior): interim regret of every agent whose report the rule reads, once per
  class of exchangeable agents (:func:`exchangeable_classes`), for every own type of a finite
  prior or prior quantiles of a continuous one; the best report is chosen on ``n_train`` draws
  of the others' types and its gain measured on ``n_test`` independent draws (t-interval), or
  exactly by enumeration when the prior is finite; ``proved`` for VCG (DSIC ⇒ BIC) and AGV with
  exact expectations;
* **ex-post IR** and **budget balance** over truthful profiles
  (:func:`mechanism.design.ic_search.profile_search`); ``proved`` where an identity holds (AGV's and no
  payment's budget, VCG's IR when ``C_i(a₀) = 0``);
* beside them: ex-post regret at the truthful profile (:func:`ex_post_regret`: bounded Brent,
  L-BFGS-B and a grid, checked against the closed form), coalition regret of pairs, expected
  ex-post regret over ``n_expected`` prior profiles with a CI (RegretNet's metric), budget
  surplus, efficiency loss and IR at the truth.

Closed forms (aggregative family, derivation in ``docs/mechanism_design.md``): with
``B_i = 1 + Σ_{j≠i} 1/θ̂_j`` (the others' reports) and ``Y' = Y − c``, the DPM linear price gives
``u_i(r) = Y'² (2a − θ_i a²)/(B_i + a)²`` with ``a = 1/r``, maximised at ``r* = θ_i + 1/B_i`` (agents
overstate their cost); its ex-post regret is ``Y'² / (B_i (2 + θ_i B_i)(1 + θ_i B_i)²)``. Without
payment ``u_i = −θ_i Y'²/(r B_i + 1)²``: report the upper bound. Groves/VCG: zero.

:func:`audit_c4` and :func:`audit_c17` are the entry points for the Appendix C reproduction.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import scipy.optimize
import torch

from ..errors import InvalidParameterError, require_int_at_least
from .ic_labels import PropertyLabel, label_from_search, proof_for
from .ic_search import dsic_search, expected_ex_post_regret, profile_search
from .game import (AggregativeClosedForm, PaymentRule, ReportingGame, agent_utility, aggregative_game,
                   budget_surplus, efficiency_loss, utilities)
from .rules import AGV, BayesianDPM, DPMLinearPrice, NoPayment, standard_rules
from .vcg import VCG
from .priors import FiniteTypes, IndependentPrior, mc_estimate

__all__ = ["AuditConfig", "maximize_scalar", "ex_post_regret", "coalition_regret", "interim_regret",
           "audit_rule", "audit", "closed_form_ex_post", "audit_c4", "audit_c17", "C4_LAM", "C4_Y",
           "C4_PRIOR", "C17_TRUE", "IC_TOLERANCE", "markdown_table", "dpm_regret_vs_n", "ic_verdict",
           "exchangeable_classes", "dsic_label", "bic_label", "ir_bb_labels", "c4_prior", "c17_prior"]

C4_LAM = (0.1, 0.5, 0.2, 0.4, 0.6)
C4_Y = 7.461
C4_PRIOR = (0.05, 1.0)            # declared prior for C.4: λ_i ~ Uniform(0.05, 1.0) i.i.d.
C17_TRUE = (0.3, 0.5, 0.2, 0.4, 0.6)
IC_TOLERANCE = 1e-6               # regret at or below this counts as incentive compatible


@dataclass
class AuditConfig:
    """Search and sampling budgets of the audit. ``quick()``: the CLI's ``--quick``; ``full()``.

    ``n_grid``/``n_starts``/``n_lbfgs``: the scalar report search at the truthful profile (and
    for interim regret); ``dsic_profiles``/``dsic_refine``: the DSIC search over profiles
    (:func:`mechanism.design.ic_search.dsic_search`: corners, this many Sobol points and as many prior
    draws, then a hill climb of ``dsic_climb_steps`` steps from the ``dsic_refine`` worst per agent; the own report at each
    profile by a ``profile_grid``-point grid and ``profile_golden`` golden-section steps); ``ir_bb_profiles``: truthful
    profiles scanned for IR and budget-balance violations; ``n_expected``: i.i.d. profiles for the
    expected ex-post regret; ``n_train``/``n_test``: draws of the others' types that choose the
    best interim report and (independently) measure its gain; ``interim_types``: own-type
    quantiles per agent class under a continuous prior.
    """

    n_grid: int = 41
    n_starts: int = 4
    n_lbfgs: int = 1
    coalition_grid: int = 13
    coalition_starts: int = 1
    dsic_profiles: int = 1024
    dsic_refine: int = 4
    dsic_climb_steps: int = 40
    profile_grid: int = 33
    profile_golden: int = 48
    ir_bb_profiles: int = 4096
    n_expected: int = 10_000
    n_train: int = 2_000
    n_test: int = 10_000
    interim_types: int = 5
    agv_samples: int = 256
    seed: int = 0

    @classmethod
    def quick(cls, **kw: Any) -> "AuditConfig":
        return cls(**kw)

    @classmethod
    def tiny(cls, **kw: Any) -> "AuditConfig":
        """For tests: a few seconds per audit (the regrets of the DPM/VCG rules stay exact: the
        utilities are smooth and unimodal, so the Brent search still converges)."""
        return cls(**{**dict(n_grid=9, n_starts=1, n_lbfgs=0, coalition_grid=5, coalition_starts=0, dsic_profiles=32,
                             dsic_refine=1, dsic_climb_steps=8, profile_grid=9, profile_golden=30, ir_bb_profiles=64, n_expected=256, n_train=64, n_test=256,
                             interim_types=2, agv_samples=32), **kw})

    @classmethod
    def full(cls, **kw: Any) -> "AuditConfig":
        return cls(**{**dict(n_grid=101, n_starts=12, coalition_grid=25, coalition_starts=6, dsic_profiles=8192,
                             dsic_refine=16, ir_bb_profiles=32768, n_expected=100_000, n_train=10_000,
                             n_test=100_000, interim_types=9, agv_samples=1024), **kw})


# ---------------------------------------------------------------------------- search
def maximize_scalar(f: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, *, n_grid: int = 41,
                    n_starts: int = 6, n_lbfgs: int = 1, seed: int = 0) -> dict[str, Any]:
    """Maximise a vectorised ``f: (K,) -> (K,)`` on ``[lo, hi]``: a grid, bounded Brent on
    ``n_starts`` equal sub-intervals, then L-BFGS-B (finite-difference gradient) from the best
    point so far and from ``n_lbfgs`` seeded random starts.

    Returns ``{"x", "value"}`` (best of all), ``{"grid_x", "grid_value"}`` (grid only), the grid
    itself (``"grid"``, ``"grid_values"``) and the evaluation count.
    """
    n_grid = require_int_at_least("n_grid", n_grid, 2)
    n_starts = require_int_at_least("n_starts", n_starts, 1)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InvalidParameterError(f"need finite lo < hi, got lo={lo!r}, hi={hi!r}")
    count = {"n": 0}

    def neg(v: np.ndarray) -> float:
        count["n"] += 1
        return -float(f(np.array([float(np.clip(v, lo, hi))]))[0])

    grid = np.linspace(lo, hi, n_grid)
    gvals = np.asarray(f(grid), dtype=np.float64)
    count["n"] += n_grid
    k = int(np.argmax(gvals))
    best_x, best_v = float(grid[k]), float(gvals[k])
    edges = np.linspace(lo, hi, n_starts + 1)
    for a, b in zip(edges[:-1], edges[1:]):
        res = scipy.optimize.minimize_scalar(neg, bounds=(a, b), method="bounded",
                                             options={"xatol": 1e-12 * max(1.0, abs(hi))})
        if -res.fun > best_v:
            best_x, best_v = float(res.x), float(-res.fun)
    rng = np.random.default_rng(seed)
    for x0 in np.concatenate([[best_x], rng.uniform(lo, hi, n_lbfgs)]):
        res = scipy.optimize.minimize(lambda v: neg(v[0]), np.array([x0]), method="L-BFGS-B",
                                      bounds=[(lo, hi)], options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 50})
        if -res.fun > best_v:
            best_x, best_v = float(np.clip(res.x[0], lo, hi)), float(-res.fun)
    return {"x": best_x, "value": best_v, "grid_x": float(grid[k]), "grid_value": float(gvals[k]),
            "grid": grid, "grid_values": gvals, "evaluations": count["n"]}


def _replace(T: np.ndarray, cols: Sequence[int], values: np.ndarray) -> np.ndarray:
    """Rows of ``T`` (one profile ``(N,)`` repeated) with columns ``cols`` set to ``values`` ``(K, len(cols))``."""
    R = np.repeat(T[None, :], values.shape[0], axis=0)
    R[:, list(cols)] = values
    return R


def ex_post_regret(game: ReportingGame, rule: PaymentRule, truth: Any = None, *,
                   agents: Sequence[int] | None = None, n_grid: int = 41, n_starts: int = 6,
                   n_lbfgs: int = 1, seed: int = 0) -> list[dict[str, Any]]:
    """Each agent's best unilateral misreport against truthful others at ``truth`` (default the
    game's truth): ``truthful_utility``, ``best_report``, ``gain`` (search), ``grid_gain``, ``regret``,
    and the grid curve ``reports``/``utilities`` (for plots)."""
    T = game.truth if truth is None else game.profiles(truth, "truth")[0]
    out = []
    for i in (range(game.n_agents) if agents is None else agents):
        def f(r: np.ndarray, i: int = i) -> np.ndarray:
            return agent_utility(game, rule, i, _replace(T, [i], r[:, None]), T)

        u0 = float(f(np.array([T[i]]))[0])
        s = maximize_scalar(f, float(game.low[i]), float(game.high[i]), n_grid=n_grid, n_starts=n_starts,
                            n_lbfgs=n_lbfgs, seed=seed + i)
        gain = max(s["value"], s["grid_value"]) - u0
        out.append({"agent": i, "truth": float(T[i]), "truthful_utility": u0, "best_report": s["x"],
                    "gain": s["value"] - u0, "grid_gain": s["grid_value"] - u0, "regret": max(0.0, gain),
                    "evaluations": s["evaluations"], "reports": s["grid"].tolist(),
                    "utilities": s["grid_values"].tolist()})
    return out


def coalition_regret(game: ReportingGame, rule: PaymentRule, truth: Any = None, *,
                     pairs: Sequence[tuple[int, int]] | None = None, n_grid: int = 13, n_starts: int = 3,
                     seed: int = 0) -> list[dict[str, Any]]:
    """The best joint misreport of each pair (default all pairs): gain in ``u_i + u_j``."""
    T = game.truth if truth is None else game.profiles(truth, "truth")[0]
    pairs = list(itertools.combinations(range(game.n_agents), 2)) if pairs is None else pairs
    rng = np.random.default_rng(seed)
    out = []
    for i, j in pairs:
        def f(V: np.ndarray, i: int = i, j: int = j) -> np.ndarray:
            R = _replace(T, [i, j], V)
            X = rule.allocate(game, R)
            C = game.costs(X, np.repeat(T[None], V.shape[0], 0))
            return rule.transfer(game, i, R, X) + rule.transfer(game, j, R, X) - C[:, i] - C[:, j]

        u0 = float(f(T[[i, j]][None])[0])
        gi, gj = np.linspace(game.low[i], game.high[i], n_grid), np.linspace(game.low[j], game.high[j], n_grid)
        V = np.array(list(itertools.product(gi, gj)))
        vals = f(V)
        k = int(np.argmax(vals))
        best_v, best_x = float(vals[k]), V[k]
        bounds = [(game.low[i], game.high[i]), (game.low[j], game.high[j])]
        starts = np.vstack([V[k], rng.uniform([b[0] for b in bounds], [b[1] for b in bounds], (n_starts, 2))])
        for x0 in starts:
            res = scipy.optimize.minimize(lambda v: -float(f(np.clip(v, *zip(*bounds))[None])[0]), x0,
                                          method="L-BFGS-B", bounds=bounds,
                                          options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 50})
            if -res.fun > best_v:
                best_v, best_x = float(-res.fun), np.clip(res.x, *zip(*bounds))
        out.append({"agents": [i, j], "truthful_utility": u0, "best_reports": [float(v) for v in best_x],
                    "gain": best_v - u0, "grid_gain": float(vals[k]) - u0, "regret": max(0.0, best_v - u0)})
    return out


def _others_draws(prior: IndependentPrior, i: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    idx = [j for j in range(prior.n_agents) if j != i]
    if prior.is_finite(idx):
        return prior.enumerate(idx)
    return prior.sample(n, seed, idx), None


def interim_regret(game: ReportingGame, rule: PaymentRule, prior: IndependentPrior, i: int, own_type: float,
                   *, n_train: int = 128, n_test: int = 512, n_grid: int = 41, n_starts: int = 6,
                   n_lbfgs: int = 1, seed: int = 0) -> dict[str, Any]:
    """Agent ``i`` of type ``own_type`` against truthful others ~ ``prior``: the best report
    (chosen on ``n_train`` draws) and its expected gain over truth-telling on ``n_test`` fresh draws
    (t-interval), both exact when the others' prior is finite."""
    train, w_train = _others_draws(prior, i, n_train, seed)
    test, w_test = (train, w_train) if w_train is not None else _others_draws(prior, i, n_test, seed + 7919)

    def rows(others: np.ndarray, r: float) -> np.ndarray:
        return np.insert(others, i, r, axis=1)

    T_train, T_test = rows(train, own_type), rows(test, own_type)

    def mean_u(r: np.ndarray) -> np.ndarray:           # every candidate report in one batch
        r = np.asarray(r, dtype=np.float64).reshape(-1)
        R = np.tile(T_train, (r.size, 1))
        R[:, i] = np.repeat(r, len(train))
        U = agent_utility(game, rule, i, R, np.tile(T_train, (r.size, 1))).reshape(r.size, len(train))
        return np.average(U, axis=1, weights=w_train)

    s = maximize_scalar(mean_u, float(game.low[i]), float(game.high[i]), n_grid=n_grid, n_starts=n_starts,
                        n_lbfgs=n_lbfgs, seed=seed + i)
    best = s["x"] if s["value"] >= s["grid_value"] else s["grid_x"]
    d = (agent_utility(game, rule, i, rows(test, best), T_test)
         - agent_utility(game, rule, i, rows(test, own_type), T_test))
    est = mc_estimate(d, weights=w_test)
    return {"agent": i, "type": float(own_type), "best_report": float(best), "gain": est.to_dict(),
            "regret": max(0.0, est.mean), "exact": w_test is not None,
            "n_train": int(len(train)), "n_test": int(len(test))}


def _own_types(prior: IndependentPrior, i: int, k: int) -> list[float]:
    d = prior.marginals[i]
    if isinstance(d, FiniteTypes):
        return [float(v) for v in d.values]
    qs = (np.arange(k) + 0.5) / k
    try:
        return [float(d.icdf(torch.tensor(q, dtype=torch.float64))) for q in qs]
    except NotImplementedError:
        return sorted(prior.sample(k, 12345, [i])[:, 0].tolist())


# ---------------------------------------------------------------------------- closed forms
def closed_form_ex_post(game: ReportingGame, rule_name: str, truth: Any = None) -> list[dict[str, float]] | None:
    """Exact ex-post regret and best report per agent for the aggregative family (``None`` when
    unknown for this game or rule). See the module docstring for the formulas."""
    cf = game.closed_form
    if not isinstance(cf, AggregativeClosedForm):
        return None
    T = game.truth if truth is None else game.profiles(truth, "truth")[0]
    Yp = cf.Y - cf.offset
    out = []
    for i in range(game.n_agents):
        lam, B, lo, hi = T[i], 1.0 + (1.0 / np.delete(T, i)).sum(), game.low[i], game.high[i]
        if rule_name in ("vcg", "groves_h0"):
            best, regret = lam, 0.0
        elif rule_name == "dpm":
            def u(r: float) -> float:
                a = 1.0 / r
                return Yp ** 2 * (2 * a - lam * a * a) / (B + a) ** 2
            best = float(np.clip(lam + 1.0 / B, lo, hi))
            regret = u(best) - u(lam)
        elif rule_name == "none":
            best = float(hi)
            regret = lam * Yp ** 2 * (1.0 / (lam * B + 1.0) ** 2 - 1.0 / (hi * B + 1.0) ** 2)
        else:
            return None
        out.append({"agent": i, "best_report": float(best), "regret": float(max(regret, 0.0))})
    return out


def dpm_regret_vs_n(ns: Sequence[int] = (2, 5, 10, 100, 1000), lam: float = 0.1, Y: float = 10.0,
                    search_up_to: int = 10) -> list[dict[str, float]]:
    """The DPM price's ex-post regret on the symmetric problem as the market grows (closed form;
    checked by search for ``N ≤ search_up_to``). Relative to the truthful utility it is exactly
    ``1/(λB(2 + λB))``, ``B = 1 + (N−1)/λ``: it vanishes like ``1/N²``; price-taking is a
    large-market approximation, not incentive compatibility."""
    out = []
    for n in ns:
        n = require_int_at_least("n", n, 2)
        game = aggregative_game([lam] * n, Y, report_low=lam / 4, report_high=4 * lam)
        exact = closed_form_ex_post(game, "dpm")[0]
        u0 = float(utilities(game, DPMLinearPrice(), game.truth, game.truth)[0, 0])
        row = {"n_agents": n, "regret": exact["regret"], "relative_regret": exact["regret"] / u0,
               "best_report_ratio": exact["best_report"] / lam}
        if n <= search_up_to:
            row["search_regret"] = ex_post_regret(game, DPMLinearPrice(), agents=[0], n_grid=21, n_starts=2)[0]["regret"]
        out.append(row)
    return out


# ---------------------------------------------------------------------------- classes of agents
def _marginal_key(d: Any) -> tuple:
    if isinstance(d, FiniteTypes):
        return ("finite", tuple(d.values.tolist()), tuple(d.probs.tolist()))
    return (type(d).__name__, float(d.mean), float(d.variance), str(d.support))


def exchangeable_classes(game: ReportingGame, rule: PaymentRule, prior: IndependentPrior) -> list[list[int]]:
    """Agents whose interim regret is one and the same function of the own type: same report
    bounds, same prior marginal and same treatment by the rule, in a game whose loss is symmetric
    in the agents (the aggregative closed form) under a rule that treats agents alike
    (``rule.exchangeable``). Without those, every agent is its own class."""
    if not isinstance(game.closed_form, AggregativeClosedForm) or not rule.exchangeable:
        return [[i] for i in range(game.n_agents)]
    classes: dict[tuple, list[int]] = {}
    for i in range(game.n_agents):
        key = (float(game.low[i]), float(game.high[i]), _marginal_key(prior.marginals[i]), rule.reads_report(i))
        classes.setdefault(key, []).append(i)
    return list(classes.values())


def _null_cost_is_zero(game: ReportingGame) -> bool:
    """``C_i(a₀; θ_i) = 0`` at the box's extreme types and ``a₀`` feasible (the VCG IR proof's precondition)."""
    lo, hi = game.problem.lower.reshape(game.n_agents, -1), game.problem.upper.reshape(game.n_agents, -1)
    if not bool(((lo <= game.null_action) & (game.null_action <= hi)).all()):
        return False
    X = np.full((2, game.n_agents, game.problem.action_dim), game.null_action)
    return bool(np.abs(game.costs(X, np.stack([game.low, game.high]))).max() == 0.0)


# ---------------------------------------------------------------------------- labels
def _scope(game: ReportingGame, agents: Sequence[int]) -> str:
    box = f"[{game.low.min():g}, {game.high.max():g}]" if np.ptp(game.low) == 0 and np.ptp(game.high) == 0 \
        else "the report box"
    return f"agents {', '.join(map(str, agents))} of N = {game.n_agents}; types and reports in {box}"


def _proof(game: ReportingGame, rule: PaymentRule, prop: str, prior: IndependentPrior | None = None) -> str | None:
    """The argument of :data:`~mechanism.design.ic_labels.PROOFS` when its preconditions hold for this game."""
    proof = proof_for(rule.name, prop)
    if proof is None:
        return None
    if prop in ("dsic", "bic", "ir") and rule.name in ("vcg", "groves_h0") and game.closed_form is None:
        return None          # the allocation is a solver's approximation: the search decides
    if (rule.name, prop) == ("vcg", "ir") and not _null_cost_is_zero(game):
        return None
    if (rule.name, prop) == ("agv", "bic") and not (prior is not None and prior.is_finite()
                                                    and getattr(rule, "prior", None) is prior):
        return None          # ξ is a QMC estimate (or under another prior): BIC only up to its error
    return proof


def dsic_label(game: ReportingGame, rule: PaymentRule, c: AuditConfig, prior: IndependentPrior | None,
               tolerance: float) -> tuple[PropertyLabel, dict[str, Any]]:
    """DSIC from :func:`mechanism.design.ic_search.dsic_search` over the agents whose report is read."""
    agents = [i for i in range(game.n_agents) if rule.reads_report(i)]
    s = dsic_search(game, rule, agents=agents, n_profiles=c.dsic_profiles, n_refine=c.dsic_refine, prior=prior,
                    seed=c.seed, n_grid=c.profile_grid, n_golden=c.profile_golden, climb_steps=c.dsic_climb_steps)
    notes = [f"agents {ignored} are not searched: the rule ignores their reports"
             for ignored in [[i for i in range(game.n_agents) if not rule.reads_report(i)]] if ignored]
    label = label_from_search("dsic", s["max_regret"], tolerance, k=s["k"], search=s["search"],
                              scope=_scope(game, agents), witness=s["witness"], proof=_proof(game, rule, "dsic"),
                              notes=notes)
    return label, s


def ir_bb_labels(game: ReportingGame, rule: PaymentRule, c: AuditConfig, prior: IndependentPrior | None,
                 tolerance: float) -> tuple[PropertyLabel, PropertyLabel, dict[str, Any]]:
    """Ex-post IR and budget balance over truthful profiles (:func:`mechanism.design.ic_search.profile_search`)."""
    s = profile_search(game, rule, n_profiles=c.ir_bb_profiles, prior=prior, seed=c.seed)
    scope = _scope(game, range(game.n_agents))
    ir = label_from_search("ir", -s["min_utility"], tolerance, k=s["k"], search=s["search"], scope=scope,
                           witness=s["ir_witness"], proof=_proof(game, rule, "ir"))
    bb = label_from_search("budget_balanced", s["max_abs_surplus"], tolerance, k=s["k"], search=s["search"],
                           scope=scope, witness=s["bb_witness"], proof=_proof(game, rule, "budget_balanced"))
    return ir, bb, s


def bic_label(game: ReportingGame, rule: PaymentRule, prior: IndependentPrior, interim: list[dict[str, Any]],
              tolerance: float) -> PropertyLabel:
    """BIC from the interim records: ``violated`` when some (agent, own type) gains more than
    ``tolerance`` (exact expectation) or its 95% CI lies above it (held-out Monte Carlo)."""
    def evidence(r: dict[str, Any]) -> float:       # the gain itself if exact, else its 95% lower bound
        return r["gain"]["mean"] if r["exact"] else r["gain"]["ci_low"]

    bad = [r for r in interim if evidence(r) > tolerance]
    read = sorted({a for r in interim for a in r["agents"]})
    exact = all(r["exact"] for r in interim)
    n_draws = {r["gain"]["n"] for r in interim if not r["exact"]}
    search = ("own types: " + ("every type of the finite prior" if all(r["own_type_exact"] for r in interim)
                               else "prior quantiles per agent class") +
              "; others: " + ("exact enumeration of the prior" if exact else
                              f"expectation on {'/'.join(map(str, sorted(n_draws)))} held-out draws (95% t-interval)") +
              "; report: grid + Brent + L-BFGS-B on separate training draws")
    if bad:
        w = max(bad, key=lambda r: r["gain"]["mean"])
        return PropertyLabel("bic", "violated", _scope(game, read), search, len(interim), float(w["gain"]["mean"]),
                             tolerance, {"agent": w["agent"], "type": w["type"], "report": w["best_report"],
                                         "gain": w["gain"]["mean"], "ci_low": w["gain"]["ci_low"]},
                             unit="(agent class, own type) cases")
    proof = _proof(game, rule, "bic", prior)
    notes = [] if exact or proof else [f"largest interim gain estimate {max(r['gain']['mean'] for r in interim):.3g}, "
                                       "none significant at 95%: absence of evidence, not a proof"]
    return label_from_search("bic", max((evidence(r) for r in interim), default=0.0), tolerance, k=len(interim),
                             search=search, scope=_scope(game, read), proof=proof, notes=notes,
                             unit="(agent class, own type) cases")


# ---------------------------------------------------------------------------- one rule, many rules
def audit_rule(game: ReportingGame, rule: PaymentRule, *, truth: Any = None, prior: IndependentPrior | None = None,
               config: AuditConfig | None = None, coalitions: bool = True,
               tolerance: float = IC_TOLERANCE) -> dict[str, Any]:
    """Every audit quantity of one rule (see the module docstring) and its ``labels``
    (:mod:`mechanism.design.ic_labels`: DSIC, BIC, ex-post IR, budget balance, each proved, searched or
    violated); JSON-safe lists and floats.

    ``max_regret`` is the largest ex-post regret *at the truthful profile* (others truthful; the
    number the closed form checks); ``max_regret_over_profiles`` is the DSIC search's."""
    c = config or AuditConfig()
    T = game.truth if truth is None else game.profiles(truth, "truth")[0]
    ex_post = ex_post_regret(game, rule, T, n_grid=c.n_grid, n_starts=c.n_starts, n_lbfgs=c.n_lbfgs, seed=c.seed)
    regrets = np.array([r["regret"] for r in ex_post])
    u = utilities(game, rule, T, T)[0]
    rec: dict[str, Any] = {
        "rule": rule.name, "max_regret": float(regrets.max()), "mean_regret": float(regrets.mean()),
        "budget_surplus": float(budget_surplus(game, rule, T)[0]),
        "efficiency_loss": float(efficiency_loss(game, rule, T, T)[0]),
        "ir_violations": int((u < -1e-12).sum()), "truthful_utilities": u.tolist(),
        "transfers": rule.transfers(game, T)[0].tolist(),
        "best_reports": [r["best_report"] for r in ex_post],
        "report_truth_ratio": [r["best_report"] / r["truth"] for r in ex_post],
        "ex_post": ex_post}
    closed = closed_form_ex_post(game, rule.name, T)
    if closed is not None:
        cr = np.array([r["regret"] for r in closed])
        rec["closed_form"] = {"max_regret": float(cr.max()), "per_agent": closed,
                              "max_abs_diff_search_vs_closed_form": float(np.abs(cr - regrets).max())}
    if coalitions:
        co = coalition_regret(game, rule, T, n_grid=c.coalition_grid, n_starts=c.coalition_starts, seed=c.seed)
        rec["coalition"] = co
        rec["max_coalition_regret"] = float(max(r["regret"] for r in co)) if co else 0.0
    dsic, search = dsic_label(game, rule, c, prior, tolerance)
    rec["dsic_search"] = {k: search[k] for k in ("max_regret", "witness", "k", "per_agent", "profiles_per_agent")}
    rec["max_regret_over_profiles"] = search["max_regret"]
    ir, bb, scan = ir_bb_labels(game, rule, c, prior, tolerance)
    rec["profile_scan"] = scan
    labels = {"dsic": dsic, "ir": ir, "budget_balanced": bb,
              "bic": PropertyLabel("bic", "untested", notes=["no prior declared"])}
    if prior is not None:
        rec.update(_bayesian(game, rule, prior, c))
        labels["bic"] = bic_label(game, rule, prior, rec["interim"], tolerance)
    rec["labels"] = {k: v.to_dict() for k, v in labels.items()}
    rec["verdict"] = ic_verdict(rec, tolerance)
    return rec


def ic_verdict(rec: dict[str, Any], tolerance: float = IC_TOLERANCE) -> dict[str, Any]:
    """Each property's label status (``proved`` / ``no_violation`` / ``violated`` / ``untested``)
    and whether it holds as far as tested (``holds``: ``None`` when untested), read off
    ``rec["labels"]``; decided in code by :mod:`mechanism.design.ic_labels`."""
    labels = rec["labels"]
    return {"tolerance": tolerance, **{k: v["status"] for k, v in labels.items()},
            "holds": {k: v["holds"] for k, v in labels.items()}, "text": {k: v["text"] for k, v in labels.items()}}


def _bayesian(game: ReportingGame, rule: PaymentRule, prior: IndependentPrior, c: AuditConfig) -> dict[str, Any]:
    """Interim regret per (agent class, own type) for every agent whose report the rule reads,
    expected ex-post regret over ``n_expected`` profiles, ex-ante budget/efficiency/utility."""
    interim = []
    for cls in exchangeable_classes(game, rule, prior):
        i = cls[0]
        if not rule.reads_report(i):
            continue
        exact_types = isinstance(prior.marginals[i], FiniteTypes)
        for t in _own_types(prior, i, c.interim_types):
            r = interim_regret(game, rule, prior, i, t, n_train=c.n_train, n_test=c.n_test, n_grid=c.n_grid,
                               n_starts=c.n_starts, n_lbfgs=c.n_lbfgs, seed=c.seed + 101 * i)
            interim.append({**r, "agents": cls, "own_type_exact": exact_types})
    expected = expected_ex_post_regret(game, rule, prior, n=c.n_expected, seed=c.seed + 31, n_grid=c.profile_grid,
                                       n_golden=c.profile_golden)
    Pn, wn = (prior.enumerate() if prior.is_finite() else (prior.sample(c.n_expected, c.seed + 57), None))
    U = utilities(game, rule, Pn, Pn)
    return {
        "interim": interim,
        "ignored_reports": [i for i in range(game.n_agents) if not rule.reads_report(i)],
        "max_interim_regret": float(max((r["regret"] for r in interim), default=0.0)),
        "max_interim_regret_ci_high": float(max((r["gain"]["ci_high"] for r in interim), default=0.0)),
        "expected_ex_post_regret": expected["mean_over_agents"],
        "expected_ex_post_regret_per_agent": expected["per_agent"],
        "expected_ex_post_profiles": expected["n_profiles"],
        "max_ex_post_regret_over_profiles": expected["max_over_profiles"],
        "expected_budget_surplus": mc_estimate(budget_surplus(game, rule, Pn), weights=wn).to_dict(),
        "expected_efficiency_loss": mc_estimate(efficiency_loss(game, rule, Pn, Pn), weights=wn).to_dict(),
        "expected_utility": [mc_estimate(U[:, i], weights=wn).to_dict() for i in range(game.n_agents)],
        "interim_ir_violations": int(sum(mc_estimate(U[:, i], weights=wn).high < 0 for i in range(game.n_agents))),
    }


def audit(game: ReportingGame, rules: Sequence[PaymentRule], *, truth: Any = None,
          prior: IndependentPrior | None = None, config: AuditConfig | None = None,
          coalitions: bool = True, tolerance: float = IC_TOLERANCE) -> dict[str, Any]:
    """:func:`audit_rule` for each rule: ``{"truth", "report_bounds", "tolerance", "rules": {name: record}}``."""
    T = game.truth if truth is None else game.profiles(truth, "truth")[0]
    return {"problem": game.problem.name, "truth": T.tolist(), "report_bounds": [game.low.tolist(), game.high.tolist()],
            "tolerance": tolerance, "config": asdict(config or AuditConfig()),
            "rules": {r.name: audit_rule(game, r, truth=T, prior=prior, config=config, coalitions=coalitions,
                                         tolerance=tolerance) for r in rules}}


# ---------------------------------------------------------------------------- Appendix C entry points
def _claim_axis(claim: str, decided_by: str, tolerance: float, prefix: str, label: dict[str, Any],
                **measured: Any) -> dict[str, Any]:
    """The claim axis of an audit entry, decided by one property ``label``: its text, status and witness
    as fields ``prefix``, ``prefix_status``, ``prefix_witness``, the ``measured`` values, and ``holds``."""
    return {"claim": claim, "decided_by": decided_by, "tolerance": tolerance, prefix: label["text"],
            f"{prefix}_status": label["status"], f"{prefix}_witness": label["witness"], **measured,
            "holds": bool(label["holds"])}


def c4_prior(n: int = 5) -> IndependentPrior:
    """C.4's declared prior (ours; the paper declares none): ``λ_i ~ Uniform(0.05, 1.0)`` i.i.d."""
    lo, hi = C4_PRIOR
    return IndependentPrior.iid(torch.distributions.Uniform(torch.tensor(lo, dtype=torch.float64),
                                                            torch.tensor(hi, dtype=torch.float64)), n)


def audit_c4(config: AuditConfig | None = None, tolerance: float = IC_TOLERANCE) -> dict[str, Any]:
    """C.4's problem (``Y = 7.461``, ``λ = (0.1, 0.5, 0.2, 0.4, 0.6)``, reports in ``[0.05, 1]``) audited
    under every rule, with the claim axis "the DPM is incentive compatible / VCG-equivalent"
    decided by the DPM rule's measured max ex-post regret ≤ ``tolerance``."""
    c = config or AuditConfig()
    game = aggregative_game(C4_LAM, C4_Y, report_low=C4_PRIOR[0], report_high=C4_PRIOR[1])
    prior = c4_prior(game.n_agents)
    result = audit(game, standard_rules(prior, c.agv_samples, c.seed)[:5], prior=prior, config=c, tolerance=tolerance)
    r = result["rules"]
    gap = np.abs(np.array(r["dpm"]["transfers"]) - np.array(r["vcg"]["transfers"]))
    dsic = r["dpm"]["labels"]["dsic"]
    result["claim_axis"] = _claim_axis(
        "the DPM is incentive compatible / VCG-equivalent (paper §4.3.3.1, Theorem 1, B.3)",
        "the DSIC label of the DPM linear price p_i·x_i: its ex-post regret maximised over every agent's type and "
        "the others' report profiles (mechanism.design.ic_search.dsic_search)", tolerance, "dpm_dsic", dsic, **{
        "dpm_max_regret": r["dpm"]["max_regret"], "dpm_max_regret_over_profiles": dsic["worst"],
        "vcg_max_regret": r["vcg"]["max_regret"],
        "vcg_dsic": r["vcg"]["labels"]["dsic"]["text"],
        "dpm_closed_form_max_regret": r["dpm"]["closed_form"]["max_regret"],
        "dpm_vs_vcg_transfer_gap": gap.tolist(), "dpm_vs_vcg_max_transfer_gap": float(gap.max()),
        "dpm_interim_regret_max": r["dpm"]["max_interim_regret"]})
    return result


def c17_prior() -> IndependentPrior:
    """C.17's explicit prior: ``λ_1 ∈ {0.1, 0.3}`` with probability ½ each; the others' types
    ``(0.5, 0.2, 0.4, 0.6)`` are common knowledge (point masses)."""
    return IndependentPrior([FiniteTypes([0.1, 0.3], [0.5, 0.5])] + [FiniteTypes([v]) for v in C17_TRUE[1:]])


def audit_c17(config: AuditConfig | None = None, tolerance: float = IC_TOLERANCE) -> dict[str, Any]:
    """C.17 under its explicit prior: Bayesian IC (interim regret by exact enumeration of every agent
    whose report the rule reads) of the rule the paper describes (``bayes_dpm``: agent 0's report
    replaced by ``E[λ_1] = 0.2``, the others' reports used, DPM price), beside the DPM price on
    reports, VCG, AGV and no payment; reports in ``[0.05, 1]``."""
    c = config or AuditConfig()
    game = aggregative_game(C17_TRUE, C4_Y, report_low=C4_PRIOR[0], report_high=C4_PRIOR[1])
    prior = c17_prior()
    rules = [NoPayment(), DPMLinearPrice(), VCG(), AGV(prior, c.agv_samples, c.seed), BayesianDPM(prior)]
    result = audit(game, rules, prior=prior, config=c, coalitions=False, tolerance=tolerance)
    r = result["rules"]
    result["prior"] = {"agent_0": {"support": [0.1, 0.3], "probabilities": [0.5, 0.5]},
                       "others": "point masses at (0.5, 0.2, 0.4, 0.6)"}
    bic = r["bayes_dpm"]["labels"]["bic"]
    result["claim_axis"] = _claim_axis(
        "Bayesian MBI (incentive at E[λ_1]) is Bayesian incentive compatible (paper Theorem 3, B.5; C.17)",
        "the BIC label of bayes_dpm: interim regret (exact under the prior) of every agent whose report the rule "
        "reads (agent 0's report is replaced by E[λ_1]; agents 1–4's reports are used)", tolerance, "bayes_dpm_bic",
        bic, **{
        "bayes_dpm_max_interim_regret": r["bayes_dpm"]["max_interim_regret"],
        "bayes_dpm_ignored_reports": r["bayes_dpm"]["ignored_reports"],
        "bayes_dpm_expected_efficiency_loss": r["bayes_dpm"]["expected_efficiency_loss"]["mean"],
        "dpm_on_reports_max_interim_regret": r["dpm"]["max_interim_regret"],
        "agv_max_interim_regret": r["agv"]["max_interim_regret"],
        "agv_bic": r["agv"]["labels"]["bic"]["text"],
        "vcg_max_interim_regret": r["vcg"]["max_interim_regret"],
        })
    return result


# ---------------------------------------------------------------------------- reporting
def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"
    return str(v)


def markdown_table(result: dict[str, Any]) -> str:
    """Mechanism × regret (at the truth, over profiles, expected with CI) × budget × efficiency ×
    IR, then each rule's four labels (:mod:`mechanism.design.ic_labels`), as Markdown."""
    head = ("| rule | max ex-post regret at truth | max ex-post regret over profiles | E[ex-post regret] (95% CI, n) "
            "| max interim regret (CI high) | max coalition regret | budget surplus at truth | efficiency loss "
            "| DSIC | BIC | ex-post IR | budget balanced |")
    lines = [head, "|" + "---|" * 12]
    for name, r in result["rules"].items():
        e = r.get("expected_ex_post_regret")
        ci = "–" if e is None else f"{_fmt(e['mean'])} [{_fmt(e['ci_low'])}, {_fmt(e['ci_high'])}], {e['n']}"
        interim = "–" if "max_interim_regret" not in r else \
            f"{_fmt(r['max_interim_regret'])} ({_fmt(r['max_interim_regret_ci_high'])})"
        v = r["verdict"]
        lines.append(f"| {name} | {_fmt(r['max_regret'])} | {_fmt(r['max_regret_over_profiles'])} | {ci} | {interim} | "
                     f"{_fmt(r.get('max_coalition_regret'))} | {_fmt(r['budget_surplus'])} | "
                     f"{_fmt(r['efficiency_loss'])} | {v['dsic']} | {v['bic']} | {v['ir']} | {v['budget_balanced']} |")
    lines += ["", "Labels (what each one rests on):", ""]
    for name, r in result["rules"].items():
        lines += [f"- **{name}**"] + [f"  - {r['labels'][k]['text']}" + (
            f" — note: {'; '.join(r['labels'][k]['notes'])}" if r["labels"][k]["notes"] else "")
            for k in ("dsic", "bic", "ir", "budget_balanced")]
    return "\n".join(lines)
