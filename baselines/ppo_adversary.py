"""PPO as the *learning adversary* of the IC audit: agents learn what to report in ``type_report_v0``.

Every agent is a slot of one shared SB3 policy (:func:`baselines.ppo.train_ppo`); it observes its
own true type ``λ_i`` and index and outputs ``a_i = log2(report_i / λ_i)`` (0 = truthful); its
reward is its true utility under the chosen payment rule. After training, on ``n_eval`` fresh
type profiles drawn from the prior, we measure

* ``report_truth_ratio``: the learned deterministic report / truth (1 = truthful), mean with CI;
* ``unilateral_gain``: agent i plays its learned report while the others report truthfully:
  ``u_i(learned) − u_i(truth)`` (a lower bound on the interim regret, which the search adversary
  of :mod:`mechanism.design.ic_audit` estimates from above), mean over agents and profiles with CI;
* ``selfplay_gain``: the same gain when every agent plays the learned policy;
* ``efficiency_loss``: true social cost at the self-play allocation minus the optimum.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

import mbi_envs
from mechanism.design import agent_utility
from mechanism.design.priors import mc_estimate

from .ppo import PPOConfig, torch_threads, train_ppo

__all__ = ["ADVERSARY_PPO", "train_reporting_adversary", "measure_adversary"]

#: modest one-shot PPO budget/hyperparameters (a contextual bandit: gamma = 0)
ADVERSARY_PPO = PPOConfig(total_timesteps=40_000, learning_rate=1e-3, n_steps=64, batch_size=320, n_epochs=10,
                          gamma=0.0, gae_lambda=0.0, ent_coef=0.0, log_std_init=-1.5, net_arch=(64, 64),
                          eval_every=20_000, eval_seeds=(1000,), tensorboard=False)


def measure_adversary(model: Any, payment: str, n_eval: int = 256, seed: int = 10_000,
                      env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Learned report ratios and gains of ``model`` on ``n_eval`` seeded episodes (see module doc)."""
    env = mbi_envs.make("type_report_v0", payment=payment, **(env_kwargs or {}))
    ratios, unilateral, selfplay, eff = [], [], [], []
    for k in range(n_eval):
        obs, _ = env.reset(seed=seed + k)
        batch = np.stack([obs[a] for a in env.possible_agents])
        actions, _ = model.predict(batch, deterministic=True)
        R = env.reports_from_actions({a: actions[i] for i, a in enumerate(env.possible_agents)})
        T = env.truth.copy()
        ratios.extend((R / T).tolist())
        for i in range(env.n_agents):
            Ri = T.copy()
            Ri[i] = R[i]
            unilateral.append(float(agent_utility(env.game, env.rule, i, Ri, T)[0]
                                    - agent_utility(env.game, env.rule, i, T, T)[0]))
        _, _, _, _, infos = env.step({a: actions[i] for i, a in enumerate(env.possible_agents)})
        selfplay.extend(infos[a]["gain"] for a in env.possible_agents)
        eff.append(infos[env.possible_agents[0]]["loss_gap"])
    return {"payment": payment, "n_eval": n_eval,
            "report_truth_ratio": mc_estimate(ratios).to_dict(),
            "unilateral_gain": mc_estimate(unilateral).to_dict(),
            "selfplay_gain": mc_estimate(selfplay).to_dict(),
            "efficiency_loss": mc_estimate(eff).to_dict()}


def train_reporting_adversary(payment: str, total_timesteps: int | None = None, seed: int = 0,
                              config: PPOConfig | None = None, n_eval: int = 256) -> dict[str, Any]:
    """Train PPO on ``type_report_v0`` under ``payment`` and :func:`measure_adversary` it."""
    base = config or ADVERSARY_PPO
    cfg = replace(base, seed=int(seed), total_timesteps=int(total_timesteps or base.total_timesteps))
    with torch_threads(cfg.torch_threads):
        began = time.perf_counter()
        result = train_ppo("type_report_v0", {"payment": payment}, cfg)
        seconds = time.perf_counter() - began
        out = measure_adversary(result.model, payment, n_eval=n_eval)
    out.update({"total_timesteps": cfg.total_timesteps, "seed": cfg.seed, "train_seconds": seconds,
                "hyperparameters": {k: getattr(cfg, k) for k in ("learning_rate", "n_steps", "batch_size",
                                                                 "n_epochs", "log_std_init", "net_arch")}})
    return out
