"""Economic dispatch: generating units as agents, the Planner pricing the power balance.

Each unit i produces ``P_i`` MW at a fuel cost ``F_i(P_i) = a_i + b_i P_i + c_i P_i²`` ($/h)
within ``Pmin_i ≤ P_i ≤ Pmax_i``; together they must meet a demand ``D``:

    minimise Σ_i F_i(P_i)   subject to   Σ_i P_i = D,   Pmin ≤ P ≤ Pmax.

**The Planner's loss is an augmented Lagrangian** with a multiplier ``μ`` that the Planner
updates itself (the method of multipliers):

    L_ρ(P; μ) = Σ_i F_i(P_i) + μ (D − Σ_i P_i) + (ρ/2)(D − Σ_i P_i)²,
    μ ← μ + ρ (D − Σ_i P_i)          (every ``multiplier_every`` agent iterations).

Agent i's DPM incentive is ``G_i = −∂L_ρ/∂P_i = π − F_i'(P_i)`` with the *price*
``π = μ + ρ (D − ΣP)`` ($/MWh): the price the Planner pays per MWh minus the unit's own
marginal cost. At the fixed point ``ΣP = D``, ``π = μ = λ``, the system marginal price, and the
KKT conditions of the dispatch hold exactly (for any ρ > 0), so the answer is exact, not
approximate. A plain quadratic penalty (``μ ≡ 0``) would instead stop short of the demand by
``λ/ρ`` MW and need ρ → ∞ (ill-conditioned) for exactness; that is why the multiplier is kept.

References: :func:`lambda_iteration` (the textbook equal-incremental-cost rule, solved to
machine precision by bracketing the piecewise-linear ``ΣP_i(λ) = D``) and :func:`solve_dispatch`
(scipy ``minimize(method="trust-constr")`` with the equality as a ``LinearConstraint``: scipy is
already a dependency, the problem is a small smooth QP, and trust-constr returns the equality's
Lagrange multiplier, an independent estimate of λ).

Published cases ship in ``mechanism/data`` (:func:`load_case`): Wood & Wollenberg's Example 3A
and the generator data of MATPOWER's ``case30`` and ``case118``.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse
import torch

from ..core.agents import AgentPolicy
from ..core.ddag import DDAG
from ..errors import InvalidParameterError, require_finite_number, require_int_at_least, require_positive
from ..core.planner import run_planner
from ..core.problem import Optimum, Problem

__all__ = ["CASES", "DispatchCase", "load_case", "dispatch_problem", "lambda_iteration", "solve_dispatch",
           "DispatchSolution", "DispatchRunResult", "run_dispatch", "dispatch_step_sizes", "price", "megawatts",
           "generation_cost", "default_rho"]

DATA_DIR = Path(__file__).resolve().parent / "data"
CASES = {"wood_wollenberg_3a": "wood_wollenberg_3a.json", "ieee30": "ieee30.json", "ieee118": "ieee118.json"}


@dataclass(frozen=True)
class DispatchCase:
    """A set of units (cost coefficients ``a, b, c`` and limits, arrays of shape ``(N,)``) and a demand."""

    name: str
    source: str
    demand: float
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    pmin: np.ndarray
    pmax: np.ndarray
    unit_names: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_units(self) -> int:
        """Number of units N."""
        return int(self.b.size)


def load_case(name: str, demand: float | None = None) -> DispatchCase:
    """Load a published case from ``mechanism/data`` (``"wood_wollenberg_3a"``, ``"ieee30"``,
    ``"ieee118"``); ``demand`` overrides the case's demand (MW)."""
    if name not in CASES:
        raise InvalidParameterError(f"case must be one of {sorted(CASES)}, got {name!r}")
    raw = json.loads((DATA_DIR / CASES[name]).read_text())
    gens = raw["generators"]
    col = {k: np.array([float(g[k]) for g in gens]) for k in ("a", "b", "c", "pmin", "pmax")}
    D = raw["demand_mw"] if demand is None else require_finite_number("demand", demand)
    return _checked_case(DispatchCase(name, raw["source"], float(D), col["a"], col["b"], col["c"],
                                      col["pmin"], col["pmax"], tuple(g["name"] for g in gens)))


def _checked_case(case: DispatchCase) -> DispatchCase:
    require_positive("c (quadratic cost coefficients)", case.c)
    if (case.pmin > case.pmax).any() or (case.pmin < 0).any():
        raise InvalidParameterError(f"case {case.name!r}: need 0 <= pmin <= pmax, got pmin={case.pmin.tolist()}, "
                                    f"pmax={case.pmax.tolist()}")
    if not case.pmin.sum() <= case.demand <= case.pmax.sum():
        raise InvalidParameterError(f"demand={case.demand!r} MW is infeasible for case {case.name!r}: it must lie "
                                    f"in [Σ pmin, Σ pmax] = [{case.pmin.sum()}, {case.pmax.sum()}]")
    return case


def default_rho(case: DispatchCase) -> float:
    """``ρ = 4 / Σ_i 1/(2 c_i)`` ($/MWh per MW): the multiplier update then shrinks the error of
    μ by about ``1/(1 + ρ K) = 1/5`` per round when every unit is interior (``K = Σ 1/(2c_i)``),
    while the coupling ``ρ N`` stays comparable to the units' own curvatures ``2 c_i``."""
    return float(4.0 / np.sum(1.0 / (2.0 * case.c)))


# ----------------------------------------------------------------------------- D-DAG nodes
def _total(P: torch.Tensor) -> torch.Tensor:
    return P.sum(dim=(1, 2))


def _augmented_balance(total: torch.Tensor, D: torch.Tensor, mu: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    mismatch = D - total
    return mu * mismatch + 0.5 * rho * mismatch ** 2


def _fuel_costs(P: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    x = P[..., 0]
    return a + b * x + c * x ** 2


def _sum_loss(system: torch.Tensor, costs: torch.Tensor) -> torch.Tensor:
    return system + costs.sum(-1)


def _scaled_loss(system: torch.Tensor, costs: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return (system + costs.sum(-1)) / scale


def _unit_to_mw(pmin: torch.Tensor, span: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """A normalised action ``u ∈ [0, 1]`` as megawatts: ``P = Pmin + u (Pmax − Pmin)``."""
    return pmin.reshape(1, -1, 1) + u * span.reshape(1, -1, 1)


def _dispatch_gradient(X: torch.Tensor, data: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed form: ``∂L/∂P_i = b_i + 2 c_i P_i − π``, ``π = μ + ρ (D − ΣP)``."""
    x = X[..., 0]
    mismatch = data["D"] - x.sum(-1)
    loss = data["mu"] * mismatch + 0.5 * data["rho"] * mismatch ** 2 + (data["a"] + data["b"] * x + data["c"] * x ** 2).sum(-1)
    pi = (data["mu"] + data["rho"] * mismatch).unsqueeze(-1)
    return loss, (data["b"] + 2.0 * data["c"] * x - pi).unsqueeze(-1)


def _dispatch_curvature(X: torch.Tensor, data: dict) -> torch.Tensor:
    return (2.0 * data["c"] + data["rho"]).reshape(-1, 1).to(X.dtype)


def _dispatch_optimum(case: DispatchCase, normalized: bool, data: dict) -> Optimum:
    P, _ = lambda_iteration(_with_demand(case, float(data["D"])))
    cost = float(np.sum(case.a + case.b * P + case.c * P ** 2))
    if not normalized:
        return Optimum(torch.as_tensor(P).reshape(-1, 1), cost)
    u = (P - case.pmin) / np.where(case.pmax > case.pmin, case.pmax - case.pmin, 1.0)
    return Optimum(torch.as_tensor(u).reshape(-1, 1), cost / float(data["scale"]))


def _with_demand(case: DispatchCase, demand: float) -> DispatchCase:
    return DispatchCase(case.name, case.source, demand, case.a, case.b, case.c, case.pmin, case.pmax, case.unit_names)


def dispatch_problem(case: DispatchCase | str = "wood_wollenberg_3a", *, demand: float | None = None,
                     rho: float | None = None, multiplier: float = 0.0, normalized: bool = False) -> Problem:
    """The Planner's D-DAG for economic dispatch: agents ``P`` (N units, MW) → fuel costs and the
    augmented-Lagrangian balance term → ``L_ρ(P; μ)`` (see the module docstring).

    Args:
        case: a :class:`DispatchCase` or a case name for :func:`load_case`.
        demand: overrides the case's demand D (MW).
        rho: the augmented-Lagrangian weight ρ > 0 ($/MWh per MW); default :func:`default_rho`.
        multiplier: the starting multiplier μ ($/MWh); the Planner updates it in :func:`run_dispatch`.
        normalized: if True, unit i acts with ``u_i ∈ [0, 1]`` (the agent node maps it to
            ``P_i = Pmin_i + u_i (Pmax_i − Pmin_i)``) and the loss is divided by the fleet's cost at
            full output ``Σ F_i(Pmax_i)`` (public data): the same problem on O(1) scales, for
            learners such as PPO whose Gaussian policies and value losses assume them. No closed-form
            gradient then (autograd through the map).

    Data nodes ``D, mu, rho, a, b, c`` (``with_data(mu=...)`` is how the Planner moves μ); bounds
    ``[Pmin, Pmax]``; each unit's private features are its own ``(b_i, c_i)``; system node
    ``"system"`` (the balance term), costs node ``"costs"`` (the fuel costs ``F_i``); the optimum
    (``problem.optimum()``) is the λ-iteration dispatch, whose loss is the total fuel cost.
    """
    case = load_case(case, demand) if isinstance(case, str) else _checked_case(
        case if demand is None else _with_demand(case, require_finite_number("demand", demand)))
    rho = default_rho(case) if rho is None else float(rho)
    require_positive("rho", rho)
    multiplier = require_finite_number("multiplier", multiplier)
    t = functools.partial(torch.as_tensor, dtype=torch.float64)
    g = DDAG()
    if normalized:
        g.add_agents("P", n=case.n_units, output=functools.partial(_unit_to_mw, t(case.pmin), t(case.pmax - case.pmin)))
    else:
        g.add_agents("P", n=case.n_units)
    scale = float(np.sum(case.a + case.b * case.pmax + case.c * case.pmax ** 2)) if normalized else 1.0
    for name, value in (("D", case.demand), ("mu", multiplier), ("rho", rho), ("a", t(case.a)),
                        ("b", t(case.b)), ("c", t(case.c)), ("scale", scale)):
        g.add_data(name, value)
    g.add_function("total", _total, inputs=["P"])
    g.add_function("system", _augmented_balance, inputs=["total", "D", "mu", "rho"])
    g.add_function("costs", _fuel_costs, inputs=["P", "a", "b", "c"])
    if normalized:
        g.add_function("loss", _scaled_loss, inputs=["system", "costs", "scale"])
    else:
        g.add_function("loss", _sum_loss, inputs=["system", "costs"])
    g.set_loss("loss")
    lower, upper = (0.0, 1.0) if normalized else (t(case.pmin).reshape(-1, 1), t(case.pmax).reshape(-1, 1))
    return Problem(g, lower=lower, upper=upper, system_node="system", costs_node="costs",
                   features=t(np.stack([case.b, case.c], axis=1)), feature_names=("b", "c"),
                   gradient_fn=None if normalized else _dispatch_gradient,
                   curvature_fn=None if normalized else _dispatch_curvature,
                   optimum_fn=functools.partial(_dispatch_optimum, case, bool(normalized)),
                   name=f"dispatch[{case.name}{',normalized' if normalized else ''}]")


def megawatts(problem: Problem, X: Any) -> np.ndarray:
    """Each unit's output ``P`` in MW, shape ``(B, N)`` (maps normalised actions back)."""
    return problem.ddag.forward(problem.as_actions(X), problem.data())["P"][..., 0].detach().numpy()


def price(problem: Problem, X: Any) -> np.ndarray:
    """The Planner's price ``π = μ + ρ (D − ΣP)`` ($/MWh) per instance, shape ``(B,)``: minus the
    balance term's derivative with respect to any ``P_i`` (the same for every unit); ``π = λ`` at
    the dispatch optimum."""
    d = problem.data()
    return float(d["mu"]) + float(d["rho"]) * (float(d["D"]) - megawatts(problem, X).sum(-1))


def generation_cost(problem: Problem, X: Any) -> np.ndarray:
    """Total fuel cost ``Σ F_i(P_i)`` ($/h) per instance, shape ``(B,)``."""
    return problem.agent_costs(problem.as_actions(X)).sum(-1).detach().numpy()


def dispatch_step_sizes(problem: Problem, safety: float = 0.9) -> torch.Tensor:
    """Per-unit gradient steps ``η_i = safety / (2 c_i + ρ N)``, shape ``(N,)``.

    Each unit knows its own curvature ``2 c_i``; the Planner announces ρ and N. With
    ``D = diag(η)`` the preconditioned Hessian ``D^½ (diag(2c) + ρ 11ᵀ) D^½`` has spectral radius
    below ``2·safety``, so simultaneous play is stable for ``safety < 1``.
    """
    if not 0.0 < float(safety) < 1.0:
        raise InvalidParameterError(f"safety must be in (0, 1), got {safety!r}")
    d = problem.data()
    return safety / (2.0 * d["c"] + d["rho"] * problem.n_agents)


# ----------------------------------------------------------------------------- references
def _units_at_price(case: DispatchCase, lam: float) -> np.ndarray:
    return np.clip((lam - case.b) / (2.0 * case.c), case.pmin, case.pmax)


def lambda_iteration(case: DispatchCase) -> tuple[np.ndarray, float]:
    """The textbook equal-incremental-cost dispatch: find λ with ``Σ_i P_i(λ) = D`` where
    ``P_i(λ) = clip((λ − b_i)/(2 c_i), Pmin_i, Pmax_i)``.

    ``ΣP(λ)`` is continuous, piecewise linear and non-decreasing, so the root is bracketed by the
    units' marginal costs at their limits and found by Brent's method to ``xtol = 1e-13`` $/MWh;
    then the dispatch is exact up to that λ error. Returns ``(P, λ)``.
    """
    low = float(np.min(case.b + 2.0 * case.c * case.pmin)) - 1.0
    high = float(np.max(case.b + 2.0 * case.c * case.pmax)) + 1.0
    lam = scipy.optimize.brentq(lambda v: float(_units_at_price(case, v).sum() - case.demand), low, high,
                                xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=500)
    return _units_at_price(case, lam), float(lam)


@dataclass
class DispatchSolution:
    """A reference dispatch: ``P`` (MW), ``lam`` ($/MWh), ``cost`` ($/h) and the solver's report."""

    P: np.ndarray
    lam: float
    cost: float
    method: str
    success: bool
    message: str = ""


def solve_dispatch(case: DispatchCase) -> DispatchSolution:
    """Scipy ``trust-constr`` on the QP ``min Σ F_i(P_i)  s.t. ΣP = D, Pmin ≤ P ≤ Pmax``, with the
    exact gradient and Hessian; λ is the equality constraint's Lagrange multiplier (``res.v``)."""
    def fun(P: np.ndarray) -> float:
        return float(np.sum(case.a + case.b * P + case.c * P ** 2))

    hess = scipy.sparse.diags(2.0 * case.c)  # sparse: the dense form makes trust-constr ~100x slower at N = 54
    balance = scipy.sparse.csr_matrix(np.ones((1, case.n_units)))
    res = scipy.optimize.minimize(
        fun, x0=np.clip(np.full(case.n_units, case.demand / case.n_units), case.pmin, case.pmax),
        jac=lambda P: case.b + 2.0 * case.c * P, hess=lambda P: hess, method="trust-constr",
        constraints=[scipy.optimize.LinearConstraint(balance, case.demand, case.demand)],
        bounds=scipy.optimize.Bounds(case.pmin, case.pmax),
        options={"gtol": 1e-9, "xtol": 1e-10, "maxiter": 20_000})
    lam = abs(float(res.v[0][0]))  # scipy's sign convention for v is f's gradient = -Jᵀv; λ > 0 here
    return DispatchSolution(np.asarray(res.x), lam, fun(res.x), "scipy trust-constr", bool(res.success),
                            str(res.message))


# ----------------------------------------------------------------------------- the Planner loop
@dataclass
class DispatchRunResult:
    """Outcome of :func:`run_dispatch`.

    ``P`` (MW, ``(N,)``), ``price`` (π at the end, $/MWh), ``multiplier`` (μ), ``cost`` ($/h),
    ``balance`` (``ΣP − D``, MW), ``iterations`` (agent iterations), ``evaluations`` (reverse
    passes), ``rounds`` (multiplier updates), ``converged``, ``wall_seconds`` and the per-round
    ``trace`` of ``(iterations, μ, ΣP − D)``.
    """

    P: np.ndarray
    price: float
    multiplier: float
    cost: float
    balance: float
    iterations: int
    evaluations: int
    rounds: int
    converged: bool
    wall_seconds: float
    trace: list[tuple[int, float, float]]


def run_dispatch(problem: Problem, policy: AgentPolicy, x0: Any, *, multiplier_every: int = 200,
                 max_rounds: int = 200, balance_tol: float = 1e-8, tau: float = 1e-9) -> DispatchRunResult:
    """The method of multipliers with incentive-driven units.

    Each round, the units play up to ``multiplier_every`` iterations of Algorithm 1
    (:func:`run_planner`) on ``L_ρ(P; μ)``; then the Planner updates ``μ ← μ + ρ (D − ΣP)``.
    Stops when ``|ΣP − D| ≤ balance_tol`` (MW) and the KKT residual of the round's end point is
    ``≤ tau``, or after ``max_rounds`` rounds. Batch size 1. The policy is reset at the start
    of every round (stateful agents such as momentum start each round afresh).
    """
    multiplier_every = require_int_at_least("multiplier_every", multiplier_every, 1)
    max_rounds = require_int_at_least("max_rounds", max_rounds, 1)
    require_positive("balance_tol", balance_tol)
    require_positive("tau", tau)
    X = problem.project(problem.as_actions(x0, "x0"))
    if X.shape[0] != 1:
        raise InvalidParameterError(f"run_dispatch runs one instance: x0 must have batch size 1, got {X.shape[0]}")
    D, rho = float(problem.data()["D"]), float(problem.data()["rho"])
    mu = float(problem.data()["mu"])
    trace, iterations, evaluations, wall, converged = [], 0, 0, 0.0, False
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        current = problem.with_data(mu=mu)
        res = run_planner(current, policy, X, max_iters=multiplier_every, eps=0.0, tau=tau, record_actions=False,
                          record_every=multiplier_every)
        X, iterations, evaluations, wall = res.X, iterations + res.iterations, evaluations + res.evaluations, wall + res.wall_seconds
        mismatch = D - float(megawatts(current, X).sum())
        trace.append((iterations, mu, -mismatch))
        if abs(mismatch) <= balance_tol and res.kkt_residual <= tau:
            converged = True
            break
        mu += rho * mismatch
    final = problem.with_data(mu=mu)
    P = megawatts(final, X)[0]
    return DispatchRunResult(P.copy(), float(price(final, X)[0]), mu, float(generation_cost(final, X)[0]),
                             float(P.sum()) - D, iterations, evaluations, rounds, converged, wall, trace)
