"""The measurement the paper's C.6 never made: PPO on the one-shot symmetric problem (C.2).

:func:`run_ppo_symmetric` trains one PPO model per seed on ``symmetric_parallel_v0`` in one-shot
mode and reports the mean absolute action error ``|a − x*|`` and the loss gap with their spread
over seeds (mean, std and median), plus the agent-steps and wall-clock spent.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

import mbi_envs
from baselines.ppo import PPOConfig, train_ppo
from baselines.ppo_experiment import ONE_SHOT_DEFAULTS
from baselines.sb3_policy import SB3Policy

__all__ = ["run_ppo_symmetric"]


def _abs_action_error(model: Any, env_kwargs: dict[str, Any], seed: int) -> float:
    env = mbi_envs.make("symmetric_parallel_v0", **env_kwargs)
    obs, _ = env.reset(seed=seed)
    actions = SB3Policy(model).act(obs)
    a = np.array([np.clip(actions[agent], env.action_space(agent).low, env.action_space(agent).high)
                  for agent in env.possible_agents]).reshape(-1)
    return float(np.abs(a - env.optimum.x.numpy().reshape(-1)).mean())


def run_ppo_symmetric(total_timesteps: int, seeds: list[int], n_agents: int = 100, Y: float = 10.0,
                      lam: float = 0.1, reward_mode: str = "team",
                      config: PPOConfig | None = None) -> dict[str, Any]:
    """Train PPO (one model per seed) on the one-shot symmetric problem; report accuracy and cost.

    Returns ``mean_abs_error`` (mean over seeds of the mean over agents of ``|a_i − x*|``, the
    deterministic action), ``loss_gap_mean``/``loss_gap_std``/``loss_gap_median`` (``L(a) − L*``
    over seeds), ``env_steps`` (agent-steps per seed), ``wall_seconds`` (training, per seed, mean)
    and ``per_seed`` records.
    """
    if not seeds:
        raise ValueError("seeds must hold at least one seed, got []")
    env_kwargs = {"n_agents": n_agents, "Y": Y, "lam": lam, "mode": "one_shot", "reward_mode": reward_mode}
    base = config or ONE_SHOT_DEFAULTS
    per_seed = []
    for seed in seeds:
        began = time.perf_counter()
        result = train_ppo("symmetric_parallel_v0", env_kwargs,
                           replace(base, total_timesteps=int(total_timesteps), seed=int(seed),
                                   eval_every=max(int(total_timesteps) // 10, 1), tensorboard=False))
        per_seed.append({"seed": int(seed), "loss_gap": result.final["loss_gap"],
                         "mean_abs_error": _abs_action_error(result.model, env_kwargs, seed),
                         "train_seconds": result.train_seconds,
                         "wall_seconds": time.perf_counter() - began, "curve": result.curve})
    gaps = np.array([r["loss_gap"] for r in per_seed], dtype=float)
    errors = np.array([r["mean_abs_error"] for r in per_seed], dtype=float)
    return {"reward_mode": reward_mode, "n_agents": n_agents, "Y": Y, "lam": lam,
            "mean_abs_error": float(errors.mean()), "mean_abs_error_std": float(errors.std()),
            "loss_gap_mean": float(gaps.mean()), "loss_gap_std": float(gaps.std()),
            "loss_gap_median": float(np.median(gaps)), "env_steps": int(total_timesteps),
            "wall_seconds": float(np.mean([r["train_seconds"] for r in per_seed])), "per_seed": per_seed}
