"""A Stable-Baselines3 VecEnv over the batched env (parameter sharing, one batched call per step).

Like :class:`~baselines.vec_env.ParallelEnvVecEnv`, every agent of every copy is one VecEnv slot
(``num_envs = B × N``) so one SB3 policy acts for all agents; unlike it, a step is one call of
:class:`~mbi_envs.vector.VectorMechanismEnv` on ``(B, N, d)`` tensors instead of ``B`` PettingZoo
steps over per-agent dicts.

Same seeding contract as ``ParallelEnvVecEnv`` (copy ``k`` is reset with the seed SB3 stored for
its first slot, ``seed + k·N``), same observations and rewards, same episode ends (the final
observation in ``infos[i]["terminal_observation"]``, ``"TimeLimit.truncated"`` for truncations):
with the same PPO seed the two adapters train the same model (``tests/test_batched_vec_env.py``).
Per-slot infos are empty dicts except at episode ends (PPO reads nothing else; building
``B × N`` dicts of incentives every step would cost more than the step itself).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

from mbi_envs.vector import VectorMechanismEnv

__all__ = ["BatchedVecEnv"]


class BatchedVecEnv(VecEnv):
    """Shares one SB3 policy across all ``N`` agents of the ``B`` copies of a batched env.

    Args:
        venv: a :class:`~mbi_envs.vector.VectorMechanismEnv` with ``autoreset=True`` (any device;
            observations and rewards are handed to SB3 as numpy arrays on the CPU).
    """

    def __init__(self, venv: VectorMechanismEnv) -> None:
        if not venv.autoreset:
            raise ValueError("BatchedVecEnv needs a batched env with autoreset=True, got autoreset=False")
        self.venv = venv
        self.n_copies, self.n_agents = venv.num_envs, venv.n_agents
        self.render_mode = None  # set before VecEnv.__init__, which warns when it is missing
        super().__init__(self.n_copies * self.n_agents, venv.agent_observation_space, venv.agent_action_space)
        self._actions: np.ndarray | None = None

    def _flat(self, x: torch.Tensor) -> np.ndarray:
        return x.detach().to("cpu", torch.float64).reshape(self.num_envs, -1).numpy()

    # ------------------------------------------------------------------ VecEnv API
    def reset(self) -> np.ndarray:
        """Reset every copy; copy k uses the seed SB3 stored for its first slot (if any)."""
        seeds = [self._seeds[k * self.n_agents] for k in range(self.n_copies)]
        obs, _ = self.venv.reset(seed=None if any(s is None for s in seeds) else seeds)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return self._flat(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        assert self._actions is not None, "step_async must be called before step_wait"
        actions = torch.from_numpy(np.ascontiguousarray(self._actions, dtype=np.float64))
        obs, rewards, terminated, truncated, info = self.venv.step(
            actions.reshape(self.n_copies, self.n_agents, self.venv.action_dim))
        self._actions = None
        done_copies = (terminated | truncated).cpu().numpy()
        dones = np.repeat(done_copies, self.n_agents)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if done_copies.any():
            final = self._flat(info["final_observation"])
            time_limit = np.repeat((truncated & ~terminated).cpu().numpy(), self.n_agents)
            for i in np.nonzero(dones)[0]:
                infos[i] = {"terminal_observation": final[i], "TimeLimit.truncated": bool(time_limit[i])}
        return (self._flat(obs), self._flat(rewards).reshape(-1).astype(np.float32), dones, infos)

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.venv, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
