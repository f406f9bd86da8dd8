"""A small Stable-Baselines3 VecEnv over PettingZoo parallel environments (parameter sharing).

Every agent of every environment copy is one slot of the VecEnv, so one SB3 policy acts for all
agents: ``num_envs = n_copies × N``. Heterogeneous agents can still act differently because
their private features (e.g. λ_i, their index) are part of their observations.

Why not SuperSuit's ``pettingzoo_env_to_vec_env_v1`` + ``concat_vec_envs_v1``: its
``ConcatVecEnv`` has no ``seed`` attribute, so ``PPO(seed=...)`` fails, and its SB3 wrapper
drops the reset seed, so runs are not reproducible. This adapter implements SB3's seeding
contract (``VecEnv.seed`` stores seeds that the next ``reset`` uses) and is tested for
bit-identical runs.

Episodes of the wrapped environments must end for all agents at once (true for ``mbi_envs``).
On episode end the copy is reset (with no seed: its RNG continues), the final observation is
stored in ``infos[i]["terminal_observation"]`` and ``"TimeLimit.truncated"`` is set for
truncations, so PPO bootstraps correctly.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from pettingzoo.utils.env import ParallelEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

__all__ = ["ParallelEnvVecEnv"]


class ParallelEnvVecEnv(VecEnv):
    """Shares one SB3 policy across all agents of ``n_copies`` copies of a ParallelEnv.

    Args:
        env_fns: one factory per copy, each returning a fresh ``ParallelEnv``.

    All copies must have the same agents, and all agents the same observation and action
    spaces (those of the first agent are used).
    """

    def __init__(self, env_fns: Sequence[Callable[[], ParallelEnv]]) -> None:
        if not env_fns:
            raise ValueError("env_fns must hold at least one environment factory, got []")
        self.envs = [fn() for fn in env_fns]
        self.agents = list(self.envs[0].possible_agents)
        for k, env in enumerate(self.envs):
            if list(env.possible_agents) != self.agents:
                raise ValueError(f"environment copy {k} has agents {env.possible_agents}, "
                                 f"expected {self.agents}")
        first = self.agents[0]
        self.n_agents = len(self.agents)
        super().__init__(len(self.envs) * self.n_agents, self.envs[0].observation_space(first),
                         self.envs[0].action_space(first))
        self._actions: np.ndarray | None = None
        self.render_mode = getattr(self.envs[0], "render_mode", None)

    # ------------------------------------------------------------------ VecEnv API
    def reset(self) -> np.ndarray:
        """Reset every copy; copy k uses the seed SB3 stored for its first slot."""
        obs = []
        for k, env in enumerate(self.envs):
            seed = self._seeds[k * self.n_agents]
            observations, infos = env.reset(seed=seed)
            obs.append(self._stack(observations))
            for j, agent in enumerate(self.agents):
                self.reset_infos[k * self.n_agents + j] = infos.get(agent, {})
        self._reset_seeds()
        self._reset_options()
        return np.concatenate(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        assert self._actions is not None, "step_async must be called before step_wait"
        all_obs, all_rew, all_done, all_infos = [], [], [], []
        for k, env in enumerate(self.envs):
            chunk = self._actions[k * self.n_agents:(k + 1) * self.n_agents]
            obs, rew, done, infos = self._step_copy(env, chunk)
            all_obs.append(obs)
            all_rew.append(rew)
            all_done.append(done)
            all_infos.extend(infos)
        self._actions = None
        return (np.concatenate(all_obs), np.concatenate(all_rew).astype(np.float32),
                np.concatenate(all_done), all_infos)

    def _step_copy(self, env: ParallelEnv, actions: np.ndarray):
        action_dict = {agent: actions[j] for j, agent in enumerate(self.agents)}
        observations, rewards, terms, truncs, infos = env.step(action_dict)
        obs = self._stack(observations)
        rew = np.array([rewards[a] for a in self.agents], dtype=np.float64)
        term = np.array([terms[a] for a in self.agents])
        trunc = np.array([truncs[a] for a in self.agents])
        done = term | trunc
        out_infos = [dict(infos.get(a, {})) for a in self.agents]
        if done.any():
            if not done.all():
                raise RuntimeError("ParallelEnvVecEnv needs episodes that end for all agents at once")
            for j, info in enumerate(out_infos):
                info["terminal_observation"] = obs[j]
                info["TimeLimit.truncated"] = bool(trunc[j] and not term[j])
            obs = self._stack(env.reset()[0])
        return obs, rew, done, out_infos

    def _stack(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        return np.stack([np.asarray(observations[a]) for a in self.agents])

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.envs[i // self.n_agents], attr_name) for i in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for k in sorted({i // self.n_agents for i in self._get_indices(indices)}):
            setattr(self.envs[k], attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        return [getattr(self.envs[i // self.n_agents], method_name)(*method_args, **method_kwargs)
                for i in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
