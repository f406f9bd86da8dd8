"""The small PPO hyperparameter sweep behind the defaults in baselines/ppo_experiment.py.

    python scripts/ppo_sweep.py --out results/ppo_sweep.json [--timesteps 200000]

Symmetric problem (Y = 10, λ = 0.1), N in {2, 100}, one-shot and iterative modes, team reward;
for each learning rate and initial log-std, the final deterministic loss gap after
``--timesteps`` agent-steps (seed 0).
"""
from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from baselines.ppo import PPOConfig, train_ppo
from baselines.ppo_experiment import ITERATIVE_DEFAULTS, ONE_SHOT_DEFAULTS
from mbi_envs.cli import output_path, positive_int

GRID = {"learning_rate": [3e-4, 1e-3], "log_std_init": [-1.0, -2.5]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=output_path, default="results/ppo_sweep.json")
    parser.add_argument("--timesteps", type=positive_int, default=50_000)
    parser.add_argument("--iterative-horizon", type=positive_int, default=20)
    args = parser.parse_args()
    rows = []
    settings = list(itertools.product(["one_shot", "iterative"], [2, 100], ["team"], *GRID.values()))
    for mode, n, reward, lr, log_std in tqdm(settings, desc="sweep"):
        base: PPOConfig = ONE_SHOT_DEFAULTS if mode == "one_shot" else ITERATIVE_DEFAULTS
        env_kwargs = {"n_agents": n, "mode": mode, "reward_mode": reward}
        if mode == "iterative":
            env_kwargs["max_steps"] = args.iterative_horizon
        cfg = replace(base, total_timesteps=args.timesteps, learning_rate=lr, log_std_init=log_std,
                      eval_every=max(args.timesteps // 4, 1), tensorboard=False)
        res = train_ppo("symmetric_parallel_v0", env_kwargs, cfg)
        rows.append({"mode": mode, "n_agents": n, "reward_mode": reward, "learning_rate": lr,
                     "log_std_init": log_std, "loss_gap": res.final.get("loss_gap"),
                     "relative_gap": res.final.get("relative_gap"), "train_seconds": res.train_seconds,
                     "curve": [(p["env_steps"], p["loss_gap"]) for p in res.curve]})
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=1))
    for r in rows:
        print(f"{r['mode']:9s} N={r['n_agents']:3d} {r['reward_mode']:10s} lr={r['learning_rate']:.0e} "
              f"log_std={r['log_std_init']:+.1f}: gap {r['loss_gap']:.4g} ({r['train_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
