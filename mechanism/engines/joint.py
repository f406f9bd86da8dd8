"""One graph for the forward and the reverse pass of a traced D-DAG plan, run without autograd.

The traced engine (:mod:`mechanism.engines.batched`) replays a plan's forward pass as one graph of
ATen operations; the incentives then still need autograd, which records every operation of the
forward pass and walks them back (issue 21: about 2.6 ms per call on the supply chain with 300
agents, 6× the same loss written as one vectorised function). This module traces the *gradient*
as well:

    joint(X, *data) = (L(X), ∂ΣL/∂X)

built by ``make_fx`` over ``torch.func.grad`` of the plan's forward pass, so the reverse pass is
ATen operations in the same graph and nothing is recorded at run time. On the CPU the graph is
then handed to TorchScript's interpreter (``torch.jit.trace`` of the graph module), which runs the
operations without Python between them; the fx graph module itself pays Python per operation.
TorchScript is deprecated in recent torch releases; where it is missing or fails, the fx graph
runs instead, and :func:`trace_joint` says which runs (``runner``). CPU fusion is off in
TorchScript by default, so the scripted graph computes the same operations in the same order.

Every joint graph is checked once, at tracing, against the loss and gradient of the eager plan
(relative tolerance given by the caller); one that disagrees is not used.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["JointGraph", "trace_joint"]


@dataclass
class JointGraph:
    """A traced ``X, *data -> (loss, grad)`` and how it runs (``runner``: ``"torchscript"`` or
    ``"fx"``); ``n_ops`` counts the ATen operations of the graph (forward and reverse)."""

    call: Callable[..., tuple[torch.Tensor, torch.Tensor]]
    runner: str
    n_ops: int

    def __call__(self, X: torch.Tensor, *data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(L(X), ∂ΣL/∂X)`` at ``X`` (no autograd graph is recorded)."""
        with torch.no_grad():
            return self.call(X, *data)


def _value_and_grad(forward: Callable[..., torch.Tensor]) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    def joint(X: torch.Tensor, *data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        def total(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            loss = forward(x, *data)
            return loss.sum(), loss

        grad, loss = torch.func.grad(total, has_aux=True)(X)
        return loss, grad

    return joint


def _script(graph: torch.nn.Module, X: torch.Tensor, data: list[torch.Tensor]) -> Callable[..., tuple[torch.Tensor, torch.Tensor]] | None:
    """``graph`` traced into TorchScript (CPU only), or ``None`` where that is unavailable or fails."""
    if X.device.type != "cpu" or not hasattr(torch, "jit"):
        return None
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # "torch.jit.trace is deprecated": the fx graph is the fallback
            return torch.jit.trace(graph, (X, *data), check_trace=False)
    except Exception:  # noqa: BLE001 - any failure leaves the fx graph in charge
        return None


def _agrees(got: tuple[torch.Tensor, torch.Tensor], want: tuple[torch.Tensor, torch.Tensor], rtol: float) -> bool:
    for a, b in zip(got, want):
        if a.shape != b.shape or not bool(torch.isfinite(a).all() == torch.isfinite(b).all()):
            return False
        if float((a - b).abs().max()) > rtol * max(1.0, float(b.abs().max())):
            return False
    return True


def trace_joint(forward: Callable[..., torch.Tensor], X: torch.Tensor, data: list[torch.Tensor],
                want: tuple[torch.Tensor, torch.Tensor], rtol: float) -> JointGraph:
    """Trace ``(L, ∂ΣL/∂X)`` of ``forward(X, *data)`` into one graph and check it against ``want``
    (the eager loss and gradient at ``X``) to ``rtol`` relative; raises ``RuntimeError`` if neither
    the scripted nor the fx graph agrees."""
    from torch.fx.experimental.proxy_tensor import make_fx

    graph = make_fx(_value_and_grad(forward))(X.detach(), *data)
    n_ops = sum(node.op == "call_function" for node in graph.graph.nodes)
    for runner, call in (("torchscript", _script(graph, X.detach(), data)), ("fx", graph)):
        if call is None:
            continue
        joint = JointGraph(call, runner, n_ops)
        try:
            for _ in range(3):  # TorchScript's profiling executor optimises after its first runs
                got = joint(X.detach(), *data)
        except Exception:  # noqa: BLE001 - a scripted graph that cannot run: try the fx graph
            continue
        if _agrees(got, want, rtol):
            return joint
    raise RuntimeError("the joint forward-reverse graph disagrees with the eager plan")
