"""RLlib's PettingZoo recipe on mbi_envs: one shared PPO policy, and a rollout with rendering.

Ray is not a dependency of this project (Ray 2.60 pins gymnasium 1.2.2): run this in a venv of its
own, made as docs/ecosystem.md (RLlib) says, from the repository root:

    /work/venvs/rllib/bin/python scripts/rllib_check.py

For each env it wraps ``mbi_envs.make(id, action_space="normalized", ...)`` in RLlib's
``ParallelPettingZooEnv``, trains PPO with ONE policy shared by every agent for ``--iterations``
iterations, then steps the wrapped env and calls its ``render()`` (which calls the env's
``render(mode)``). Last, for contrast, the shared policy on dispatch's native per-unit boxes
(``action_space="native"``), which RLlib's shared policy cannot take. Prints one line per check
with what happened (a failure is printed, not raised).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from experiments.cli import positive_int, script_parser  # noqa: E402

ENVS = {"economic_dispatch_v0": {"max_steps": 20}, "supply_chain_v0": {"max_steps": 20},
        "symmetric_parallel_v0": {"n_agents": 10, "max_steps": 20}}


def make(env_id: str, render_mode: str | None = None, action_space: str = "normalized"):
    """The RLlib-wrapped env (by default one ``[-1, 1]`` box for every agent)."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    import mbi_envs

    return ParallelPettingZooEnv(mbi_envs.make(env_id, action_space=action_space, render_mode=render_mode,
                                               **ENVS[env_id]))


def train_shared_policy(env_id: str, iterations: int, action_space: str = "normalized") -> str:
    """PPO with one policy for all agents; returns a one-line summary."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.tune.registry import register_env

    name = f"{env_id}-{action_space}"
    register_env(name, lambda _cfg: make(env_id, action_space=action_space))
    config = (PPOConfig().environment(name)
              .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, *args, **kwargs: "shared")
              .env_runners(num_env_runners=0)
              .training(train_batch_size=400, minibatch_size=100, num_epochs=1))
    algo = config.build_algo()
    start = time.perf_counter()
    for _ in range(iterations):
        result = algo.train()
    seconds = time.perf_counter() - start
    ret = result.get("env_runners", {}).get("episode_return_mean")
    steps = result.get("num_env_steps_sampled_lifetime")
    algo.stop()
    return f"{iterations} iterations, {steps} env steps sampled, episode_return_mean {ret}, {seconds:.0f} s"


def rollout_with_render(env_id: str) -> str:
    """Reset, step with sampled actions and render through RLlib's wrapper."""
    env = make(env_id, render_mode="ansi")
    obs, _ = env.reset(seed=0)
    env.step({a: env.action_space[a].sample() if isinstance(env.action_space, dict) else
              env.get_action_space(a).sample() for a in obs})
    text = env.render()
    return f"render() returned {type(text).__name__} of {len(text or '')} characters"


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--iterations", type=positive_int, default=2, help="PPO iterations per env (default 2)")
    parser.add_argument("--native-only", action="store_true",
                        help="only the shared policy on dispatch's native per-unit boxes (expected to fail)")
    args = parser.parse_args()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    checks = [("economic_dispatch_v0", "shared policy, native boxes",
               lambda: train_shared_policy("economic_dispatch_v0", 1, action_space="native"))]
    for env_id in ENVS if not args.native_only else []:
        for name, check in (("shared policy", lambda e=env_id: train_shared_policy(e, args.iterations)),
                            ("rollout with render", lambda e=env_id: rollout_with_render(e))):
            checks.append((env_id, name, check))
    for env_id, name, check in checks[1:] + checks[:1]:
        try:
            print(f"{env_id} {name}: OK, {check()}", flush=True)
        except Exception as exc:  # a failure is a result: print it and go on
            print(f"{env_id} {name}: FAILED {type(exc).__name__}: {str(exc)[:300]}", flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main()
