"""baselines: contenders other than MBI agents, scored by the same ``mbi_envs.evaluate``.

* :mod:`.ppo`: Stable-Baselines3 PPO with one policy shared by all agents (parameter sharing
  through :class:`~.vec_env.ParallelEnvVecEnv`), seeded, with periodic evaluation.
* :mod:`.classical`: the centralized optimizer (L-BFGS-B) and the uncoordinated Nash
  equilibrium, as constant-action policies.
"""
