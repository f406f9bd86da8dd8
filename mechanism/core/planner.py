"""The Planner loop: the paper's Algorithm 1 (the MBI optimization cycle).

Each iteration t = 1, 2, ...:

1. forward pass: every agent acts on the incentive it received, ``X_t = policy.act(X_{t−1}, G_{t−1})``;
2. the Planner evaluates ``L_t = L_global(X_t)``;
3. backward pass (DPM): ``G_t = −∂L/∂X`` at ``X_t``, delivered to the agents.

The loop stops with status

* ``"converged"`` when, in every batch row, the loss change and the projected incentive norm
  (the KKT residual ``K_t = ‖Π(X_t + G_t) − X_t‖``: zero at a box-constrained optimum, where the
  plain ‖G‖ need not be) are within tolerance *or within rounding*::

      |L_{t−1} − L_t| ≤ max(eps, ρ u · max(|L_{t−1}|, |L_t|))
      K_t             ≤ max(tau, ρ u · ‖ |X_t| + |G_t| ‖),        ρ = ROUNDING_UNITS = 8,

  ``u`` the machine epsilon of the problem's dtype. The floors are the rounding error of
  computing the two quantities (a one-ulp move of ``x_i`` is a residual of ``u|x_i|``); below
  them a test would ask whether the result of some last rounding is exactly 0.0, which two
  engines computing the same iterates in a different order answer differently (autograd's
  residual 0.0 vs the fused kernel's 4.4e-16 at the same point, issue 22). So ``eps=0`` alone
  means "the loss no longer changes beyond rounding", and ``tau=0`` alone "the residual is
  at rounding level". ``eps = tau = 0`` switches the convergence test off: a fixed budget
  (the run ends only by budget, divergence or satisficing), which is what every fixed-length
  run in this repository asks for;
* ``"satisficed"`` when every agent has chosen to stop searching (satisficing agents);
* ``"diverged"`` when the loss becomes non-finite or exceeds ``divergence_factor · max(1, |L_0|)``;
  ``diverged_at`` is that iteration and the returned state is the last finite one. No value is
  invented;
* ``"budget_exhausted"`` after ``max_iters`` iterations otherwise.

Stopping tests cost a host synchronisation (and, for the KKT residual, one more pass over
``X``), so they run every ``check_every`` iterations; the loss of every iteration is kept on the
device in between, so ``diverged_at`` stays exact. With ``check_every > 1`` a run may stop up to
``check_every − 1`` iterations after its stopping condition first held, and on divergence the
returned state is the last *checked* finite one (``iterations`` says which).

``method="fused"`` (and ``"auto"``, wherever it applies) runs gradient agents on the aggregative
family through the one-pass kernel of :mod:`mechanism.engines.fused` (in place, memory-bandwidth bound),
a block of iterations at a time: on the CPU the iterations up to the next stopping check run in
one compiled numba call, bit-identical to stepping them one by one (statuses, ``diverged_at``,
the history stride and the float64 sums are those of the per-iteration loop). Simultaneous best
responses run on the same kernel (gradient steps with step ``α/h_i``); momentum (heavy ball,
Nesterov), noisy and time-cost satisficing agents on the compiled kernels of
:mod:`mechanism.engines.rules`, a block of iterations per call (their iterates agree with
``"analytic"`` to rounding, not bit for bit: the sums are added in another order). The other
methods go through :func:`mechanism.core.dpm.incentives` and ``policy.act``, one Python step per
iteration.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
import torch

from .agents import AgentPolicy, BestResponseAgents, GradientAgents
from .dpm import Incentives, Method, incentives
from ..engines.fused import FusedAggregative, fused_unavailable_reason
from ..engines.rules import RULE_MIN_ITERATIONS, RuleKernel, rule_kernel_unavailable_reason, rule_name
from ..errors import InvalidParameterError, require_int_at_least, require_nonnegative, require_positive
from .problem import Problem, TypesView

__all__ = ["PlannerResult", "History", "run_planner"]

Status = Literal["converged", "satisficed", "diverged", "budget_exhausted"]
PlannerMethod = Literal["auto", "autograd", "analytic", "fused"]
DEFAULT_CHECK_EVERY = 16  # measured (docs/scale.md): checking every iteration doubles a small loop's cost
ROUNDING_UNITS = 8.0  # ρ: the convergence tests' rounding floors are ρ u |L| and ρ u ‖|X| + |G|‖


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
    ``engine`` names what computed the iterates: ``"fused-numba-loop"`` (the fused step, a
    block of iterations per compiled call; also simultaneous best responses, as gradient steps
    with step ``α/h_i``), ``"fused-numba"`` (one call per iteration: sharded runs),
    ``"fused-torch"``, ``"rule-numba-<rule>"`` (``heavy_ball``, ``nesterov``, ``noisy``,
    ``satisficing``: the compiled kernels of :mod:`mechanism.engines.rules`), ``"analytic"``
    (closed-form gradient) or ``"autograd"``.
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
    engine: str = ""


class _Recorder:
    def __init__(self, stride: int, record_actions: bool) -> None:
        self.stride, self.record_actions = stride, record_actions
        self.its: list[int] = []
        self.losses: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.incs: list[np.ndarray] = []

    def __call__(self, t: int, engine: "_Engine", force: bool = False) -> None:
        if (t % self.stride and not force) or (self.its and self.its[-1] == t):
            return
        self.its.append(t)
        self.losses.append(engine.loss.detach().cpu().numpy().copy())
        if self.record_actions:
            self.actions.append(engine.X.detach().cpu().numpy().copy())
            self.incs.append(engine.G.detach().cpu().numpy().copy())

    def add_loss(self, t: int, loss: torch.Tensor) -> None:
        """Record the loss of iteration ``t`` inside a compiled block (only without actions)."""
        self.its.append(t)
        self.losses.append(loss.detach().cpu().numpy().copy())

    def truncate(self, t: int) -> None:
        """Forget records after iteration ``t`` (a diverged stretch that was never accepted)."""
        keep = sum(1 for i in self.its if i <= t)
        for seq in (self.its, self.losses, self.actions, self.incs):
            del seq[keep:]

    def history(self) -> History:
        acts = np.stack(self.actions) if self.actions else None
        incs = np.stack(self.incs) if self.incs else None
        return History(np.asarray(self.its), np.stack(self.losses), acts, incs)


def _kkt_residual(problem: Problem, X: torch.Tensor, G: torch.Tensor) -> float:
    return float(_kkt_rows(problem, X, G)[0].max())


def _kkt_rows(problem: Problem, X: torch.Tensor, G: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per batch row: the KKT residual ``‖Π(X + G) − X‖`` and its rounding scale ``‖|X| + |G|‖``
    (float64, on the CPU)."""
    residual = (problem.project(X + G) - X).flatten(1).norm(dim=1)
    scale = (X.abs() + G.abs()).flatten(1).norm(dim=1)
    return residual.double().cpu(), scale.double().cpu()


def _converged(prev: torch.Tensor, last: torch.Tensor, engine: "_Engine", eps: float, tau: float,
               unit: float) -> bool:
    """The convergence test of the module docstring on the last two losses (``(B,)`` each)."""
    prev, last = prev.double(), last.double()
    loss_floor = ROUNDING_UNITS * unit * torch.maximum(prev.abs(), last.abs())
    if not bool(((prev - last).abs() <= torch.clamp(loss_floor, min=eps)).all()):
        return False
    residual, scale = engine.kkt_rows()
    return bool((residual <= torch.clamp(ROUNDING_UNITS * unit * scale, min=tau)).all())


class _Engine:
    """One way of advancing the agents: the generic act-then-DPM loop, one Python step per
    iteration (``blocks = False``: the planner records and tests halting after each step)."""

    blocks = False
    halted = False  # a block engine sets this when every agent has halted (satisficing)

    def __init__(self, problem: Problem, policy: AgentPolicy, X: torch.Tensor, types: TypesView,
                 method: Method) -> None:
        self.problem, self.policy, self.types, self.method = problem, policy, types, method
        policy.reset(problem, X)
        self.X = X
        self.inc = incentives(problem, X, types=types, method=method, validate=False)
        self.evaluations = 1

    @property
    def name(self) -> str:
        """The engine of the latest incentives: ``"analytic"``, ``"autograd"``, ``"batched"`` or ``"traced"``
        (``"auto"`` moves from batched to traced after a plan's first calls)."""
        return self.inc.engine

    loss = property(lambda self: self.inc.loss, doc="L at the current point, ``(B,)``.")
    G = property(lambda self: self.inc.G, doc="The incentives at the current point, ``(B, N, d)``.")

    def step(self, t: int) -> torch.Tensor:
        self.X, self.inc, n_evals = _step(self.problem, self.policy, self.X, self.inc, t, self.types, self.method)
        self.evaluations += n_evals
        return self.inc.loss

    def kkt_residual(self) -> float:
        return _kkt_residual(self.problem, self.X, self.inc.G)

    def kkt_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        return _kkt_rows(self.problem, self.X, self.inc.G)

    def snapshot(self) -> Any:
        return self.X, self.inc, self.evaluations  # new tensors every step: references suffice

    def restore(self, state: Any) -> None:
        self.X, self.inc, self.evaluations = state


class _FusedEngine(_Engine):
    """Gradient agents on the aggregative family through the in-place one-pass kernel, advanced
    a block of iterations at a time (``blocks = True``: up to the next stopping check, or the next
    recorded iteration when actions are recorded); on the CPU a block is one compiled call."""

    blocks = True

    def __init__(self, problem: Problem, policy: AgentPolicy, X: torch.Tensor, types: TypesView,
                 keep_last_finite: bool, backend: str,
                 all_reduce: Callable[[torch.Tensor], torch.Tensor] | None, step_size: Any = None) -> None:
        self.problem, self.policy, self.types = problem, policy, types
        policy.reset(problem, X)
        step_size = policy.step_size if step_size is None else step_size
        self.kernel = FusedAggregative(problem, step_size, X.contiguous(), types=types,
                                       backend=backend, reduce=all_reduce)
        self.keep_last_finite = keep_last_finite
        self.evaluations = 1
        self._name = f"fused-{self.kernel.backend}" + ("-loop" if self.kernel.compiled_loop else "")

    name = property(lambda self: self._name, doc="``fused-<backend>`` (``-loop``: the compiled loop).")

    def advance(self, k: int) -> torch.Tensor:
        self.evaluations += k
        return self.kernel.advance(k)

    @property
    def X(self) -> torch.Tensor:
        return self.kernel.X

    @property
    def loss(self) -> torch.Tensor:
        return self.kernel.loss

    @property
    def G(self) -> torch.Tensor:
        return self.kernel.incentives()

    def step(self, t: int) -> torch.Tensor:
        self.evaluations += 1
        return self.kernel.step()

    def whole_loop_pays(self, max_iters: int) -> bool:
        return self.kernel.whole_loop_pays(max_iters)

    def kkt_residual(self) -> float:
        return self.kernel.kkt_residual()

    def kkt_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.kernel.kkt_rows()

    def snapshot(self) -> Any:
        if not self.keep_last_finite:
            return None
        return self.kernel.X.clone(), self.kernel.S.clone(), self.kernel.Q.clone(), self.evaluations

    def restore(self, state: Any) -> None:
        if state is None:  # no copy kept: the state stays where it diverged (documented)
            return
        X, S, Q, self.evaluations = state
        self.kernel.X.copy_(X)
        self.kernel.S, self.kernel.Q = S, Q


class _RuleEngine(_FusedEngine):
    """Momentum (heavy ball, Nesterov), noisy and time-cost satisficing agents on the aggregative
    family through the compiled kernels of :mod:`mechanism.engines.rules`, a block of iterations
    per call; a block ends early where every agent has halted (:attr:`halted`)."""

    def __init__(self, problem: Problem, policy: AgentPolicy, X: torch.Tensor, types: TypesView) -> None:
        self.problem, self.policy, self.types = problem, policy, types
        policy.reset(problem, X)
        self.kernel = RuleKernel(problem, policy, X.contiguous(), types=types)
        self.evaluations = 1
        self._name = f"rule-numba-{self.kernel.rule}"

    halted = property(lambda self: self.kernel.halted, doc="Every agent has halted (satisficing).")

    def advance(self, k: int) -> torch.Tensor:
        block = self.kernel.advance(k)
        self.evaluations += block.shape[0]
        return block

    def whole_loop_pays(self, max_iters: int) -> bool:
        return False

    def kkt_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        return _kkt_rows(self.problem, self.X, self.G)

    def kkt_residual(self) -> float:
        return float(self.kkt_rows()[0].max())

    def snapshot(self) -> Any:
        return self.kernel.snapshot(), self.evaluations

    def restore(self, state: Any) -> None:
        self.kernel.restore(state[0])
        self.evaluations = state[1]


def _best_response_step(policy: AgentPolicy, problem: Problem, X: torch.Tensor) -> Any:
    """Simultaneous best responses are gradient steps with step ``α/h_i``: that step, for the fused kernel
    (one float when every agent has the same, so that the kernel that vectorises runs)."""
    policy.reset(problem, X)
    step = policy._inv_h.reshape(-1)
    return float(step[0]) if bool((step == step[0]).all()) else step


def _fused_reason(problem: Problem, policy: AgentPolicy) -> str | None:
    """Why no compiled kernel of the aggregative family runs this pair (None if one does): the gradient
    kernel (:mod:`mechanism.engines.fused`: :class:`GradientAgents`, and simultaneous
    :class:`BestResponseAgents` as gradient steps with step ``α/h_i``) or a rule kernel
    (:mod:`mechanism.engines.rules`)."""
    family = fused_unavailable_reason(problem, GradientAgents(1.0))
    if family is not None:
        return family
    if type(policy) is GradientAgents or (type(policy) is BestResponseAgents and policy.schedule == "simultaneous"):
        return None
    if rule_name(policy) is not None:
        return rule_kernel_unavailable_reason(problem, policy)
    detail = " (sequential)" if isinstance(policy, BestResponseAgents) else ""
    return (f"the fused kernels implement GradientAgents, simultaneous BestResponseAgents, MomentumAgents, "
            f"NoisyAgents and SatisficingAgents with a time cost; got {type(policy).__name__}{detail}: use "
            f"method='analytic' or 'autograd'")


def _make_engine(problem: Problem, policy: AgentPolicy, X: torch.Tensor, types: TypesView,
                 method: PlannerMethod, keep_last_finite: bool, backend: str,
                 all_reduce: Callable[[torch.Tensor], torch.Tensor] | None, max_iters: int = 0) -> _Engine:
    rule = rule_name(policy)
    if method == "auto" and _fused_reason(problem, policy) is None:
        # the same update rule, one pass per iteration, no autograd graph; a rule kernel (numba) only where
        # its compile pays. The choice depends on the arguments only (not on what this process compiled
        # before): the rule kernels agree with "analytic" to rounding, not bit for bit
        if rule is None or (backend != "torch" and max_iters * X.shape[0] >= RULE_MIN_ITERATIONS):
            method = "fused"
    if method == "fused":
        reason = _fused_reason(problem, policy)
        if reason is not None:
            raise InvalidParameterError(f"method='fused' is not available: {reason}")
        if rule is not None and backend == "torch":
            raise InvalidParameterError(f"backend='torch' runs the gradient kernel only; {type(policy).__name__} "
                                        f"has a numba kernel: pass backend='auto' or 'numba'")
        if rule is not None and all_reduce is None:
            return _RuleEngine(problem, policy, X, types)
        if isinstance(policy, BestResponseAgents):
            step = _best_response_step(policy, problem, X)
            return _FusedEngine(problem, policy, X, types, keep_last_finite, backend, all_reduce, step)
        if rule is not None:
            raise InvalidParameterError(f"all_reduce (sharded agents) runs gradient agents only, got {type(policy).__name__}")
        return _FusedEngine(problem, policy, X, types, keep_last_finite, backend, all_reduce)
    if all_reduce is not None:
        raise InvalidParameterError("all_reduce (sharded agents) needs method='fused'")
    return _Engine(problem, policy, X, types, method)


def _check_arguments(max_iters: int, record_every: int, check_every: int, eps: float, tau: float,
                     divergence_factor: float, policy: Any, method: Any) -> tuple[int, int, int]:
    max_iters = require_int_at_least("max_iters", max_iters, 0)
    record_every = require_int_at_least("record_every", record_every, 1)
    check_every = require_int_at_least("check_every", check_every, 1)
    require_nonnegative("eps", eps)
    require_nonnegative("tau", tau)
    require_positive("divergence_factor", divergence_factor)
    if not isinstance(policy, AgentPolicy):
        raise InvalidParameterError(f"policy must be an AgentPolicy, got {type(policy).__name__}")
    if method not in ("auto", "autograd", "analytic", "fused"):
        raise InvalidParameterError(f"method must be 'auto', 'autograd', 'analytic' or 'fused', got {method!r}")
    return max_iters, record_every, check_every


def _warn_on_dtype_change(problem: Problem, x0: Any) -> None:
    """Deprecation path: a floating ``x0`` wider than the problem's dtype is rounded silently today."""
    if isinstance(x0, torch.Tensor):
        dtype = x0.dtype
    elif isinstance(x0, np.ndarray) and x0.dtype.kind == "f":
        dtype = torch.from_numpy(np.zeros(0, dtype=x0.dtype)).dtype
    else:
        return
    if dtype.is_floating_point and torch.finfo(dtype).eps < torch.finfo(problem.dtype).eps:
        warnings.warn(f"x0 has dtype {dtype} but problem {problem.name!r} is {problem.dtype}: x0 is rounded "
                      f"(a later release will raise); pass x0 in {problem.dtype}", FutureWarning, stacklevel=3)


def _first_bad(losses: torch.Tensor, limit: float) -> int | None:
    """Index of the first row of ``losses`` (``(k, B)``) that is non-finite or above ``limit``."""
    bad = (~torch.isfinite(losses) | (losses.abs() > limit)).any(dim=1)
    return int(bad.nonzero()[0]) if bool(bad.any()) else None


def run_planner(problem: Problem, policy: AgentPolicy, x0: Any, *, max_iters: int = 10_000,
                eps: float = 1e-15, tau: float = 1e-10, types: TypesView = "belief",
                method: PlannerMethod = "auto", record_every: int = 1, record_actions: bool = True,
                divergence_factor: float = 1e12, progress: bool = False,
                check_every: int = DEFAULT_CHECK_EVERY, keep_last_finite: bool = True,
                backend: str = "auto", all_reduce: Callable[[torch.Tensor], torch.Tensor] | None = None
                ) -> PlannerResult:
    """Run Algorithm 1: agents act on DPM incentives until convergence, satisficing, divergence
    or the iteration budget.

    Args:
        problem: the Planner's problem; incentives are computed under ``types`` (its belief by
            default). All tensors stay on ``problem.device`` in ``problem.dtype``.
        policy: the agents (:mod:`mechanism.core.agents`).
        x0: starting joint action (``(B, N, d)``, ``(N, d)`` or ``(N,)``); validated once here
            (shape, device, NaN/inf) and projected onto the box. It is converted to
            ``problem.dtype``: exactly when that is wider (a float32 start, e.g.
            ``torch.tensor([1.0, -1.0])``, on a float64 problem: the run is float64); a start in a
            wider float dtype than the problem's would be rounded, which gives a ``FutureWarning``
            naming both dtypes and will raise in a later release (pass ``x0.to(problem.dtype)``).
        max_iters: iteration budget (≥ 0); ``0`` evaluates the start only (loss and incentives
            at the projected ``x0``, ``iterations = 0``, status ``"budget_exhausted"``).
        eps, tau: stop when the loss change ≤ ``eps`` and the KKT residual ≤ ``tau`` in every
            batch row, each tolerance floored at the rounding level of its quantity (module
            docstring); ``eps = tau = 0``: no convergence test (a fixed budget).
        method: ``"fused"``: gradient agents on the aggregative family in one in-place pass
            per iteration (:mod:`mechanism.engines.fused`; its loss is float64 whatever the storage
            dtype; on the CPU the iterations between two stopping checks run in one compiled
            call), and the other rules the compiled kernels cover (below; it raises with the
            reason for any other pair); ``"analytic"``/``"autograd"``: the DPM path of
            :func:`mechanism.core.dpm.incentives` then ``policy.act``. ``"auto"`` (default) picks
            the fastest engine that computes the same iterates: ``"fused"`` whenever it applies
            (a problem of the aggregative fused family with plain :class:`GradientAgents` or
            simultaneous :class:`BestResponseAgents`: the same update ``x ← Π(x + ηG)``, ``η = α/h``
            for best responses, with ``G`` in closed form, agreeing with autograd to rounding
            (tested to 1e-12) at one pass over memory per iteration and no Python per iteration);
            for :class:`MomentumAgents`, :class:`NoisyAgents` and :class:`SatisficingAgents` with a
            time cost on that family in float64 on the CPU, the compiled rule kernel of
            :mod:`mechanism.engines.rules` (12–118× faster than ``"analytic"`` measured at
            N = 1e3–1e6, 1.4–3.4× for noisy agents, whose torch noise draw is the floor;
            docs/scale.md "Other agent rules"; iterates equal to rounding, tested to 1e-12) when
            the run is long enough to pay its one-off compile (``max_iters × B ≥
            RULE_MIN_ITERATIONS`` = 5,000; the choice depends on the arguments only, so the same
            call gives the same bits in any process); otherwise ``"analytic"`` when the problem
            has a closed-form gradient, else ``"autograd"``. ``result.engine`` says which ran.
        record_every: history stride (the first and last iterations are always recorded).
        record_actions: also record actions and incentives (memory ``T·B·N·d``).
        divergence_factor: the loss counts as exploding above ``factor · max(1, |L_0|)``.
        progress: show a tqdm progress bar.
        check_every: run the stopping tests (a host sync; the KKT residual is one more pass
            over X) every this many iterations.
        keep_last_finite: fused gradient kernel only: keep a copy of X at each check so that a
            diverged run returns the last checked finite state (costs one copy per check and 2×
            memory; ``False`` returns the state where divergence was found). The rule kernels,
            like the analytic path, always keep it.
        backend: fused method only: ``"auto"``, ``"numba"`` (CPU) or ``"torch"`` (the gradient
            kernel only: the rule kernels are numba).
        all_reduce: fused method only: sums partial sums over processes (set by
            :mod:`mechanism.engines.distributed`, where ``problem`` and ``x0`` hold one rank's agents).
    """
    max_iters, record_every, check_every = _check_arguments(
        max_iters, record_every, check_every, eps, tau, divergence_factor, policy, method)
    _warn_on_dtype_change(problem, x0)
    X = problem.project(problem.as_actions(x0, "x0"))
    start = time.perf_counter()
    engine = _make_engine(problem, policy, X, types, method, keep_last_finite, backend, all_reduce, max_iters)
    limit = divergence_factor * max(1.0, float(engine.loss.abs().max()))
    record = _Recorder(record_every, record_actions)
    record(0, engine)
    status: Status = "budget_exhausted"
    diverged_at, t = None, 0
    checked_t, checked_state, prev_loss = 0, engine.snapshot(), engine.loss.unsqueeze(0)
    pending: list[torch.Tensor] = []  # (k, B) losses of the iterations since the last check
    can_halt = type(policy).all_halted is not AgentPolicy.all_halted
    test_convergence, unit = not (eps == 0 and tau == 0), torch.finfo(problem.dtype).eps
    bar = _progress_bar(max_iters, problem.name) if progress else None
    python_loop = not (engine.blocks and not record_actions and bar is None and engine.whole_loop_pays(max_iters))
    if not python_loop:
        # the whole loop below, in one compiled call (FusedAggregative.run_planner_loop; bit-identical)
        out = engine.kernel.run_planner_loop(max_iters, check_every, record_every, limit, eps, tau,
                                             ROUNDING_UNITS * unit, keep_last_finite, test_convergence)
        for i, row in zip(out["record_iterations"], out["record_losses"]):
            record.add_loss(int(i), torch.from_numpy(row))
        status, t, diverged_at = out["status"], out["iterations"], out["diverged_at"]
        kept = keep_last_finite or status != "diverged"
        engine.evaluations = 1 + (t if kept else out["kernel_iterations"])
    while python_loop and t < max_iters:
        end = min(max_iters, (t // check_every + 1) * check_every)  # the next stopping check
        if engine.blocks:  # iterations t+1..end in one call; a block ends where X must be recorded
            if record_actions:
                end = min(end, (t // record_every + 1) * record_every)
            block = engine.advance(end - t)
            end = t + block.shape[0]  # earlier than asked only where every agent has halted
            pending.append(block)
            for i in range((t // record_every + 1) * record_every, end, record_every):
                record.add_loss(i, block[i - t - 1])
            t = end
            if t % record_every == 0:
                record(t, engine)
            if bar is not None:
                bar.update(block.shape[0])
            if engine.halted:
                status = "satisficed"
                break
        else:
            for t in range(t + 1, end + 1):
                pending.append(engine.step(t).unsqueeze(0))
                if t % record_every == 0:
                    record(t, engine)
                if bar is not None:
                    bar.update(1)
                if can_halt and policy.all_halted():
                    status = "satisficed"
                    break
            if status == "satisficed":
                break
        if t % check_every and t != max_iters:
            continue
        losses = torch.cat([prev_loss] + pending).detach().cpu()
        bad = _first_bad(losses[1:], limit)
        if bad is not None:
            status, diverged_at = "diverged", checked_t + bad + 1
            engine.restore(checked_state)
            record.truncate(checked_t)
            t = checked_t
            break
        checked_t, checked_state, prev_loss, pending = t, engine.snapshot(), pending[-1][-1:], []
        if test_convergence and _converged(losses[-2], losses[-1], engine, eps, tau, unit):
            status = "converged"
            break
    if bar is not None:
        bar.close()
    record(t, engine, force=True)
    kkt = engine.kkt_residual()
    return PlannerResult(status=status, X=engine.X, loss=engine.loss, G=engine.G, iterations=t,
                         evaluations=engine.evaluations, wall_seconds=time.perf_counter() - start,
                         history=record.history(), diverged_at=diverged_at, kkt_residual=kkt,
                         engine=engine.name)


def _step(problem: Problem, policy: AgentPolicy, X: torch.Tensor, inc: Incentives, t: int,
          types: TypesView, method: Method) -> tuple[torch.Tensor, Incentives, int]:
    """One forward/backward iteration; sequential policies get a reverse pass per agent."""
    if policy.schedule == "simultaneous":
        X_new = policy.act(X, inc.G, t)
        return X_new, incentives(problem, X_new, types=types, method=method, validate=False), 1
    X_new, current, evals = X.clone(), inc, 0
    for i in range(problem.n_agents):
        proposal = policy.act(X_new, current.G, t)
        X_new[:, i] = proposal[:, i]
        current = incentives(problem, X_new, types=types, method=method, validate=False)
        evals += 1
    return X_new, current, evals


def _progress_bar(total: int, label: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"planner[{label}]", leave=False, mininterval=0.5)
