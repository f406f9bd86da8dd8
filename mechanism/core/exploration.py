"""Incentive-only agents that escape local minima, and a coupled landscape with a known global minimum.

Both policies are element-wise like every policy of :mod:`mechanism.core.agents`: agent i uses only its
own action, its own incentive ``G_i``, its own history and its own random stream.

* :class:`AnnealedLangevinAgents`: ``x_i ← Π_i(x_i + η_i G_i + √(2 η_i T_i(t)) ε_i)``, ``ε_i ~ N(0, I)``,
  with agent i's own temperature schedule ``T_i(t) = T0_i (1 − t/K_i)²`` for ``t < K_i`` and 0 after
  (polynomial cooling to exactly zero, so the last phase is plain gradient descent and the run
  ends at a stationary point). Langevin dynamics at temperature T samples ``exp(−L/T)``; cooling
  slowly concentrates it on the low minima.
* :class:`RestartAgents`: gradient agents that notice they are stuck (their own KKT residual
  ``‖Π_i(x_i + G_i) − x_i‖ ≤ tol`` for ``patience`` iterations), remember where, and travel to a
  fresh random point of their search box; after ``n_restarts`` restarts they travel back to the
  best stuck point they saw and descend. Travel moves at most ``max_hop`` per iteration in a
  straight line (so it takes ``⌈distance / max_hop⌉`` iterations), and a descent step is capped at
  the same length. "Best" is judged from incentives only: along its own
  path the agent accumulates its DPM payments ``W_i = Σ_t ½(G_i(t−1) + G_i(t))·(x_i(t) − x_i(t−1))``
  (trapezoid rule), the loss decrease credited to its own moves; it returns to the stuck point
  where ``W_i`` was highest. Travel is gradual so the payment integral stays accurate: ``max_hop``
  must be small against the landscape's wavelength. The agents' credits sum to the total loss decrease only
  along the joint path; each agent picks its own best point, so the joint point they return to
  need not be the best joint point visited (measured, not assumed, in ``experiments/real_problems``).

* :func:`coupled_rastrigin_problem`: ``L(x) = (Σ_i z_i)² + Σ_i [z_i² + A(1 − cos 2π z_i)]``,
  ``z = x − s``: every term is ≥ 0 and all vanish only at ``x = s``, so the global minimum is
  exactly ``x* = s``, ``L* = 0``; the cosines make many local minima in the box ``s ± 5.12``
  (without the coupling term, one near each integer point of z: 11^N for A = 5; with it the
  count is not enumerated); the first term couples the agents.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import torch

from .agents import GradientAgents
from .ddag import DDAG
from ..errors import InvalidParameterError, require_int_at_least, require_nonnegative, require_positive
from .problem import Optimum, Problem

__all__ = ["AnnealedLangevinAgents", "RestartAgents", "coupled_rastrigin_problem"]


class AnnealedLangevinAgents(GradientAgents):
    """Gradient agents with Langevin noise on a cooling schedule each agent follows on its own.

    Args:
        step_size: η_i (scalar, ``(N,)`` or ``(N, d)``).
        temperature: T0_i ≥ 0 at ``t = 0`` (scalar or per agent).
        anneal_steps: K_i ≥ 1, the iteration at which agent i's temperature reaches 0 (scalar or
            per agent).
        seed: seeds the noise (one ``torch.Generator``, reset at every ``reset``: the same seed
            gives the same run).
    """

    def __init__(self, step_size: Any, temperature: Any, anneal_steps: Any, seed: int = 0) -> None:
        super().__init__(step_size)
        require_nonnegative("temperature", temperature)
        require_positive("anneal_steps", anneal_steps)
        self.temperature, self.anneal_steps, self.seed = temperature, anneal_steps, int(seed)

    def reset(self, problem: Problem, X0: torch.Tensor) -> None:
        super().reset(problem, X0)
        self._T0 = self._per_agent("temperature", self.temperature, problem)
        self._K = self._per_agent("anneal_steps", self.anneal_steps, problem)
        self._rng = torch.Generator().manual_seed(self.seed)

    def temperature_at(self, t: int) -> torch.Tensor:
        """Every agent's temperature at iteration ``t``, shape ``(1, N, d)``."""
        frac = torch.clamp(1.0 - t / self._K, min=0.0)
        return self._T0 * frac ** 2

    def act(self, X: torch.Tensor, G: torch.Tensor, t: int) -> torch.Tensor:
        noise = torch.randn(X.shape, generator=self._rng, dtype=X.dtype)
        scale = torch.sqrt(2.0 * self._eta * self.temperature_at(t))
        return self._project(X + self._eta * G + scale * noise)


class RestartAgents(GradientAgents):
    """Gradient agents that restart when their own incentive says they are stuck (see the module docstring).

    Args:
        step_size: η_i.
        search_low, search_high: the box each agent draws restart points from (scalar or per
            agent; intersected with the problem's bounds).
        n_restarts: restarts per agent before it returns to its best stuck point (≥ 0).
        patience: iterations with a small KKT residual before the agent counts as stuck (≥ 1).
        tol: the KKT-residual threshold (> 0).
        max_hop: the largest move per iteration while travelling (> 0).
        seed: seeds the restart points.

    After ``reset``, ``restarts`` (``(B, N)``) counts each agent's restarts and ``settled`` says
    whether it has started its final return.
    """

    def __init__(self, step_size: Any, search_low: Any, search_high: Any, n_restarts: int = 5,
                 patience: int = 10, tol: float = 1e-6, max_hop: float = 0.05, seed: int = 0) -> None:
        super().__init__(step_size)
        self.n_restarts = require_int_at_least("n_restarts", n_restarts, 0)
        self.patience = require_int_at_least("patience", patience, 1)
        require_positive("tol", tol)
        self.tol = float(tol)
        require_positive("max_hop", max_hop)
        self.max_hop = float(max_hop)
        self.search_low, self.search_high, self.seed = search_low, search_high, int(seed)

    def reset(self, problem: Problem, X0: torch.Tensor) -> None:
        super().reset(problem, X0)
        lo = torch.maximum(self._per_agent("search_low", self.search_low, problem), self._lower)
        hi = torch.minimum(self._per_agent("search_high", self.search_high, problem), self._upper)
        if not (torch.isfinite(lo).all() and torch.isfinite(hi).all()) or (lo >= hi).any():
            raise InvalidParameterError(f"search box must be finite with low < high inside the problem's bounds, got "
                                        f"search_low={self.search_low!r}, search_high={self.search_high!r}")
        self._lo, self._hi = lo, hi
        B, N = X0.shape[0], X0.shape[1]
        self._rng = torch.Generator().manual_seed(self.seed)
        self._prev_X, self._prev_G = None, None
        self.credit = torch.zeros(B, N, dtype=X0.dtype)
        self.best_credit = torch.full((B, N), -math.inf, dtype=X0.dtype)
        self.best_X = X0.clone()
        self._stuck = torch.zeros(B, N, dtype=torch.long)
        self.restarts = torch.zeros(B, N, dtype=torch.long)
        self.settled = torch.zeros(B, N, dtype=torch.bool)
        self._travel_left = torch.zeros(B, N, dtype=torch.long)
        self._target = X0.clone()

    def _account(self, X: torch.Tensor, G: torch.Tensor) -> None:
        """Add the trapezoid payment of each agent's last executed move."""
        if self._prev_X is not None:
            self.credit += (0.5 * (self._prev_G + G) * (X - self._prev_X)).sum(-1)
        self._prev_X, self._prev_G = X.clone(), G.clone()

    def _start_travel(self, X: torch.Tensor, stuck_now: torch.Tensor) -> None:
        better = stuck_now & (self.credit > self.best_credit)
        self.best_credit = torch.where(better, self.credit, self.best_credit)
        self.best_X = torch.where(better.unsqueeze(-1), X, self.best_X)
        restart = stuck_now & (self.restarts < self.n_restarts)
        go_home = stuck_now & ~restart
        fresh = self._lo + (self._hi - self._lo) * torch.rand(X.shape, generator=self._rng, dtype=X.dtype)
        self._target = torch.where(restart.unsqueeze(-1), fresh,
                                   torch.where(go_home.unsqueeze(-1), self.best_X, self._target))
        self.restarts += restart.long()
        self.settled |= go_home
        steps = torch.ceil((self._target - X).norm(dim=-1) / self.max_hop).long().clamp(min=1)
        self._travel_left = torch.where(restart | go_home, steps, self._travel_left)
        self._stuck = torch.where(stuck_now, torch.zeros_like(self._stuck), self._stuck)

    def act(self, X: torch.Tensor, G: torch.Tensor, t: int) -> torch.Tensor:
        self._account(X, G)
        travelling = self._travel_left > 0
        residual = (self._project(X + G) - X).norm(dim=-1)
        small = (residual <= self.tol) & ~travelling
        self._stuck = torch.where(small, self._stuck + 1, torch.zeros_like(self._stuck))
        stuck_now = (self._stuck >= self.patience) & ~self.settled
        self._start_travel(X, stuck_now)
        travelling = self._travel_left > 0
        hop = (self._target - X) / self._travel_left.clamp(min=1).unsqueeze(-1).to(X.dtype)
        step = self._eta * G
        step = step * torch.clamp(self.max_hop / step.norm(dim=-1, keepdim=True).clamp(min=1e-300), max=1.0)
        descend = self._project(X + step)
        new = torch.where(travelling.unsqueeze(-1), self._project(X + hop), descend)
        self._travel_left = (self._travel_left - travelling.long()).clamp(min=0)
        return new


# ----------------------------------------------------------------------------- a harder landscape
def _shifted(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    return x[..., 0] - shift


def _rastrigin_system(z: torch.Tensor) -> torch.Tensor:
    return z.sum(-1) ** 2


def _rastrigin_costs(amplitude: float, z: torch.Tensor) -> torch.Tensor:
    return z ** 2 + amplitude * (1.0 - torch.cos(2.0 * math.pi * z))


def _sum_loss(system: torch.Tensor, costs: torch.Tensor) -> torch.Tensor:
    return system + costs.sum(-1)


def _rastrigin_optimum(shift: torch.Tensor, data: Any) -> Optimum:
    return Optimum(shift.reshape(-1, 1).clone(), 0.0)


def coupled_rastrigin_problem(n_agents: int = 4, amplitude: float = 10.0, shift: Any = None,
                              half_width: float = 5.12) -> Problem:
    """The coupled Rastrigin landscape (see the module docstring), box ``s ± half_width``.

    ``shift`` defaults to ``s_i = 0.5 + 0.37 i`` (so the minimum is neither at 0 nor on a grid
    the start distribution favours). Agent i's cost is its Rastrigin term; the system loss is
    ``(Σ z)²``. The closed-form optimum is ``x* = s``, ``L* = 0``.
    """
    n_agents = require_int_at_least("n_agents", n_agents, 1)
    require_positive("amplitude", amplitude)
    require_positive("half_width", half_width)
    s = (torch.arange(n_agents, dtype=torch.float64) * 0.37 + 0.5) if shift is None else \
        torch.as_tensor(shift, dtype=torch.float64).reshape(-1)
    if s.shape != (n_agents,) or not torch.isfinite(s).all():
        raise InvalidParameterError(f"shift must be finite with shape ({n_agents},), got {shift!r}")
    g = DDAG()
    g.add_agents("x", n=n_agents)
    g.add_data("shift", s)
    g.add_function("z", _shifted, inputs=["x", "shift"])
    g.add_function("system", _rastrigin_system, inputs=["z"])
    g.add_function("costs", functools.partial(_rastrigin_costs, float(amplitude)), inputs=["z"])
    g.add_function("loss", _sum_loss, inputs=["system", "costs"])
    g.set_loss("loss")
    return Problem(g, lower=(s - half_width).reshape(-1, 1), upper=(s + half_width).reshape(-1, 1),
                   system_node="system", costs_node="costs", optimum_fn=functools.partial(_rastrigin_optimum, s),
                   name=f"coupled_rastrigin[N={n_agents}]")
