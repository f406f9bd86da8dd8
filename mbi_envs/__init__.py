"""mbi_envs: every Appendix C problem of the MBI paper as a registered PettingZoo parallel env.

>>> import mbi_envs
>>> env = mbi_envs.make("symmetric_parallel_v0", n_agents=100, mode="iterative")
>>> obs, infos = env.reset(seed=0)

One generic :class:`MechanismEnv` over any :class:`mechanism.Problem`; scenarios in
:mod:`mbi_envs.scenarios`; ids in :mod:`mbi_envs.registry`; the contender interface in
:mod:`mbi_envs.policies`; :func:`evaluate` for metrics; a centralized Gymnasium view
(``gymnasium.make("mbi_envs/SymmetricParallel-v0")``) in :mod:`mbi_envs.gym_wrapper`; a float32 /
``[-1, 1]``-action view for SB3 and SuperSuit in :mod:`mbi_envs.wrappers`. Every scenario module
follows PettingZoo's convention (``from mbi_envs.scenarios import symmetric_parallel_v0;
symmetric_parallel_v0.parallel_env(max_cycles=...)``, also ``env`` and ``raw_env``).
Your own problem: ``mbi_envs.register("my_problem_v0", build)`` with ``build(**kwargs) -> Scenario``
(tutorial: ``docs/your_problem.md``).
"""
from .env import MODES, REWARD_MODES, MechanismEnv
from .evaluation import EpisodeRecord, EvaluationResult, evaluate
from .policies import ConstantPolicy, MBIPolicy, Policy
from .registry import env_ids, make, make_aec, register, unregister
from .scenario import Scenario, fixed_start, uniform_start
from .gym_wrapper import CentralizedEnv, gym_id, register_gym_envs
from .wrappers import float32_view
from .vector import VectorMechanismEnv, make_vec  # batched envs (B copies as tensors)

register_gym_envs()

__all__ = ["MechanismEnv", "MODES", "REWARD_MODES", "EpisodeRecord", "EvaluationResult", "evaluate",
           "ConstantPolicy", "MBIPolicy", "Policy", "env_ids", "make", "make_aec", "register", "unregister", "Scenario",
           "fixed_start", "uniform_start",
           "CentralizedEnv", "gym_id", "register_gym_envs", "float32_view", "VectorMechanismEnv", "make_vec"]
