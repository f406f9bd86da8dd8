"""An optional float32 / normalised-action view of the envs, for SB3 and SuperSuit users.

The envs themselves stay float64: MBI policies read ``x_i`` and ``G_i`` exactly to reproduce the
planner loop bit for bit. Learning libraries prefer something else: SB3 warns about float64
actions and about action boxes other than ``[-1, 1]``; SuperSuit's ``normalize_obs_v0`` needs
finite observation bounds (which the envs provide, see :class:`~mbi_envs.MechanismEnv`).

:func:`float32_view` wraps either form:

* observations: the same values cast to float32, in ``Box(low, high, float32)`` with the env's
  finite bounds (cast the same way, so every observation stays inside its box);
* actions: ``a ∈ Box(−1, 1, (d,), float32)`` per agent (``(N·d,)`` for the centralized env),
  mapped affinely onto the feasible box, ``x = low + (a + 1)/2 · (high − low)`` after clipping
  ``a`` to ``[−1, 1]``. ``a = −1`` is ``low``, ``a = 1`` is ``high``.

Rewards, terminations, truncations and infos (float64 losses and gaps) pass through unchanged.

>>> import mbi_envs
>>> from mbi_envs.wrappers import float32_view
>>> env = float32_view(mbi_envs.make("symmetric_parallel_v0", n_agents=10, mode="one_shot"))
"""
from __future__ import annotations

from typing import Any, Mapping

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo.utils.wrappers import BaseParallelWrapper

from mechanism import InvalidParameterError

from .action_modes import from_unit
from .env import MechanismEnv
from .gym_wrapper import CentralizedEnv

__all__ = ["Float32ParallelView", "Float32GymView", "float32_view", "to_box", "from_unit"]


def to_box(space: spaces.Box) -> spaces.Box:
    """``space`` as a float32 ``Box`` with the same (cast) bounds."""
    return spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32), dtype=np.float32)


def _unit_box(shape: tuple[int, ...]) -> spaces.Box:
    return spaces.Box(-1.0, 1.0, shape, dtype=np.float32)


class Float32ParallelView(BaseParallelWrapper):
    """Float32 observations and ``[−1, 1]`` actions over a :class:`~mbi_envs.MechanismEnv` (see the module docstring)."""

    def __init__(self, env: MechanismEnv) -> None:
        super().__init__(env)
        base = env.unwrapped
        # the wrapped env's own action boxes: native, or already [-1, 1] (action_space="normalized")
        acts = [env.action_space(a) for a in base.possible_agents]
        self._low, self._high = np.stack([s.low for s in acts]), np.stack([s.high for s in acts])
        self._index = {a: i for i, a in enumerate(base.possible_agents)}
        self._obs_spaces = {a: to_box(env.observation_space(a)) for a in base.possible_agents}
        self._act_spaces = {a: _unit_box((base.action_dim,)) for a in base.possible_agents}
        self.state_space = to_box(base.state_space)

    def state(self) -> np.ndarray:
        """The env's global state cast to float32 (inside :attr:`state_space`)."""
        return np.asarray(self.env.state(), dtype=np.float32)

    def observation_space(self, agent: str) -> spaces.Box:
        """Float32 ``Box`` with the env's finite bounds."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        """``Box(−1, 1, (d,), float32)``."""
        return self._act_spaces[agent]

    def _cast(self, obs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {a: np.asarray(o, dtype=np.float32) for a, o in obs.items()}

    def reset(self, seed: int | None = None, options: dict | None = None):
        """Reset the env; observations cast to float32."""
        obs, infos = self.env.reset(seed=seed, options=options)
        return self._cast(obs), infos

    def step(self, actions: Mapping[str, Any]):
        """Map each ``[−1, 1]`` action onto agent i's box, step, cast observations to float32."""
        if not isinstance(actions, Mapping):
            raise InvalidParameterError(f"actions must be a dict agent -> action, got {type(actions).__name__}")
        mapped = {}
        for agent, a in actions.items():
            if agent not in self._index:
                raise InvalidParameterError(f"unknown agent id in actions: {agent!r}")
            i = self._index[agent]
            if np.size(a) != self._low.shape[1]:
                raise InvalidParameterError(f"action of {agent!r} must have {self._low.shape[1]} entries, "
                                            f"got shape {np.shape(a)}")
            mapped[agent] = from_unit(a, self._low[i], self._high[i])
        obs, rewards, terms, truncs, infos = self.env.step(mapped)
        return self._cast(obs), rewards, terms, truncs, infos


class Float32GymView(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Float32 observations and a ``Box(−1, 1, (N·d,), float32)`` action over the centralized env.

    Records its constructor arguments (``gymnasium.utils.RecordConstructorArgs``), as Gymnasium's
    own wrappers do, so that ``env.spec`` and Gymnasium's ``check_env`` can describe the stack."""

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        base = env.unwrapped
        if not isinstance(base, CentralizedEnv):
            raise InvalidParameterError(f"Float32GymView wraps mbi_envs' CentralizedEnv, got {type(base).__name__}")
        self._low, self._high = base.action_space.low, base.action_space.high
        self.observation_space = to_box(env.observation_space)
        self.action_space = _unit_box(self._low.shape)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset the env; observation cast to float32."""
        obs, info = self.env.reset(seed=seed, options=options)
        return np.asarray(obs, dtype=np.float32), info

    def step(self, action: Any):
        """Map ``[−1, 1]`` onto the joint box, step, cast the observation to float32."""
        if np.size(action) != self._low.size:
            raise InvalidParameterError(f"action must have {self._low.size} entries, got shape {np.shape(action)}")
        obs, reward, terminated, truncated, info = self.env.step(from_unit(action, self._low, self._high))
        return np.asarray(obs, dtype=np.float32), reward, terminated, truncated, info


def float32_view(env: Any):
    """The float32 / ``[−1, 1]``-action view of a :class:`~mbi_envs.MechanismEnv` (parallel form)
    or of a Gymnasium env made from an ``mbi_envs/...`` id. The underlying env is unchanged (and
    still reachable as ``.env`` / ``.unwrapped``)."""
    if isinstance(env, MechanismEnv):
        return Float32ParallelView(env)
    if isinstance(env, gym.Env):
        return Float32GymView(env)
    raise InvalidParameterError(f"float32_view takes a MechanismEnv or an mbi_envs Gymnasium env, "
                                f"got {type(env).__name__}")
