"""The centralized single-agent (Gymnasium) view of every scenario.

``gymnasium.make("mbi_envs/SymmetricParallel-v0", **kwargs)`` builds :class:`CentralizedEnv`:
one controller sets the joint action. Observation: every agent's observation concatenated
(agent 0 first), ``Box`` float64 of shape ``(N·obs_dim,)``; action: the joint action flattened,
``Box(low, high, (N·d,), float64)`` (projected like the parallel env's); reward: the team reward
(``L_{t−1} − L_t`` iterative, ``−L`` one-shot). ``info`` holds ``global_loss``, ``step`` and where
known ``optimal_loss``, ``loss_gap``. Registered for every built-in id when :mod:`mbi_envs` is
imported, with ``max_episode_steps`` = the scenario's default horizon (Gymnasium adds its
``TimeLimit``); :func:`mbi_envs.register` registers a user's id (without ``max_episode_steps``:
the env truncates itself at the scenario's horizon).

Gymnasium 1.x has no plugin entry point that registers a package's ids without importing it
(the ``gymnasium.envs`` entry-point loader was removed in 1.0; 1.4's ``gymnasium/envs/__init__.py``
registers only its own envs), so ``gymnasium.make("mbi_envs/SymmetricParallel-v0")`` needs
``import mbi_envs`` first, or Gymnasium's ``module:id`` form
``gymnasium.make("mbi_envs:mbi_envs/SymmetricParallel-v0")``, which imports :mod:`mbi_envs` itself.
A user's id needs the module that registers it: ``gymnasium.make("your_module:mbi_envs/YourId-v0")``.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mechanism import InvalidParameterError

from .checks import check_seed
from .registry import builtin_env_ids, gym_id, make, register_gym_id, scenario_module

__all__ = ["CentralizedEnv", "gym_id", "register_gym_envs"]


class CentralizedEnv(gym.Env):
    """A :class:`~mbi_envs.MechanismEnv` driven by one controller (team reward).

    Args:
        env_id: a registered id (e.g. ``"symmetric_parallel_v0"``).
        render_mode: ``None``, ``"human"`` (prints the text table), ``"ansi"`` or ``"rgb_array"``.
        **kwargs: the env's common and scenario kwargs (``reward_mode`` must be ``"team"``).
    """

    metadata = {"render_modes": ["human", "ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, env_id: str, render_mode: str | None = None, **kwargs: Any) -> None:
        if kwargs.get("reward_mode", "team") != "team":
            raise InvalidParameterError(f"the centralized env uses the team reward; got reward_mode={kwargs['reward_mode']!r}")
        self.par_env = make(env_id, render_mode=render_mode, **kwargs)
        self.render_mode = render_mode
        agents = self.par_env.possible_agents
        obs = [self.par_env.observation_space(a) for a in agents]
        self.observation_space = spaces.Box(np.concatenate([s.low for s in obs]),
                                            np.concatenate([s.high for s in obs]), dtype=np.float64)
        acts = [self.par_env.action_space(a) for a in agents]  # native boxes, or [-1, 1] if normalized
        self.action_space = spaces.Box(np.concatenate([s.low for s in acts]),
                                       np.concatenate([s.high for s in acts]), dtype=np.float64)
        self._shape = (self.par_env.n_agents, self.par_env.action_dim)

    def _joint_obs(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([obs[a] for a in self.par_env.possible_agents])

    def _info(self, infos: dict[str, dict]) -> dict[str, Any]:
        first = infos.get(self.par_env.possible_agents[0], {})
        return {k: v for k, v in first.items() if k != "incentive"}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset the underlying parallel env (same seed, same episode). ``seed`` is ``None`` or an
        integer ``>= 0`` (numpy integers accepted); anything else raises ``ValueError`` naming it."""
        seed = check_seed(seed)  # before Gymnasium's own seeding, which refuses numpy integers
        super().reset(seed=seed)
        obs, infos = self.par_env.reset(seed=seed, options=options)
        return self._joint_obs(obs), self._info(infos)

    def step(self, action: Any):
        """Apply the joint action ``(N·d,)``; returns ``(obs, reward, terminated, truncated, info)``."""
        a = np.asarray(action, dtype=np.float64)
        if a.size != self._shape[0] * self._shape[1]:
            raise InvalidParameterError(f"action must have {self._shape[0] * self._shape[1]} entries, got shape {a.shape}")
        joint = a.reshape(self._shape)
        obs, rewards, terms, truncs, infos = self.par_env.step(dict(zip(self.par_env.possible_agents, joint)))
        first = self.par_env.possible_agents[0]
        return self._joint_obs(obs), rewards[first], terms[first], truncs[first], self._info(infos)

    def render(self):
        """Render the underlying parallel env."""
        return self.par_env.render()


def register_gym_envs() -> list[str]:
    """Register every built-in scenario's centralized env with Gymnasium (idempotent); returns the
    ids (a user's id is registered by :func:`mbi_envs.register`)."""
    ids = []
    for env_id in builtin_env_ids():
        gid = gym_id(env_id)
        if gid not in gym.registry:
            register_gym_id(gid, env_id, scenario_module(env_id).build().max_steps)
        ids.append(gid)
    return ids
