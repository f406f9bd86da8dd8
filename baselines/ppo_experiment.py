"""PPO hyperparameter presets for the symmetric problem (the experiment logic that used to live
here is :mod:`experiments.ppo_symmetric`; tuned per-family configurations are in
``results/ppo_tuned.json``, see docs/ppo.md)."""
from __future__ import annotations

from .ppo import PPOConfig

__all__ = ["ONE_SHOT_DEFAULTS", "ITERATIVE_DEFAULTS"]

#: hyperparameters chosen by the first small sweep (docs/ppo.md), one-shot symmetric problem
ONE_SHOT_DEFAULTS = PPOConfig(learning_rate=1e-3, n_steps=64, batch_size=1024, n_epochs=10,
                              gamma=0.0, gae_lambda=0.0, ent_coef=0.0, log_std_init=-2.5)
#: hyperparameters chosen by the first small sweep (docs/ppo.md), iterative symmetric problem
ITERATIVE_DEFAULTS = PPOConfig(learning_rate=1e-3, n_steps=64, batch_size=1024, n_epochs=10,
                               gamma=0.99, gae_lambda=0.95, ent_coef=0.0, log_std_init=-1.0)
