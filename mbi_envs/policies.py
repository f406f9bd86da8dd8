"""The policy interface every contender implements, and the MBI and constant policies.

A policy has ``reset(env, seed)`` (called once per episode, after ``env.reset``) and
``act(observations) -> actions`` (dicts keyed by agent id). SB3 models get their own adapter in
``baselines/`` implementing the same two methods.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from mechanism import AgentPolicy, InvalidParameterError

__all__ = ["Policy", "MBIPolicy", "ConstantPolicy"]


@runtime_checkable
class Policy(Protocol):
    """What :func:`mbi_envs.evaluate` drives: ``reset(env, seed)`` then ``act(obs)`` each step."""

    def reset(self, env: Any, seed: int | None = None) -> None:
        """Prepare for a new episode of ``env`` (already reset with ``seed``)."""

    def act(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One action per agent in ``observations``."""


def _unwrapped(env: Any) -> Any:
    return getattr(env, "unwrapped", env)


def _require_native_actions(env: Any, policy: str) -> None:
    """Proposals in native units need the env's native boxes (not ``action_space="normalized"``)."""
    if getattr(env, "action_mode", "native") != "native":
        raise InvalidParameterError(f"{policy} proposes x_i in each agent's own box; the env has "
                                    f"action_space={env.action_mode!r} (make it with action_space='native')")


class MBIPolicy:
    """Incentive-driven agents of :mod:`mechanism.core.agents` acting from observations only.

    Each step it reads ``x_i`` and ``G_i`` from agent i's observation (iterative mode, float64,
    exact), stacks them into ``X, G`` and calls ``agents.act(X, G, t)`` (``t`` = 1, 2, ...). The
    agents are bound (``agents.reset``) to the env's problem (bounds, curvature: each agent's
    private information) and the first observed ``X``. The trajectory equals
    :func:`mechanism.run_planner`'s from the same start, number for number. Sequential
    (Gauss–Seidel) agents need a reverse pass per agent inside one step and are rejected.
    """

    def __init__(self, agents: AgentPolicy) -> None:
        if not isinstance(agents, AgentPolicy):
            raise InvalidParameterError(f"agents must be a mechanism.AgentPolicy, got {type(agents).__name__}")
        if agents.schedule != "simultaneous":
            raise InvalidParameterError(f"agents.schedule must be 'simultaneous' in an env step, got {agents.schedule!r}")
        self.agents = agents

    def reset(self, env: Any, seed: int | None = None) -> None:
        """Bind to ``env`` (iterative mode required); the agents are reset at the first ``act``."""
        env = _unwrapped(env)
        _require_native_actions(env, "MBIPolicy")
        if getattr(env, "mode", None) != "iterative":
            raise InvalidParameterError(f"MBIPolicy needs an iterative-mode env, got mode={getattr(env, 'mode', None)!r}")
        layout, d = env.observation_layout, env.action_dim
        self._x = [layout.index(n) for n in layout[:d]]
        self._g = [layout.index(n) for n in layout[d:2 * d]]
        self._problem, self._names, self._shape = env.problem, list(env.possible_agents), (1, env.n_agents, d)
        self._t, self._bound = 0, False

    def act(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The agents' next proposals from their observed actions and incentives."""
        missing = [a for a in self._names if a not in observations]
        if missing:
            raise InvalidParameterError(f"MBIPolicy needs every agent's observation; missing {missing[:5]}")
        O = np.stack([np.asarray(observations[a], dtype=np.float64) for a in self._names])
        X = torch.from_numpy(O[:, self._x]).reshape(self._shape)
        G = torch.from_numpy(O[:, self._g]).reshape(self._shape)
        if not self._bound:
            self.agents.reset(self._problem, X)
            self._bound = True
        self._t += 1
        proposal = self.agents.act(X, G, self._t)[0].numpy()
        return dict(zip(self._names, proposal))


class ConstantPolicy:
    """Every agent proposes a fixed ``x_i`` every step (e.g. the centralized optimum or a Nash point).

    ``x`` is a scalar, an ``(N,)`` or an ``(N, d)`` array (a tensor is accepted).
    """

    def __init__(self, x: Any) -> None:
        value = np.asarray(x.detach().numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
        if not np.isfinite(value).all():
            raise InvalidParameterError(f"x must be finite, got {x!r}")
        self.x = value

    def reset(self, env: Any, seed: int | None = None) -> None:
        """Broadcast ``x`` to the env's ``(N, d)`` (native action boxes required)."""
        env = _unwrapped(env)
        _require_native_actions(env, "ConstantPolicy")
        shape = (env.n_agents, env.action_dim)
        value = self.x.reshape(-1, 1) if self.x.ndim == 1 else self.x
        try:
            self._X = np.broadcast_to(value, shape).copy()
        except ValueError:
            raise InvalidParameterError(f"x of shape {self.x.shape} does not broadcast to {shape}") from None
        self._names = list(env.possible_agents)

    def act(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``x_i`` for every agent in ``observations``."""
        return {a: self._X[i].copy() for i, a in enumerate(self._names) if a in observations}
