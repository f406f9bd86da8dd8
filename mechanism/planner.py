"""The Planner loop: the paper's Algorithm 1 (the MBI optimization cycle).

Each iteration t = 1, 2, ...:

1. forward pass: every agent acts on the incentive it received, ``X_t = policy.act(X_{t−1}, G_{t−1})``;
2. the Planner evaluates ``L_t = L_global(X_t)``;
3. backward pass (DPM): ``G_t = −∂L/∂X`` at ``X_t``, delivered to the agents.

The loop stops with status

* ``"converged"`` when ``|L_{t−1} − L_t| ≤ eps`` and the projected incentive norm
  ``‖Π(X_t + G_t) − X_t‖ ≤ tau`` (the KKT residual: it is zero at a box-constrained optimum,
  where the plain ‖G‖ need not be);
* ``"satisficed"`` when every agent has chosen to stop searching (satisficing agents);
* ``"diverged"`` when the loss becomes non-finite or exceeds ``divergence_factor · max(1, |L_0|)``;
  ``diverged_at`` is that iteration and the returned state is the last finite one. No value is
  invented;
* ``"budget_exhausted"`` after ``max_iters`` iterations otherwise.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from .agents import AgentPolicy
from .dpm import Incentives, Method, incentives
from .errors import InvalidParameterError, require_int_at_least, require_nonnegative, require_positive
from .problem import Problem, TypesView

__all__ = ["PlannerResult", "History", "run_planner"]

Status = Literal["converged", "satisficed", "diverged", "budget_exhausted"]


@dataclass
class History:
    """Recorded every ``stride`` iterations (and at the last one): iteration numbers, loss
    ``(T, B)``, and, if requested, actions and incentives ``(T, B, N, d)``, as numpy arrays."""

    iterations: np.ndarray
    loss: np.ndarray
    actions: np.ndarray | None = None
    incentives: np.ndarray | None = None


@dataclass
class PlannerResult:
    """Outcome of :func:`run_planner`.

    ``X`` and ``loss`` are the final (last finite) joint action and loss, ``G`` the incentives
    there; ``iterations`` counts completed iterations; ``evaluations`` counts reverse passes.
    """

    status: Status
    X: torch.Tensor
    loss: torch.Tensor
    G: torch.Tensor
    iterations: int
    evaluations: int
    wall_seconds: float
    history: History
    diverged_at: int | None = None
    kkt_residual: float = float("nan")
    extras: dict[str, Any] = field(default_factory=dict)


class _Recorder:
    def __init__(self, stride: int, record_actions: bool) -> None:
        self.stride, self.record_actions = stride, record_actions
        self.its: list[int] = []
        self.losses: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.incs: list[np.ndarray] = []

    def __call__(self, t: int, inc: Incentives, X: torch.Tensor, force: bool = False) -> None:
        if (t % self.stride and not force) or (self.its and self.its[-1] == t):
            return
        self.its.append(t)
        self.losses.append(inc.loss.numpy().copy())
        if self.record_actions:
            self.actions.append(X.numpy().copy())
            self.incs.append(inc.G.numpy().copy())

    def history(self) -> History:
        acts = np.stack(self.actions) if self.actions else None
        incs = np.stack(self.incs) if self.incs else None
        return History(np.asarray(self.its), np.stack(self.losses), acts, incs)


def _kkt_residual(problem: Problem, X: torch.Tensor, G: torch.Tensor) -> float:
    return float((problem.project(X + G) - X).flatten(1).norm(dim=1).max())


def run_planner(problem: Problem, policy: AgentPolicy, x0: Any, *, max_iters: int = 10_000,
                eps: float = 1e-15, tau: float = 1e-10, types: TypesView = "belief",
                method: Method = "auto", record_every: int = 1, record_actions: bool = True,
                divergence_factor: float = 1e12, progress: bool = False) -> PlannerResult:
    """Run Algorithm 1: agents act on DPM incentives until convergence, satisficing, divergence
    or the iteration budget.

    Args:
        problem: the Planner's problem; incentives are computed under ``types`` (its belief by
            default).
        policy: the agents (:mod:`mechanism.agents`).
        x0: starting joint action (``(B, N, d)``, ``(N, d)`` or ``(N,)``); projected onto the box.
        max_iters: iteration budget (≥ 0).
        eps, tau: stop when the loss decrease ≤ ``eps`` and the KKT residual ≤ ``tau``.
        method: DPM path (see :func:`mechanism.dpm.incentives`).
        record_every: history stride (the first and last iterations are always recorded).
        record_actions: also record actions and incentives (memory ``T·B·N·d``).
        divergence_factor: the loss counts as exploding above ``factor · max(1, |L_0|)``.
        progress: show a tqdm progress bar.
    """
    max_iters = require_int_at_least("max_iters", max_iters, 0)
    record_every = require_int_at_least("record_every", record_every, 1)
    require_nonnegative("eps", eps)
    require_nonnegative("tau", tau)
    require_positive("divergence_factor", divergence_factor)
    if not isinstance(policy, AgentPolicy):
        raise InvalidParameterError(f"policy must be an AgentPolicy, got {type(policy).__name__}")
    X = problem.project(problem.as_actions(x0, "x0"))
    policy.reset(problem, X)

    start = time.perf_counter()
    inc = incentives(problem, X, types=types, method=method)
    evaluations = 1
    limit = divergence_factor * max(1.0, float(inc.loss.abs().max()))
    record = _Recorder(record_every, record_actions)
    record(0, inc, X)
    status: Status = "budget_exhausted"
    diverged_at, t = None, 0
    bar = _progress_bar(max_iters, problem.name) if progress else None
    for t in range(1, max_iters + 1):
        X_new, new_inc, n_evals = _step(problem, policy, X, inc, t, types, method)
        evaluations += n_evals
        if not bool(torch.isfinite(new_inc.loss).all()) or float(new_inc.loss.abs().max()) > limit:
            status, diverged_at, t = "diverged", t, t - 1
            break
        decrease = float((inc.loss - new_inc.loss).abs().max())
        X, inc = X_new, new_inc
        record(t, inc, X)
        if bar is not None:
            bar.update(1)
        if policy.all_halted():
            status = "satisficed"
            break
        if decrease <= eps and _kkt_residual(problem, X, inc.G) <= tau:
            status = "converged"
            break
    if bar is not None:
        bar.close()
    record(t, inc, X, force=True)
    return PlannerResult(status=status, X=X, loss=inc.loss, G=inc.G, iterations=t,
                         evaluations=evaluations, wall_seconds=time.perf_counter() - start,
                         history=record.history(), diverged_at=diverged_at,
                         kkt_residual=_kkt_residual(problem, X, inc.G))


def _step(problem: Problem, policy: AgentPolicy, X: torch.Tensor, inc: Incentives, t: int,
          types: TypesView, method: Method) -> tuple[torch.Tensor, Incentives, int]:
    """One forward/backward iteration; sequential policies get a reverse pass per agent."""
    if policy.schedule == "simultaneous":
        X_new = policy.act(X, inc.G, t)
        return X_new, incentives(problem, X_new, types=types, method=method), 1
    X_new, current, evals = X.clone(), inc, 0
    for i in range(problem.n_agents):
        proposal = policy.act(X_new, current.G, t)
        X_new[:, i] = proposal[:, i]
        current = incentives(problem, X_new, types=types, method=method)
        evals += 1
    return X_new, current, evals


def _progress_bar(total: int, label: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"planner[{label}]", leave=False, mininterval=0.5)
