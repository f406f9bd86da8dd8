"""Problem families of the MBI paper, built as D-DAGs.

* :func:`aggregative_problem`: ``L(x) = (Σ_i x_i + c − Y)² + Σ_i λ_i x_i²`` (one sum node over a
  vector of N agents: O(N)); symmetric when all λ_i are equal. Closed-form optimum, gradient
  and curvature.
* :func:`assembly_line_problem`: the two-stage line ``A1 → A2 → loss`` with
  ``L = (x1 + x2 − Y)² + λ x1²``.
* :func:`coupled_resource_problem`: ``L = (x1 + x2 − T)² + λ x1 x2`` on a box (indefinite).
* :func:`nonconvex_problem`: ``L = (x1 + x2 − Y)² + a(x1² + x2²) + b sin(ω x2)`` (many local minima).
"""
from __future__ import annotations

import functools
import math
from typing import Any, Mapping

import torch

from ..core.ddag import DDAG
from ..errors import InvalidParameterError, require_finite_number, require_int_at_least, require_positive
from ..core.problem import Optimum, Problem

__all__ = ["aggregative_problem", "aggregative_optimum", "aggregative_optimal_loss", "aggregative_nash",
           "assembly_line_problem", "coupled_resource_problem", "nonconvex_problem", "sum_reciprocal"]


def _lam_vector(lam: Any, n_agents: int, name: str = "lam", dtype: torch.dtype = torch.float64,
                device: Any = None) -> torch.Tensor:
    """λ as an ``(N,)`` tensor; a scalar becomes an expanded view (O(1) memory at any N)."""
    t = torch.as_tensor(lam, dtype=torch.float64)
    if t.ndim == 0:
        require_positive(name, t)
        return t.to(device=device, dtype=dtype).expand(n_agents)
    if t.shape != (n_agents,):
        raise InvalidParameterError(f"{name} must be a scalar or have shape ({n_agents},), got "
                                    f"shape {tuple(t.shape)}")
    require_positive(name, t)
    return t.to(device=device, dtype=dtype)


def sum_reciprocal(lam: torch.Tensor) -> float:
    """``K = Σ_j 1/λ_j`` accumulated in float64 (O(1) for a broadcast scalar λ)."""
    lam = torch.as_tensor(lam).reshape(-1)
    if lam.numel() > 1 and lam.stride(0) == 0:
        return lam.numel() / float(lam[0])
    return float(torch.reciprocal(lam.to(torch.float64)).sum())


def aggregative_optimal_loss(Y: float, lam: torch.Tensor, offset: float = 0.0) -> float:
    """``L* = (Y − c)² / (1 + Σ_j 1/λ_j)`` of the unconstrained aggregative problem, in float64."""
    target = float(Y) - float(offset)
    return target ** 2 / (1.0 + sum_reciprocal(lam))


def aggregative_optimum(Y: float, lam: torch.Tensor, offset: float = 0.0) -> Optimum:
    """Closed-form minimiser of ``(Σx + c − Y)² + Σ λ_i x_i²`` (unconstrained).

    With ``K = Σ_j 1/λ_j`` and ``Y' = Y − c``:  ``x_i* = Y' / (λ_i (1 + K))``,
    ``L* = Y'² / (1 + K)``. Symmetric case: ``x* = Y'/(N + λ)``, ``L* = λ Y'²/(N + λ)``.
    ``x`` keeps λ's dtype and device.
    """
    lam = torch.as_tensor(lam, dtype=torch.float64) if not isinstance(lam, torch.Tensor) else lam
    target = float(Y) - float(offset)
    K = sum_reciprocal(lam)
    x = target / (lam * (1.0 + K))
    return Optimum(x.reshape(-1, 1), target ** 2 / (1.0 + K))


def aggregative_nash(Y: float, lam: Any, share: float, offset: float = 0.0) -> torch.Tensor:
    """Closed-form uncoordinated equilibrium of the aggregative problem (unconstrained).

    Agent i minimises ``λ_i x_i² + s (Σx + c − Y)²``; the first-order conditions give
    ``x_i = s (Y' − S)/λ_i`` with ``S = s Y' K / (1 + s K)``, ``K = Σ 1/λ_j``, ``Y' = Y − c``.
    ``s = 0`` gives ``x = 0``. Returns ``x`` with shape ``(N, 1)``.
    """
    lam = torch.as_tensor(lam, dtype=torch.float64).reshape(-1)
    target = float(Y) - float(offset)
    K = (1.0 / lam).sum()
    S = share * target * K / (1.0 + share * K)
    return (share * (target - S) / lam).reshape(-1, 1)


# ---------------------------------------------------------------- aggregative family (module-level: picklable)
def _total(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    return x.sum(dim=(1, 2), dtype=torch.float64).to(x.dtype) + c


def _squared_residual(s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (s - y) ** 2


def _quadratic_costs(x: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    return lam * (x ** 2).sum(-1)


def _system_plus_costs(system: torch.Tensor, costs: torch.Tensor) -> torch.Tensor:
    return system + costs.sum(-1)


def _system_and_costs(g: DDAG, system: Any, system_inputs: list[str], costs: Any, costs_inputs: list[str]) -> DDAG:
    """Add the ``system`` and ``costs`` nodes to ``g`` and the loss ``L = system + Σ_i costs_i``."""
    g.add_function("system", system, inputs=system_inputs)
    g.add_function("costs", costs, inputs=costs_inputs)
    g.add_function("loss", _system_plus_costs, inputs=["system", "costs"])
    g.set_loss("loss")
    return g


def _aggregative_gradient(X: torch.Tensor, data: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed form: ``L`` and ``∂L/∂x_i = 2(Σx + c − Y) + 2 λ_i x_i`` (sums accumulate in float64)."""
    shift = data["offset"].to(torch.float64) - data["Y"].to(torch.float64)
    residual = X.sum(dim=(1, 2), dtype=torch.float64) + shift
    lam_ = data["lam"].reshape(1, -1, 1)
    costs = (lam_ * X ** 2).sum(dim=(1, 2), dtype=torch.float64)
    loss = (residual ** 2 + costs).to(X.dtype)
    return loss, 2.0 * residual.to(X.dtype).reshape(-1, 1, 1) + 2.0 * lam_ * X


def _aggregative_curvature(X: torch.Tensor, data: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return (2.0 + 2.0 * data["lam"]).reshape(-1, 1).to(X.dtype)


def _aggregative_optimum_from_data(data: Mapping[str, torch.Tensor]) -> Optimum:
    return aggregative_optimum(float(data["Y"]), data["lam"], float(data["offset"]))


def aggregative_problem(n_agents: int = 100, Y: float = 10.0, lam: Any = 0.1, *,
                        offset: float = 0.0, lower: Any = 0.0, upper: Any = float("inf"),
                        true_lam: Any = None, name: str | None = None,
                        dtype: Any = torch.float64, device: Any = None) -> Problem:
    """The aggregative ("parallel") problem ``L(x) = (Σ_i x_i + c − Y)² + Σ_i λ_i x_i²``.

    ``Y`` is the target output, ``λ_i > 0`` agent i's private cost coefficient (the Planner's
    belief; ``true_lam`` is the truth when it differs), ``c = offset`` a fixed contribution of
    non-strategic producers. The system loss is ``(Σx + c − Y)²`` and agent i's cost
    ``λ_i x_i²``. Default bounds ``x_i >= 0`` (the paper clamps at zero). Each agent's private
    feature is its true λ_i.

    ``dtype`` (float64 default, or float32) and ``device`` (``"cpu"``, ``"cuda"``) place every
    tensor; sums accumulate in float64 whatever the storage dtype. A scalar λ or bound costs
    O(1) memory, so N = 1e9 needs only the actions themselves. The family registers the fused
    one-pass step of :mod:`mechanism.engines.fused` (``run_planner(..., method="fused")``).
    """
    from ..core.problem import resolve_device, resolve_dtype

    n_agents = require_int_at_least("n_agents", n_agents, 1)
    Y = require_finite_number("Y", Y)
    offset = require_finite_number("offset", offset)
    dtype, device = resolve_dtype(dtype), resolve_device(device)
    lam_t = _lam_vector(lam, n_agents, dtype=dtype, device=device)
    true_t = lam_t if true_lam is None else _lam_vector(true_lam, n_agents, "true_lam", dtype, device)

    g = DDAG()
    g.add_agents("x", n=n_agents)
    g.add_data("Y", Y)
    g.add_data("offset", offset)
    g.add_data("lam", lam_t)
    g.add_function("total", _total, inputs=["x", "offset"])
    _system_and_costs(g, _squared_residual, ["total", "Y"], _quadratic_costs, ["x", "lam"])
    return Problem(g, data={"lam": lam_t}, true_types=None if true_lam is None else {"lam": true_t},
                   lower=lower, upper=upper, system_node="system", costs_node="costs",
                   features=true_t.reshape(-1, 1), feature_names=("lam",),
                   gradient_fn=_aggregative_gradient, curvature_fn=_aggregative_curvature,
                   optimum_fn=_aggregative_optimum_from_data, name=name or "aggregative",
                   dtype=dtype, device=device, fused_family="aggregative")


def assembly_line_problem(Y: float = 2.0, lam: float = 0.5) -> Problem:
    """The paper's two-agent assembly line (C.1) as the D-DAG ``A1 → A2 → loss``.

    Stage 1 produces ``x1`` at cost ``λ x1²``; stage 2 adds ``x2`` to it; the line should
    deliver ``Y``:  ``L = (x1 + x2 − Y)² + λ x1²``, minimised at ``x* = (0, Y)`` with ``L* = 0``.
    Unbounded actions.
    """
    Y = require_finite_number("Y", Y)
    require_positive("lam", lam)
    g = DDAG()
    g.add_agents("A1", n=1)
    g.add_agents("A2", n=1, inputs=["A1"], output=torch.add)  # A2's value: its own work + A1's output
    g.add_data("Y", Y)
    g.add_data("lam", float(lam))
    _system_and_costs(g, _line_system, ["A2", "Y"], _line_costs, ["A1", "lam"])
    return Problem(g, system_node="system", costs_node="costs",
                   features=torch.tensor([[float(lam)], [0.0]]), feature_names=("lam",),
                   optimum_fn=_line_optimum, name="assembly_line")


def _line_system(a2: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((a2 - y) ** 2).sum(dim=(1, 2))


def _line_costs(a1: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    return torch.cat([lam * (a1 ** 2).sum(-1), torch.zeros_like(a1[..., 0])], dim=1)


def _line_optimum(data: Mapping[str, torch.Tensor]) -> Optimum:
    return Optimum(torch.tensor([[0.0], [float(data["Y"])]], dtype=torch.float64), 0.0)


def coupled_resource_problem(T: float = 10.0, lam: float = 0.5, low: float = 0.0,
                             high: float = 10.0) -> Problem:
    """Coupled resource allocation (C.5): ``L = (x1 + x2 − T)² + λ x1 x2`` on ``[low, high]²``.

    The Hessian ``[[2, 2+λ], [2+λ, 2]]`` has eigenvalues ``−λ`` and ``4+λ``: the interior
    stationary point ``x1 = x2 = 2T/(4+λ)`` is a saddle, and the minimum lies on the boundary.
    The coupling cost is split equally between the two agents (``λ x1 x2 / 2`` each).
    """
    T = require_finite_number("T", T)
    require_positive("lam", lam)
    if not high > low:
        raise InvalidParameterError(f"need high > low, got low={low!r}, high={high!r}")
    g = DDAG()
    g.add_agents("x", n=2)
    g.add_data("T", T)
    g.add_data("lam", float(lam))
    _system_and_costs(g, _sum_system, ["x", "T"], _coupling_costs, ["x", "lam"])
    return Problem(g, lower=low, upper=high, system_node="system", costs_node="costs",
                   name="coupled_resource")


def _sum_system(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (x.sum(dim=(1, 2)) - target) ** 2


def _coupling_costs(x: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    return (0.5 * lam * x[:, 0, 0] * x[:, 1, 0]).unsqueeze(-1).expand(-1, 2)


def nonconvex_problem(Y: float = 5.0, a: float = 0.1, b: float = 0.5,
                      omega: float = 4.0 * math.pi) -> Problem:
    """The non-convex landscape of C.10: ``L = (x1 + x2 − Y)² + a(x1² + x2²) + b sin(ω x2)``.

    Agent 1's cost is ``a x1²``, agent 2's ``a x2² + b sin(ω x2)``. Unbounded actions; the
    quadratic terms make the global minimum exist, among many local minima.
    """
    Y = require_finite_number("Y", Y)
    require_positive("a", a)
    b = require_finite_number("b", b)
    omega = require_finite_number("omega", omega)
    g = DDAG()
    g.add_agents("x", n=2)
    g.add_data("Y", Y)
    _system_and_costs(g, _sum_system, ["x", "Y"], functools.partial(_nonconvex_costs, a=a, b=b, omega=omega), ["x"])
    return Problem(g, system_node="system", costs_node="costs", name="nonconvex")


def _nonconvex_costs(x: torch.Tensor, *, a: float, b: float, omega: float) -> torch.Tensor:
    return torch.stack([a * x[:, 0, 0] ** 2, a * x[:, 1, 0] ** 2 + b * torch.sin(omega * x[:, 1, 0])], dim=1)
