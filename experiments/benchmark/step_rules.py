"""Step-size rules for the MBI contenders that use no oracle, and the labelled oracle.

* :class:`ArmijoPlannerPolicy`: the Planner picks one step η_t per iteration by backtracking
  (Armijo) on the loss L it evaluates anyway. Each trial ``L(Π(X + η G))`` is one forward loss
  evaluation, counted in ``extra_evaluations`` (start at 2·η_{t−1}, halve until
  ``L(Π(X + ηG)) ≤ L(X) − 1e-4·G·(Π(X + ηG) − X) + 1e-14·|L(X)|``, at most 60 trials; the last
  term only absorbs rounding at the optimum). The Planner publishes η_t with the incentives;
  agents step ``x_i ← Π_i(x_i + η_t G_i)``.
* :class:`AdaptiveStepAgents`: each agent adapts its own step from its own incentive history
  only (Rprop-/delta-bar-delta style): ``η_i ← 1.2 η_i`` while the sign of ``G_i`` is unchanged
  from the last step, ``η_i ← 0.5 η_i`` when it flips, unchanged when ``G_i = 0``; then
  ``x_i ← Π_i(x_i + η_i G_i)``. The first step uses the paper's η. No agent sees another's G.
* :func:`oracle_step`: ``0.95 · 2/λ_max(∇²L)`` from the exact Hessian (knowledge no agent has),
  with its cost: seconds and gradient-equivalent evaluations (one per Hessian-vector product;
  a dense Hessian of n variables counts n).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

import mbi_envs
from mechanism import GradientAgents, stability_limit

__all__ = ["ArmijoPlannerPolicy", "AdaptiveStepAgents", "oracle_step", "STABLE_FRACTION", "ADAPTIVE_UP",
           "ADAPTIVE_DOWN", "ARMIJO_C"]

STABLE_FRACTION = 0.95
ADAPTIVE_UP, ADAPTIVE_DOWN = 1.2, 0.5
ARMIJO_C, ARMIJO_GROW, ARMIJO_SHRINK, ARMIJO_MAX_TRIALS = 1e-4, 2.0, 0.5, 60


class AdaptiveStepAgents(GradientAgents):
    """Gradient agents with an agent-local adaptive step (rule in the module docstring)."""

    def __init__(self, step_size: Any, up: float = ADAPTIVE_UP, down: float = ADAPTIVE_DOWN) -> None:
        super().__init__(step_size)
        if not (up >= 1.0 and 0.0 < down < 1.0):
            raise ValueError(f"need up >= 1 and 0 < down < 1, got up={up!r}, down={down!r}")
        self.up, self.down = float(up), float(down)

    def reset(self, problem, X0: torch.Tensor) -> None:
        super().reset(problem, X0)
        self._eta = torch.broadcast_to(torch.as_tensor(self._eta, dtype=X0.dtype), X0.shape).clone()
        self._last_sign = torch.zeros_like(X0)

    def act(self, X: torch.Tensor, G: torch.Tensor, t: int) -> torch.Tensor:
        sign = torch.sign(G)
        agree = sign * self._last_sign
        factor = torch.where(agree > 0, self.up, torch.where(agree < 0, self.down, 1.0))
        self._eta = self._eta * factor
        self._last_sign = sign
        return self._project(X + self._eta * G)


class ArmijoPlannerPolicy(mbi_envs.MBIPolicy):
    """MBI agents with a Planner-side Armijo backtracking line search on L (counted).

    The Planner searches on the loss in force now (``env.problem`` at each step): after a
    dynamic target's switch that is the new loss, which the Planner defines."""

    def __init__(self, initial_step: float) -> None:
        super().__init__(GradientAgents(1.0))
        self.initial_step = float(initial_step)
        self.extra_evaluations = 0
        self.steps_used: list[float] = []

    def reset(self, env: Any, seed: int | None = None) -> None:
        super().reset(env, seed)
        self._env = getattr(env, "unwrapped", env)
        self._eta, self.extra_evaluations, self.steps_used = self.initial_step, 0, []

    def act(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        O = np.stack([np.asarray(observations[a], dtype=np.float64) for a in self._names])
        X = torch.from_numpy(O[:, self._x]).reshape(self._shape)
        G = torch.from_numpy(O[:, self._g]).reshape(self._shape)
        problem = self._env.problem  # the loss in force now (a dynamic target switches it)
        loss_x = float(problem.loss(X)[0])
        self.extra_evaluations += 1  # L(X) is in the env's info, but the Planner here recomputes it: counted
        eta = self._eta * ARMIJO_GROW
        for _ in range(ARMIJO_MAX_TRIALS):
            cand = problem.project(X + eta * G)
            self.extra_evaluations += 1
            decrease = float((G * (cand - X)).sum())  # = −∇L·(x⁺ − x) ≥ 0 for a projected ascent step on −L
            # slack of 1e-14·|L|: at the optimum rounding alone must not force 60 halvings
            if float(problem.loss(cand)[0]) <= loss_x - ARMIJO_C * decrease + 1e-14 * abs(loss_x):
                break
            eta *= ARMIJO_SHRINK
        self._eta = eta
        self.steps_used.append(eta)
        return dict(zip(self._names, cand[0].numpy()))


def oracle_step(env: Any, fraction: float = STABLE_FRACTION, samples: int = 16, seed: int = 0) -> tuple[float, dict]:
    """``fraction · 2/λ_max``, the smallest over the start state and, for ≤ 10 variables, ``samples``
    seeded points of the action box (the Hessian of a non-convex loss varies). Returns the step and
    its cost ``{"seconds", "hessian_points", "gradient_equivalent_evaluations"}``."""
    problem = env.problem
    began = time.perf_counter()
    points = [torch.as_tensor(env.X)]
    if problem.n_agents * problem.action_dim <= 10:
        rng = np.random.default_rng(seed)
        points += [torch.as_tensor(rng.uniform(env.action_low, env.action_high)) for _ in range(samples)]
    counter = _LossCounter(problem)
    with counter:
        limits = [stability_limit(problem, p) for p in points]
    n = problem.n_agents * problem.action_dim
    # dense Hessian (n ≤ 256): n reverse passes per point; Lanczos: one loss call per Hessian-vector product
    evaluations = len(points) * n if n <= 256 else counter.calls
    return fraction * min(limits), {"seconds": time.perf_counter() - began, "hessian_points": len(points),
                                    "gradient_equivalent_evaluations": int(evaluations)}


class _LossCounter:
    """Counts ``problem.loss`` calls inside a ``with`` block (instance attribute, restored after)."""

    def __init__(self, problem: Any) -> None:
        self.problem, self.calls = problem, 0

    def __enter__(self) -> "_LossCounter":
        original = self.problem.loss

        def counted(*args: Any, **kwargs: Any):
            self.calls += 1
            return original(*args, **kwargs)

        self.problem.loss = counted
        return self

    def __exit__(self, *exc: Any) -> None:
        del self.problem.loss
