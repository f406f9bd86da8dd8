"""Incentive-driven agents.

A policy object holds a population of agents and updates them all at once, but every update is
*element-wise*: agent i's new action depends only on its own action ``x_i``, its own incentive
``G_i = −∂L/∂x_i``, its own history and its own private information (step size, curvature,
effort cost, bounds). No agent reads another agent's action or incentive.

Policies (all project onto each agent's box after the update):

* :class:`GradientAgents`: the paper's rule ``x_i ← Π(x_i + η_i G_i)``.
* :class:`MomentumAgents`: heavy ball ``v_i ← β v_i + η_i G_i, x_i ← Π(x_i + v_i)``, or Nesterov
  (the agent executes the look-ahead point and receives its incentive there).
* :class:`BestResponseAgents`: ``x_i ← Π(x_i + α G_i / h_i)`` with ``h_i = ∂²L/∂x_i²`` the agent's own
  curvature: the exact maximiser of its utility given the others when L is quadratic in x_i.
* :class:`NoisyAgents`: gradient plus Gaussian noise ``σ ε_i`` (the paper's C.9), seeded.
* :class:`SatisficingAgents`: gradient steps while the predicted gain of one more step exceeds
  the marginal effort cost ``κ(T+1) − κ(T)`` (``= ρ`` for a time cost ρ per step); then the
  agent halts for good, having chosen its own ``T*`` (the paper's Theorem 2).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Literal

import torch

from ..errors import InvalidParameterError, ShapeMismatchError, require_nonnegative, require_positive
from .problem import Problem

__all__ = ["AgentPolicy", "GradientAgents", "MomentumAgents", "BestResponseAgents",
           "NoisyAgents", "SatisficingAgents"]


class AgentPolicy(ABC):
    """A population of decentralised agents acting on their own incentives.

    ``reset(problem, X0)`` binds the policy to a problem (its bounds and private information)
    and clears internal state; ``act(X, G, t)`` returns the next joint action from the current
    one and the incentives ``G`` at it (both ``(B, N, d)``), ``t`` being the iteration (from 1).
    ``schedule`` tells the planner whether agents move together (``"simultaneous"``) or one
    after another with a fresh reverse pass in between (``"sequential"``).
    """

    schedule: Literal["simultaneous", "sequential"] = "simultaneous"

    def reset(self, problem: Problem, X0: torch.Tensor) -> None:
        """Bind to ``problem`` and clear state; ``X0`` is the starting joint action."""
        self.problem = problem
        self._lower = problem.lower.unsqueeze(0)
        self._upper = problem.upper.unsqueeze(0)

    @abstractmethod
    def act(self, X: torch.Tensor, G: torch.Tensor, t: int) -> torch.Tensor:
        """Next joint action ``(B, N, d)`` from actions ``X`` and incentives ``G``."""

    def all_halted(self) -> bool:
        """True when every agent has chosen to stop (only satisficing agents ever do)."""
        return False

    def _project(self, X: torch.Tensor) -> torch.Tensor:
        return torch.clamp(X, self._lower, self._upper)

    def _per_agent(self, name: str, value: Any, problem: Problem) -> torch.Tensor:
        """Broadcast a scalar, ``(N,)`` or ``(N, d)`` parameter to ``(1, N, d)``."""
        N, d = problem.n_agents, problem.action_dim
        t = torch.as_tensor(value, dtype=problem.dtype, device=problem.device)
        if t.ndim == 1 and t.shape[0] == N:
            t = t.reshape(N, 1)
        try:
            return t.expand(N, d).reshape(1, N, d)
        except RuntimeError:
            raise ShapeMismatchError(f"{name} must be a scalar, ({N},) or ({N}, {d}); got shape "
                                     f"{tuple(t.shape)}") from None


class GradientAgents(AgentPolicy):
    """The paper's rule: ``x_i ← Π_i(x_i + η_i G_i)`` with per-agent step sizes ``η_i > 0``."""

    def __init__(self, step_size: Any) -> None:
        require_positive("step_size", step_size)
        self.step_size = step_size

    def reset(self, problem: Problem, X0: torch.Tensor) -> None:
        super().reset(problem, X0)
        self._eta = self._per_agent("step_size", self.step_size, problem)

    def act(self, X: torch.Tensor, G: torch.Tensor, t: int) -> torch.Tensor:
        return self._project(X + self._eta * G)


class MomentumAgents(GradientAgents):
    """Accelerated agents using only their own incentive history.

    Heavy ball: ``v ← β v + η G; x ← Π(x + v)``. Nesterov (``nesterov=True``): the agent keeps
    ``z ← Π(y + η G(y))`` and executes the look-ahead ``y ← z + β (z − z_prev)``, so the incentive
    it receives is evaluated where it acts.
    """

    def __init__(self, step_size: Any, beta: float = 0.9, nesterov: bool = False) -> None:
        super().__init__(step_size)
        if not 0.0 <= float(beta) < 1.0:
            raise InvalidParameterError(f"beta must be in [0, 1), got {beta!r}")
        self.beta, self.nesterov = float(beta), bool(nesterov)

    def reset(self, problem: Problem, X0: torch.Tensor) -> None:
        super().reset(problem, X0)
        self._velocity = torch.zeros_like(X0)
        self._z_prev = X0.clone()

    def act(self, X: torch.Tensor, G: torch.Tensor, t: int) -> torch.Tensor:
        if self.nesterov:
            z = self._project(X + self._eta * G)
            y = self._project(z + self.beta * (z - self._z_prev))
            self._z_prev = z
            return y
        self._velocity = self.beta * self._velocity + self._eta * G
        new = self._project(X + self._velocity)
        self._velocity = new - X  # what was actually executed after projection
        return new


class BestResponseAgents(AgentPolicy):
    """Exact best responses for utilities quadratic in the agent's own action.

    ``x_i ← Π_i(x_i + α G_i / h_i)`` where ``h_i = ∂²L/∂x_i²`` is agent i's own curvature (private
    information; taken from the problem if not given) and ``α`` a damping factor (1 = exact best
    response). With ``schedule="simultaneous"`` all agents respond to the same incentives
    (Jacobi: unstable on the symmetric problem once N ≥ 3); ``"sequential"`` lets them respond
    one after another with a fresh reverse pass each (Gauss–Seidel, N passes per iteration).
    """

    def __init__(self, curvature: Any = None, damping: float = 1.0,
                 schedule: Literal["simultaneous", "sequential"] = "simultaneous") -> None:
        if curvature is not None:
            require_positive("curvature", curvature)
        require_positive("damping", damping)
        if schedule not in ("simultaneous", "sequential"):
            raise InvalidParameterError(f"schedule must be 'simultaneous' or 'sequential', got {schedule!r}")
        self.curvature, self.damping, self.schedule = curvature, float(damping), schedule

    def reset(self, problem: Problem, X0: torch.Tensor) -> None:
        super().reset(problem, X0)
        h = self.curvature if self.curvature is not None else problem.curvature(X0)
        require_positive("curvature", h)
        self._inv_h = self.damping / self._per_agent("curvature", h, problem)

    def act(self, X: torch.Tensor, G: torch.Tensor, t: int) -> torch.Tensor:
        return self._project(X + self._inv_h * G)


class NoisyAgents(GradientAgents):
    """Gradient agents with Gaussian execution noise: ``x_i ← Π_i(x_i + η_i G_i + σ ε_i)``, ε ~ N(0, 1).

    ``noise_std`` is σ (the paper's C.9 uses σ² = 5e-7). The noise is drawn from a
    ``torch.Generator`` seeded by ``seed`` at every ``reset``.
    """

    def __init__(self, step_size: Any, noise_std: float, seed: int = 0) -> None:
        super().__init__(step_size)
        require_nonnegative("noise_std", noise_std)
        self.noise_std, self.seed = float(noise_std), int(seed)

    def reset(self, problem: Problem, X0: torch.Tensor) -> None:
        super().reset(problem, X0)
        self._rng = torch.Generator(device=problem.device).manual_seed(self.seed)

    def act(self, X: torch.Tensor, G: torch.Tensor, t: int) -> torch.Tensor:
        noise = torch.randn(X.shape, generator=self._rng, dtype=X.dtype, device=X.device)
        return self._project(X + self._eta * G + self.noise_std * noise)


class LinearEffort:
    """The effort cost of a constant time cost ρ per step: ``κ(T) = ρ T`` (a picklable callable)."""

    def __init__(self, rho: float) -> None:
        self.rho = float(rho)

    def __call__(self, T: torch.Tensor) -> torch.Tensor:
        return self.rho * T

    def __repr__(self) -> str:
        return f"LinearEffort(rho={self.rho!r})"


class SatisficingAgents(GradientAgents):
    """Boundedly rational gradient agents that choose when to stop (the paper's Theorem 2).

    Before its step number ``T+1`` agent i predicts the gain of taking it, from its own
    incentive, step and curvature:

        gain_i = G_i·Δx_i − ½ h_i ‖Δx_i‖²,    Δx_i = Π_i(x_i + η_i G_i) − x_i

    (exact for a loss quadratic in x_i with the others fixed; ``h_i = 0`` gives the first-order
    estimate). It takes the step only if ``gain_i > κ(T+1) − κ(T)``; otherwise it halts for good
    at ``T_i* = T``. With a time cost ``ρ`` per step, ``κ(T) = ρ T``. A larger ρ makes agents stop
    earlier, at a higher loss: measured, not set by hand. ``stop_time`` holds each ``T_i*``
    (−1 while still searching).

    Args:
        step_size: η_i.
        time_cost: ρ ≥ 0, a constant cost per step (exclusive with ``effort_cost``).
        effort_cost: a callable ``κ(T)`` (non-decreasing, element-wise on a float tensor of
            efforts) for other effort costs.
        curvature: h_i (scalar, (N,) or (N, d)); ``"problem"`` takes it from the problem,
            ``None`` uses the first-order estimate.
    """

    def __init__(self, step_size: Any, time_cost: float | None = None,
                 effort_cost: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 curvature: Any = "problem") -> None:
        super().__init__(step_size)
        if (time_cost is None) == (effort_cost is None):
            raise InvalidParameterError("give exactly one of time_cost (ρ) or effort_cost (κ(T)); got "
                                        f"time_cost={time_cost!r}, effort_cost={effort_cost!r}")
        if time_cost is not None:
            require_nonnegative("time_cost", time_cost)
            effort_cost = LinearEffort(float(time_cost))
        self.time_cost, self.effort_cost, self.curvature_spec = time_cost, effort_cost, curvature

    def reset(self, problem: Problem, X0: torch.Tensor) -> None:
        super().reset(problem, X0)
        spec = self.curvature_spec
        if spec is None:
            h = torch.zeros(1, problem.n_agents, problem.action_dim, dtype=problem.dtype, device=problem.device)
        else:
            h = self._per_agent("curvature", problem.curvature(X0) if isinstance(spec, str) else spec, problem)
        self._h = h
        self.steps_taken = torch.zeros(X0.shape[0], problem.n_agents, dtype=torch.long, device=X0.device)
        self.stop_time = torch.full((X0.shape[0], problem.n_agents), -1, dtype=torch.long, device=X0.device)

    def marginal_effort(self, T: torch.Tensor) -> torch.Tensor:
        """``κ(T+1) − κ(T)`` for each agent's current effort ``T`` (element-wise)."""
        T = T.to(torch.float64)
        return torch.as_tensor(self.effort_cost(T + 1.0) - self.effort_cost(T), dtype=torch.float64, device=T.device)

    def predicted_gain(self, X: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
        """Each agent's predicted loss decrease from one more step, shape ``(B, N)``."""
        dx = super().act(X, G, 0) - X
        return (G * dx).sum(-1) - 0.5 * (self._h * dx ** 2).sum(-1)

    def act(self, X: torch.Tensor, G: torch.Tensor, t: int) -> torch.Tensor:
        searching = self.stop_time < 0
        worth_it = self.predicted_gain(X, G) > self.marginal_effort(self.steps_taken)
        halt_now = searching & ~worth_it
        self.stop_time[halt_now] = self.steps_taken[halt_now]
        moving = searching & worth_it
        self.steps_taken += moving.long()
        return torch.where(moving.unsqueeze(-1), super().act(X, G, t), X)

    def all_halted(self) -> bool:
        return bool((self.stop_time >= 0).all())
