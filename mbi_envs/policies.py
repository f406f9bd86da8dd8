"""The policy interface every contender implements, and the MBI and constant policies.

A policy has ``reset(env, seed)`` (called once per episode, after ``env.reset``) and
``act(observations) -> actions`` (dicts keyed by agent id). SB3 models get their own adapter in
``baselines/`` implementing the same two methods.

Optionally a policy has ``check_env(env)``: raise ``ValueError`` if it cannot act in ``env``.
:func:`mbi_envs.evaluate` calls it (through :func:`check_policy_fits`) before it resets each env,
so a policy built for another env fails before any episode state changes. A policy without it
that exposes ``observation_space``, ``action_space`` (Gymnasium spaces, one agent's),
``n_agents`` or ``env_id`` is compared with the env on those attributes instead.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from mechanism import AgentPolicy, InvalidParameterError

__all__ = ["Policy", "MBIPolicy", "ConstantPolicy", "check_policy_fits", "check_spaces_match"]


@runtime_checkable
class Policy(Protocol):
    """What :func:`mbi_envs.evaluate` drives: ``reset(env, seed)`` then ``act(obs)`` each step."""

    def reset(self, env: Any, seed: int | None = None) -> None:
        """Prepare for a new episode of ``env`` (already reset with ``seed``)."""

    def act(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One action per agent in ``observations``."""


def _unwrapped(env: Any) -> Any:
    return getattr(env, "unwrapped", env)


def _env_id(env: Any) -> str | None:
    return getattr(env, "metadata", {}).get("name")


def _space_text(space: Any) -> str:
    low, high = getattr(space, "low", None), getattr(space, "high", None)
    if low is None:
        return repr(space)
    return (f"Box(shape={tuple(space.shape)}, dtype={space.dtype}, low={np.array2string(low, threshold=8)}, "
            f"high={np.array2string(high, threshold=8)})")


def check_spaces_match(env: Any, who: str, *, observation_space: Any = None, action_space: Any = None,
                       n_agents: int | None = None, env_id: str | None = None,
                       made: str = "was made for") -> None:
    """Raise ``ValueError`` naming both sides unless ``env`` (a parallel env, possibly wrapped)
    matches what ``who`` (e.g. ``"the SB3 model"``) ``made`` (e.g. ``"was trained on"``);
    ``None`` skips a comparison.

    Compared: the env id (``env.metadata["name"]``), the agent count (``len(env.possible_agents)``),
    and agent 0's observation and action spaces (Gymnasium ``Box`` equality: shape, dtype and
    bounds to ``np.allclose``; every agent of an ``mbi_envs`` env has the same observation box).
    """
    agents = list(env.possible_agents)
    if env_id is not None and _env_id(env) is not None and env_id != _env_id(env):
        raise InvalidParameterError(f"{who} {made} env_id={env_id!r}"
                                    f"{'' if n_agents is None else f' with N={n_agents} agents'}, but the env is "
                                    f"env_id={_env_id(env)!r} with N={len(agents)} agents")
    if n_agents is not None and int(n_agents) != len(agents):
        raise InvalidParameterError(f"{who} {made} N={n_agents} agents"
                                    f"{'' if env_id is None else f' of env_id={env_id!r}'}, but the env "
                                    f"{_env_id(env)!r} has N={len(agents)} agents")
    for kind, want, got in (("observation", observation_space, env.observation_space(agents[0])),
                            ("action", action_space, env.action_space(agents[0]))):
        if want is not None and want != got:
            raise InvalidParameterError(f"{who}'s {kind} space {_space_text(want)} differs from the env "
                                        f"{_env_id(env)!r}'s {kind} space {_space_text(got)} (N={len(agents)})")


def check_policy_fits(policy: Any, env: Any) -> None:
    """Raise ``ValueError`` if ``policy`` cannot act in ``env`` (see the module docstring):
    ``policy.check_env(env)`` if it has one, else :func:`check_spaces_match` on whichever of
    ``observation_space``, ``action_space``, ``n_agents``, ``env_id`` the policy exposes."""
    check = getattr(policy, "check_env", None)
    if callable(check):
        check(env)
        return
    found = {k: getattr(policy, k, None) for k in ("observation_space", "action_space", "n_agents", "env_id")}
    if any(v is not None for v in found.values()):
        check_spaces_match(env, f"the policy {type(policy).__name__}", **found)


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

    def check_env(self, env: Any) -> None:
        """Raise ``ValueError`` unless ``env`` is an iterative-mode env with native action boxes."""
        env = _unwrapped(env)
        _require_native_actions(env, "MBIPolicy")
        if getattr(env, "mode", None) != "iterative":
            raise InvalidParameterError(f"MBIPolicy needs an iterative-mode env, got mode={getattr(env, 'mode', None)!r}")

    def reset(self, env: Any, seed: int | None = None) -> None:
        """Bind to ``env`` (iterative mode required); the agents are reset at the first ``act``."""
        self.check_env(env)
        env = _unwrapped(env)
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
        try:
            value = np.asarray(x.detach().numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"x must be a number or an array of numbers, got {x!r}") from None
        if not np.isfinite(value).all():
            raise InvalidParameterError(f"x must be finite, got {x!r}")
        self.x = value

    def _joint(self, env: Any) -> np.ndarray:
        env = _unwrapped(env)
        _require_native_actions(env, "ConstantPolicy")
        shape = (env.n_agents, env.action_dim)
        value = self.x.reshape(-1, 1) if self.x.ndim == 1 else self.x
        try:
            return np.broadcast_to(value, shape).copy()
        except ValueError:
            raise InvalidParameterError(f"x of shape {self.x.shape} does not broadcast to the env "
                                        f"{_env_id(env)!r}'s (N, d) = {shape}") from None

    def check_env(self, env: Any) -> None:
        """Raise ``ValueError`` unless ``x`` broadcasts to the env's ``(N, d)`` and its action boxes are native."""
        self._joint(env)

    def reset(self, env: Any, seed: int | None = None) -> None:
        """Broadcast ``x`` to the env's ``(N, d)`` (native action boxes required)."""
        self._X = self._joint(env)
        self._names = list(_unwrapped(env).possible_agents)

    def act(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``x_i`` for every agent in ``observations``."""
        return {a: self._X[i].copy() for i, a in enumerate(self._names) if a in observations}
