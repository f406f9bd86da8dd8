"""Compiled kernels for the other agent rules on the aggregative family (issue 21).

On ``L(x) = (Σ_j x_j + c − Y)² + Σ_j λ_j x_j²`` the incentive is ``G_i = −(2r + 2λ_i x_i)`` with
``r = Σ_j x_j + c − Y`` the one number that couples the agents (:mod:`.fused`). So each rule of
:mod:`mechanism.core.agents` is one pass over the agents that updates them in place and sums the
next ``S = Σx`` and ``Q = Σλx²`` on the way, ``k`` iterations per compiled numba call:

* heavy ball ``v ← βv + ηG, x' ← Π(x + v), v ← x' − x`` (:class:`MomentumAgents`);
* Nesterov ``z ← Π(y + ηG(y)), y ← Π(z + β(z − z_prev))`` (``nesterov=True``);
* noise ``x ← Π(x + ηG + σε)`` (:class:`NoisyAgents`): numba's generator is not torch's, so the
  kernel takes the noise **pre-drawn by torch** from the policy's own generator, one
  ``normal_`` call per iteration in the order :meth:`NoisyAgents.act` draws it (the same stream);
* satisficing with a time cost ρ (:class:`SatisficingAgents` with ``time_cost``): each agent
  steps while its predicted gain ``G·Δx − ½hΔx²`` exceeds ``ρ(T+1) − ρT`` and then halts for good;
  its effort ``T`` and stop time live in the policy's own ``steps_taken``/``stop_time`` tensors,
  updated in place, and a block ends at the iteration where every agent has halted.

(Simultaneous best responses are gradient steps with step ``α/h_i``: the planner runs them on the
gradient kernel of :mod:`.fused` itself.) Each update is written in the same IEEE operations and
order as the policy's ``act`` (without FMA contraction; the satisficing kernel without any fast-math
flag, so that ``ρ(T+1) − ρT`` is computed as the policy computes it); only the sums ``S`` and ``Q`` are added in
another order than torch's, so the iterates agree with ``method="analytic"`` to rounding (tested to
1e-12 relative), not bit for bit. float64 on the CPU only. Measured against the analytic path and
an in-place torch path in ``scripts/bench_agent_rules.py`` (docs/scale.md, "Other agent rules").

The kernels themselves are in :mod:`.rule_kernels` (imported on first use): the serial builds are
cached on disk by numba where the fused step's are, so a later process loads them instead of
compiling them, and computes the same bits (``tests/test_rule_cache.py``).
"""
from __future__ import annotations

from typing import Any

import torch

from ..errors import InvalidParameterError
from .fused import CHUNK, PARALLEL_MIN_CHUNKS, _compact, numba_available

__all__ = ["RuleKernel", "rule_kernel_unavailable_reason", "rule_name", "RULE_MIN_ITERATIONS"]

# Below this many iterations (times batch rows) run_planner's method="auto" keeps the analytic path:
# the compile (about 1-2 s per rule on 2 loaded cores, results/speed/agent_rules.json; less once numba's
# disk cache holds the serial kernels, results/speed/rule_cache.json) costs more than a short run saves
# (about 0.1 ms per iteration at N <= 1e4).
RULE_MIN_ITERATIONS = 5_000


def rule_name(policy: Any) -> str | None:
    """The kernel of ``policy``: ``"heavy_ball"``, ``"nesterov"``, ``"noisy"``, ``"satisficing"``, or None."""
    from ..core.agents import LinearEffort, MomentumAgents, NoisyAgents, SatisficingAgents

    if type(policy) is MomentumAgents:
        return "nesterov" if policy.nesterov else "heavy_ball"
    if type(policy) is NoisyAgents:
        return "noisy"
    if type(policy) is SatisficingAgents and isinstance(policy.effort_cost, LinearEffort):
        return "satisficing"
    return None


def rule_kernel_unavailable_reason(problem: Any, policy: Any) -> str | None:
    """Why :class:`RuleKernel` cannot run this problem/policy pair (None if it can)."""
    if getattr(problem, "fused_family", None) != "aggregative":
        return f"problem {problem.name!r} registers no fused family (only the aggregative family does)"
    if rule_name(policy) is None:
        return (f"the compiled rule kernels implement MomentumAgents, NoisyAgents and SatisficingAgents "
                f"with a time cost; got {type(policy).__name__}")
    if problem.dtype != torch.float64:
        return f"the compiled rule kernels are float64 only; problem {problem.name!r} is {problem.dtype}"
    if problem.device.type != "cpu":
        return f"the compiled rule kernels run on the CPU; problem {problem.name!r} is on {problem.device}"
    if not numba_available():  # pragma: no cover - numba is a dependency
        return "numba is not installed"
    return None


def rule_kernel_compiled(rule: str) -> bool:
    """Whether this process has already compiled (or loaded from the disk cache) the serial kernel
    of ``rule``."""
    return bool(_kernels(1)["loop_" + rule].signatures)


def _kernels(n: int) -> dict[str, Any]:
    """The rule kernels (:mod:`.rule_kernels`, imported on first use: importing this module does not
    import numba) for an array of ``n`` values: parallel over chunks for large arrays, serial (and
    cached on disk) for small ones; the same chunks and order of partial sums either way."""
    from .rule_kernels import KERNELS

    return KERNELS["parallel" if n >= PARALLEL_MIN_CHUNKS * CHUNK else "serial"]


def _flat(t: torch.Tensor, n: int) -> Any:
    """A per-agent coefficient as the kernels take it: one float when every agent has the same value
    (numba compiles a kernel for it that vectorises: 5× faster than indexing an array, measured), else
    the ``(N,)`` numpy array."""
    flat = _compact(t.reshape(-1).to(torch.float64), n)
    if flat.numel() == 1 or bool((flat == flat[0]).all()):
        return float(flat[0])
    return flat.cpu().numpy()


class RuleKernel:
    """One of the rules of :func:`rule_name` on an aggregative float64 problem, advanced in place.

    Args:
        problem: an aggregative problem (:func:`rule_kernel_unavailable_reason` is None).
        policy: the agents, **already reset** on ``problem`` and ``X`` (their private step sizes,
            curvatures, generator and state are read from it; the momentum, Nesterov and
            satisficing state tensors are updated in place, as ``policy.act`` would leave them).
        X: the starting joint action ``(B, N, 1)``, contiguous; **updated in place**.
        types: the Planner's ``"belief"`` (default) or the ``"true"`` types.

    After :meth:`advance`, :attr:`loss` is ``L`` at the new point (float64, ``(B,)``) and
    :attr:`halted` says whether every agent has halted (satisficing only).
    """

    def __init__(self, problem: Any, policy: Any, X: torch.Tensor, *, types: str = "belief") -> None:
        reason = rule_kernel_unavailable_reason(problem, policy)
        if reason is not None:
            raise InvalidParameterError(f"RuleKernel cannot run this pair: {reason}")
        if X.ndim != 3 or tuple(X.shape[1:]) != (problem.n_agents, 1) or not X.is_contiguous():
            raise InvalidParameterError(f"the rule kernels need a contiguous X of shape (B, N, 1), got {tuple(X.shape)}")
        import numpy as np

        n = problem.n_agents
        data = problem.data(types)
        self.problem, self.policy, self.rule, self.X = problem, policy, rule_name(policy), X
        self.shift = float(data["offset"]) - float(data["Y"])
        self._lam = _compact(data["lam"].reshape(-1), n)
        self._c = {"eta": _flat(policy._eta, n), "lam": _flat(data["lam"], n),
                   "lo": _flat(problem.lower, n), "hi": _flat(problem.upper, n)}
        self._rows = X.detach().numpy().reshape(X.shape[0], n)
        if self.rule == "heavy_ball":
            self._state = [policy._velocity.numpy().reshape(X.shape[0], n)]
        elif self.rule == "nesterov":
            self._state = [policy._z_prev.numpy().reshape(X.shape[0], n)]
        elif self.rule == "satisficing":
            self._c["h"] = _flat(policy._h, n)
            self._state = [policy.steps_taken.numpy(), policy.stop_time.numpy()]
        self.halted = self.rule == "satisficing" and policy.all_halted()
        self._callees_loaded = False
        s = self._rows.sum(axis=1, dtype=np.float64)  # the start's sums (then the kernels' own)
        lam = self._c["lam"]
        q = ((lam if isinstance(lam, float) else lam[None, :]) * self._rows * self._rows).sum(axis=1)
        self.S, self.Q = torch.from_numpy(np.ascontiguousarray(s)), torch.from_numpy(np.ascontiguousarray(q))

    @property
    def loss(self) -> torch.Tensor:
        """``L = r² + Σ λ_i x_i²`` at the current point, float64, ``(B,)``."""
        return (self.S + self.shift) ** 2 + self.Q

    def advance(self, k: int) -> torch.Tensor:
        """Up to ``k`` iterations in place; returns the loss after each, ``(k', B)`` float64, where
        ``k' < k`` only when every agent halted (satisficing) at iteration ``k'`` of the block."""
        import numpy as np

        B, n = self._rows.shape
        if self.halted or k == 0:
            return torch.empty(0, B, dtype=torch.float64)
        s_out, q_out = np.empty((B, k)), np.empty((B, k))
        loop = _kernels(n)["loop_" + self.rule]
        S = self.S.tolist()
        noise_rows = None
        if self.rule == "noisy":
            noise = torch.empty(k, B, n, 1, dtype=torch.float64)
            for j in range(k):  # the policy's draws, in its order: one (B, N, 1) normal per iteration
                noise[j].normal_(generator=self.policy._rng)
            noise_np = noise.numpy().reshape(k, B, n)
            noise_rows = [noise_np[:, 0]] if B == 1 else [np.ascontiguousarray(noise_np[:, b]) for b in range(B)]
        self._load_callees(self._row_arguments(0, noise_rows))
        done = [loop(*self._row_arguments(b, noise_rows), self.shift, S[b], k, CHUNK, s_out[b], q_out[b])
                for b in range(B)]
        used = k
        if self.rule == "satisficing" and min(done) >= 0:  # every row has halted: the run stops there
            used, self.halted = max(done), True
        S_all, Q_all = torch.from_numpy(s_out[:, :used]).T, torch.from_numpy(q_out[:, :used]).T
        self.S, self.Q = S_all[-1].clone(), Q_all[-1].clone()
        return (S_all + self.shift) ** 2 + Q_all

    def _row_arguments(self, b: int, noise_rows: Any) -> tuple[Any, ...]:
        """What ``loop_<rule>`` takes for batch row ``b`` before ``shift, s, k, chunk, s_out, q_out``:
        the rule's step kernel takes the same with ``r, chunk`` after (and one noise row)."""
        c = self._c
        coefficients = (c["eta"], c["lam"], c["lo"], c["hi"])
        if self.rule in ("heavy_ball", "nesterov"):
            return (self._rows[b], self._state[0][b], *coefficients, self.policy.beta)
        if self.rule == "noisy":
            return (self._rows[b], noise_rows[b], *coefficients, self.policy.noise_std)
        return (self._rows[b], self._state[0][b], self._state[1][b], *coefficients, c["h"],
                self.policy.effort_cost.rho)

    def _load_callees(self, loop_arguments: tuple[Any, ...]) -> None:
        """Load (from numba's disk cache, or compile) the rule's step kernel with the argument types
        its loop passes it, before the loop kernel is loaded: a loop loaded from the cache first
        would run its own linked copy of the step, which may differ in the last bits; with the step
        loaded first it runs the step's code, as a freshly compiled loop does (as
        :meth:`mechanism.engines.fused.FusedAggregative._load_callees`; tested bit for bit)."""
        if self._callees_loaded:
            return
        import numba

        step_arguments = list(loop_arguments)
        if self.rule == "noisy":
            step_arguments[1] = step_arguments[1][0]  # the loop passes one iteration's draws
        step_arguments += [0.0, CHUNK]  # r (a float64) and the chunk length
        _kernels(self._rows.shape[1])[self.rule].compile(tuple(numba.typeof(a) for a in step_arguments))
        self._callees_loaded = True

    def incentives(self) -> torch.Tensor:
        """``G = −(2r + 2λx)`` at the current point, ``(B, N, 1)`` (allocates N)."""
        r = (self.S + self.shift).reshape(-1, 1, 1)
        return -(2.0 * r + 2.0 * self._lam.reshape(1, -1, 1) * self.X)

    def snapshot(self) -> Any:
        """A copy of the iterate and its sums (the rule's own state is not rolled back, as in the
        planner's generic path)."""
        return self.X.clone(), self.S.clone(), self.Q.clone()

    def restore(self, state: Any) -> None:
        """Go back to a :meth:`snapshot`."""
        X, S, Q = state
        self.X.copy_(X)
        self.S, self.Q = S, Q
