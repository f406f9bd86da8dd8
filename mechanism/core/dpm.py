"""The Differentiable Price Mechanism (DPM).

One reverse pass over the Planner's D-DAG gives every agent its incentive

    G_i = −∂L_global/∂x_i

at the current joint action. The generic path is autograd (a reverse pass costs a constant
multiple of the forward pass, so O(N) for a graph whose nodes are O(N)); problem families with
a closed-form gradient may provide a fused fast path, which tests check against autograd.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ..errors import InvalidParameterError
from .problem import Problem, TypesView

__all__ = ["Incentives", "incentives"]

Method = Literal["auto", "autograd", "analytic"]


@dataclass(frozen=True)
class Incentives:
    """The global loss ``loss`` (shape ``(B,)``), the incentives ``G`` (shape ``(B, N, d)``) and the
    ``engine`` that computed them: ``"analytic"`` (the problem's closed form), ``"autograd"`` (one
    call per D-DAG node, the reference), ``"batched"`` (:mod:`mechanism.engines.batched`) or
    ``"traced"`` (the batched plan traced into one graph of the forward and the reverse pass,
    :mod:`mechanism.engines.joint`)."""

    loss: torch.Tensor
    G: torch.Tensor
    engine: str = "autograd"


def incentives(problem: Problem, X: torch.Tensor, *, types: TypesView = "belief",
               method: Method = "auto", validate: bool = True, engine: str | None = None) -> Incentives:
    """Compute ``L_global(X)`` and every agent's incentive ``G = −∂L/∂X`` in one reverse pass.

    Args:
        problem: the Planner's problem.
        X: joint actions, ``(B, N, d)`` (or ``(N, d)``/``(N,)``; validated, NaN/inf rejected).
        types: evaluate the loss under the Planner's ``"belief"`` (what the mechanism pays on)
            or the ``"true"`` types.
        validate: check ``X`` for NaN/inf (one pass over it). Inner loops that validated their
            input once at the boundary (the planner) pass ``False``; shapes and the device are
            always checked.
        method: ``"autograd"`` (generic reverse pass), ``"analytic"`` (the problem's closed-form
            gradient; raises if it has none) or ``"auto"`` (analytic when available).
        engine: how the generic reverse pass evaluates the D-DAG: ``"autograd"`` (the reference,
            one call per node), ``"batched"`` (nodes of the same function and shapes as stacked
            calls; equal to the reference to rounding) or ``"auto"``; default: the problem's own
            (:attr:`Problem.engine`, ``"auto"`` unless set). The result's ``engine`` says which ran.
    """
    if engine is not None:
        from ..engines.batched import require_engine

        require_engine(engine)
    X = problem.as_actions(X, check_finite=validate)
    if method not in ("auto", "autograd", "analytic"):
        raise InvalidParameterError(f"method must be 'auto', 'autograd' or 'analytic', got {method!r}")
    if method == "analytic" and problem.gradient_fn is None:
        raise InvalidParameterError(f"method='analytic' but problem {problem.name!r} has no gradient_fn")
    if method != "autograd" and problem.gradient_fn is not None:
        loss, grad = problem.gradient_fn(X, problem.data(types))
        return Incentives(loss.detach(), -grad.detach(), "analytic")
    return _autograd_incentives(problem, X, types, engine)


def _autograd_incentives(problem: Problem, X: torch.Tensor, types: TypesView, engine: str | None) -> Incentives:
    loss, grad, used = problem.evaluate_loss_and_grad(X, types, engine)
    return Incentives(loss, -grad, used)
