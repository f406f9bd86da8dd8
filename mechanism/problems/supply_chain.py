"""A multi-stage supply chain as a wide D-DAG: suppliers → plants → distribution → markets.

Stages ``s = 0 … S−1`` of facilities (``widths[s]`` each; ``S = depth − 1``) are agents; the last
stage is ``widths[-1]`` markets with a demand each (data). Facility j of stage s ships to
``fanout`` facilities of the next stage, ``k_o = (j + o) mod widths[s+1]``, ``o = 0 … fanout−1``;
its action is the vector of those shipments ``x_j ∈ [0, cap_j]^fanout`` (lane capacities).

In the D-DAG each facility is one agent node whose value feeds its downstream facilities, as in
the assembly line: the value of facility j is ``[x_j, in_j]``, where ``in_j`` (what it received)
is summed from the upstream nodes' shipments to j (suppliers: ``in_j = out_j``, they produce).

    L(x) = Σ_markets w (d_m − in_m)²                           (unmet or excess demand)
         + Σ_{facilities of stage ≥ 1} h (in_j − out_j)²        (soft flow conservation)
         + Σ_facilities [α_j out_j + β_j out_j²]                 (production / handling)
         + Σ_lanes [τ_e x_e + ½ κ_e x_e²]                        (transport),
    out_j = Σ_o x_{j,o}.

Soft conservation is modelling, not an approximation of something else: a facility that ships
more than it receives buys the difference at short notice, one that ships less holds stock, both at
a convex cost ``h (in − out)²``. Every term is convex and ``κ_e > 0`` makes the loss strictly
convex, so the box-constrained optimum is unique. :func:`solve_supply_chain` finds it exactly:
the loss is quadratic, so its Hessian ``H`` and gradient at 0 (autograd, exact) define the QP
``½ xᵀHx + gᵀx``; with ``H = RᵀR`` (Cholesky) it is the bounded least-squares problem
``min ‖R x + R⁻ᵀ g‖²`` on the box, solved by scipy's ``lsq_linear(method="bvls")`` (an active-set
method that terminates finitely at the exact solution); the KKT residual certifies it.

The generic autograd DPM (no closed-form fast path) computes every facility's incentive in one
reverse pass through this graph of ``3·facilities + markets + 5`` nodes (``+ 3`` with
``aggregation="variadic"``); the batched engine (:mod:`mechanism.engines.batched`) evaluates the
facilities of one stage as a few stacked calls.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.linalg
import scipy.optimize
import torch

from ..core.ddag import DDAG
from ..errors import InvalidParameterError, require_int_at_least, require_positive
from ..core.problem import Problem

__all__ = ["SupplyChainLayout", "supply_chain_problem", "solve_supply_chain", "SupplyChainSolution"]


@dataclass(frozen=True)
class SupplyChainLayout:
    """Which facility ships where: ``widths`` per stage (markets last), ``fanout``, node names and
    for every receiving node the list of ``(sender node, component)`` pairs."""

    widths: tuple[int, ...]
    fanout: int
    names: tuple[tuple[str, ...], ...]
    senders: dict[str, list[tuple[str, int]]]

    @property
    def n_facilities(self) -> int:
        """Number of agents (all stages but the markets)."""
        return int(sum(self.widths[:-1]))


def _layout(widths: Sequence[int], fanout: int) -> SupplyChainLayout:
    labels = ["supplier", "plant", "dc"]
    names = []
    for s, w in enumerate(widths):
        stage = "market" if s == len(widths) - 1 else (labels[s] if s < 2 else f"dc{s - 1}" if len(widths) > 4 else "dc")
        names.append(tuple(f"{stage}_{j}" for j in range(w)))
    senders: dict[str, list[tuple[str, int]]] = {n: [] for stage in names[1:] for n in stage}
    for s in range(len(widths) - 1):
        for j, name in enumerate(names[s]):
            for o in range(fanout):
                senders[names[s + 1][(j + o) % widths[s + 1]]].append((name, o))
    for inbound in senders.values():
        # by lane component: node k then receives (k, 0), (k - 1, 1), ... like every node of its
        # stage, so all of them are one function (the same components) and evaluate as one group
        inbound.sort(key=lambda pair: pair[1])
    return SupplyChainLayout(tuple(widths), fanout, tuple(names), senders)


# ----------------------------------------------------------------------------- D-DAG nodes
def _inflow(components: tuple[int, ...], *upstream: torch.Tensor) -> torch.Tensor:
    """What a node receives: the sum of each upstream node's shipment component to it, ``(B,)``."""
    total = upstream[0][:, 0, components[0]]
    for value, k in zip(upstream[1:], components[1:]):
        total = total + value[:, 0, k]
    return total


def _facility_value(components: tuple[int, ...], x: torch.Tensor, *upstream: torch.Tensor) -> torch.Tensor:
    """A facility's node value ``[x_j (fanout), in_j]``, shape ``(B, 1, fanout + 1)``."""
    inflow = _inflow(components, *upstream) if upstream else x.sum(-1)[:, 0]
    return torch.cat([x, inflow.reshape(-1, 1, 1)], dim=-1)


def _facility_terms(fanout: int, h: float, value: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor,
                    tau: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
    """``[own cost, imbalance]`` of one facility, shape ``(B, 2)``."""
    x, inflow = value[:, 0, :fanout], value[:, 0, fanout]
    out = x.sum(-1)
    own = alpha * out + beta * out ** 2 + (tau * x + 0.5 * kappa * x ** 2).sum(-1)
    return torch.stack([own, h * (inflow - out) ** 2], dim=-1)


def _market_shortfall(components: tuple[int, ...], weight: float, demand: torch.Tensor,
                      *upstream: torch.Tensor) -> torch.Tensor:
    return weight * (demand - _inflow(components, *upstream)) ** 2


def _stack_costs(*terms: torch.Tensor) -> torch.Tensor:
    return torch.stack([t[:, 0] for t in terms], dim=-1)


def _system(n_terms: int, *parts: torch.Tensor) -> torch.Tensor:
    imbalance = sum(t[:, 1] for t in parts[:n_terms])
    return imbalance + sum(parts[n_terms:])


def _sum_loss(system: torch.Tensor, costs: torch.Tensor) -> torch.Tensor:
    return system + costs.sum(-1)


def _own_costs(terms: torch.Tensor) -> torch.Tensor:
    """Every facility's own cost from the stacked ``[own cost, imbalance]`` terms ``(B, N, 2)``: ``(B, N)``."""
    return terms[..., 0]


def _stacked_system(terms: torch.Tensor, shortfalls: torch.Tensor) -> torch.Tensor:
    """Imbalances plus market shortfalls, from the stacked terms ``(B, N, 2)`` and shortfalls ``(B, M)``."""
    return terms[..., 1].sum(-1) + shortfalls.sum(-1)


AGGREGATIONS = ("stack", "variadic")


def supply_chain_problem(width: int | Sequence[int] = 3, depth: int = 4, fanout: int = 2, *, seed: int = 0,
                         imbalance_cost: float = 1.0, shortfall_cost: float = 1.0,
                         demand_range: tuple[float, float] = (5.0, 15.0),
                         capacity_range: tuple[float, float] = (3.0, 8.0), aggregation: str = "stack") -> Problem:
    """A seeded random supply chain (see the module docstring).

    Args:
        width: facilities per stage (an int for every stage, markets included, or one width per
            stage, ``len == depth``).
        depth: number of stages including the markets (4: suppliers → plants → distribution → markets).
        fanout: lanes out of each facility (≤ the next stage's width); the action dimension.
        seed: draws the cost coefficients ``α ~ U[0.5, 2], β ~ U[0.02, 0.1], τ ~ U[0.1, 0.5],
            κ ~ U[0.05, 0.15]``, lane capacities ``~ U[capacity_range]`` and demands ``~ U[demand_range]``.
        imbalance_cost, shortfall_cost: ``h`` and ``w`` (> 0).
        aggregation: how the per-facility terms reach the loss. ``"stack"`` (default): two stack
            nodes (:meth:`DDAG.add_stack`) gather every facility's terms and every market's shortfall,
            and the costs and system nodes are functions of those; ``"variadic"``: the costs and
            system nodes are Python functions of all ``N`` term nodes (and ``M`` markets) at once,
            the graph as first written (one operation per input: the slow form issue 21 measured).
            Both define the same loss; the gradients are equal and the losses agree to rounding.

    Private features of facility j: its stage (normalised), ``α_j`` and ``β_j``.
    """
    depth = require_int_at_least("depth", depth, 2)
    widths = tuple([width] * depth) if isinstance(width, (int, np.integer)) else tuple(width)
    if len(widths) != depth:
        raise InvalidParameterError(f"width must be an int or have depth={depth} entries, got {width!r}")
    widths = tuple(require_int_at_least("width", w, 1) for w in widths)
    fanout = require_int_at_least("fanout", fanout, 1)
    if fanout > min(widths[1:]):
        raise InvalidParameterError(f"fanout={fanout} exceeds the smallest downstream width {min(widths[1:])}")
    require_positive("imbalance_cost", imbalance_cost)
    require_positive("shortfall_cost", shortfall_cost)
    if aggregation not in AGGREGATIONS:
        raise InvalidParameterError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    for name, (lo, hi) in (("demand_range", demand_range), ("capacity_range", capacity_range)):
        if not 0 < lo <= hi < np.inf:
            raise InvalidParameterError(f"{name} must satisfy 0 < low <= high < inf, got {(lo, hi)!r}")
    layout = _layout(widths, fanout)
    rng = np.random.default_rng(seed)
    n = layout.n_facilities
    alpha, beta = rng.uniform(0.5, 2.0, n), rng.uniform(0.02, 0.1, n)
    tau, kappa = rng.uniform(0.1, 0.5, (n, fanout)), rng.uniform(0.05, 0.15, (n, fanout))
    capacity = rng.uniform(*capacity_range, (n, fanout))
    demand = rng.uniform(*demand_range, widths[-1])

    t = functools.partial(torch.as_tensor, dtype=torch.float64)
    g = DDAG()
    facility_terms, stage_of, i = [], [], 0
    for s, stage in enumerate(layout.names[:-1]):
        for name in stage:
            ups = layout.senders.get(name, [])
            comps = tuple(k for _, k in ups)
            g.add_agents(name, n=1, dim=fanout, inputs=[u for u, _ in ups],
                         output=functools.partial(_facility_value, comps))
            for key, value in (("alpha", alpha[i]), ("beta", beta[i]), ("tau", t(tau[i])), ("kappa", t(kappa[i]))):
                g.add_data(f"{key}:{name}", value)
            g.add_function(f"terms:{name}", functools.partial(_facility_terms, fanout, float(imbalance_cost) if s else 0.0),
                           inputs=[name] + [f"{k}:{name}" for k in ("alpha", "beta", "tau", "kappa")])
            facility_terms.append(f"terms:{name}")
            stage_of.append(s)
            i += 1
    markets = []
    for m, name in enumerate(layout.names[-1]):
        ups = layout.senders[name]
        g.add_data(f"demand:{name}", float(demand[m]))
        g.add_function(name, functools.partial(_market_shortfall, tuple(k for _, k in ups), float(shortfall_cost)),
                       inputs=[f"demand:{name}"] + [u for u, _ in ups])
        markets.append(name)
    if aggregation == "stack":
        g.add_stack("terms", facility_terms, dim=1)
        g.add_stack("shortfalls", markets, dim=1)
        g.add_function("costs", _own_costs, inputs=["terms"])
        g.add_function("system", _stacked_system, inputs=["terms", "shortfalls"])
    else:
        g.add_function("costs", _stack_costs, inputs=facility_terms)
        g.add_function("system", functools.partial(_system, len(facility_terms)), inputs=facility_terms + markets)
    g.add_function("loss", _sum_loss, inputs=["system", "costs"])
    g.set_loss("loss")
    features = np.stack([np.asarray(stage_of) / max(depth - 2, 1), alpha, beta], axis=1)
    problem = Problem(g, lower=0.0, upper=t(capacity), system_node="system", costs_node="costs",
                      features=t(features), feature_names=("stage", "alpha", "beta"),
                      name=f"supply_chain[{'x'.join(map(str, widths))},f{fanout},s{seed}]")
    problem.layout = layout  # which node ships where (for rendering and reports)
    return problem


@dataclass
class SupplyChainSolution:
    """The exact optimum ``x`` (``(N, fanout)``), its loss, and the KKT residual certifying it."""

    x: torch.Tensor
    loss: float
    kkt_residual: float
    method: str = "scipy lsq_linear(bvls) on the Cholesky factor of the exact Hessian"


def solve_supply_chain(problem: Problem) -> SupplyChainSolution:
    """The exact box-constrained optimum of a (quadratic) supply-chain problem (see the module
    docstring). Raises if the loss is not strictly convex (Cholesky fails)."""
    shape = (problem.n_agents, problem.action_dim)
    zero = torch.zeros(shape, dtype=problem.dtype)
    H = problem.hessian(zero).numpy()
    with torch.enable_grad():
        x0 = zero.reshape(1, *shape).requires_grad_(True)
        (grad,) = torch.autograd.grad(problem.loss(x0).sum(), x0)
    gvec = grad.reshape(-1).numpy()
    try:
        R = scipy.linalg.cholesky(H, lower=False)
    except np.linalg.LinAlgError:
        raise InvalidParameterError(f"{problem.name}: the loss is not strictly convex (Hessian not positive definite)") from None
    rhs = -scipy.linalg.solve_triangular(R, gvec, trans="T")
    lo, hi = problem.lower.reshape(-1).numpy(), problem.upper.reshape(-1).numpy()
    res = scipy.optimize.lsq_linear(R, rhs, bounds=(lo, hi), method="bvls", tol=1e-15, lsmr_tol=None)
    x = torch.as_tensor(np.clip(res.x, lo, hi)).reshape(1, *shape)
    with torch.enable_grad():
        xg = x.clone().requires_grad_(True)
        loss = problem.loss(xg)
        (gx,) = torch.autograd.grad(loss.sum(), xg)
    kkt = float((problem.project(x - gx) - x).norm())
    return SupplyChainSolution(x[0], float(loss.detach()[0]), kkt)
