"""Train PPO (Stable-Baselines3, one policy shared by all agents) on any registered mbi_envs id.

    python scripts/train_ppo.py --env symmetric_parallel_v0 --total-timesteps 200000 --seed 0 \
        --out runs/ppo --env-kwargs '{"n_agents": 100, "mode": "one_shot"}'

Writes DIR/model.zip, DIR/tb/ (TensorBoard) and DIR/summary.json (final evaluation, training
curve, hyperparameters). ``--total-timesteps`` counts agent-steps.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import fields, replace

from baselines.ppo import PPOConfig, train_ppo
from baselines.ppo_experiment import ONE_SHOT_DEFAULTS, ITERATIVE_DEFAULTS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", required=True, help="a registered id, see mbi_envs.env_ids()")
    parser.add_argument("--total-timesteps", type=int, default=100_000, help="agent-steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--env-kwargs", default="{}", help="JSON object of environment arguments")
    parser.add_argument("--eval-every", type=int, default=None, help="agent-steps between evaluations")
    parser.add_argument("--num-envs", type=int, default=None, help="environment copies (PPOConfig.n_envs)")
    parser.add_argument("--vectorized", action="store_true",
                        help="step the copies as one batched env (mbi_envs.make_vec), not as dict envs")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help=f"override PPOConfig fields: {[f.name for f in fields(PPOConfig)]}")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    env_kwargs = json.loads(args.env_kwargs)
    if not isinstance(env_kwargs, dict):
        raise SystemExit(f"--env-kwargs must be a JSON object, got {args.env_kwargs!r}")
    base = ONE_SHOT_DEFAULTS if env_kwargs.get("mode") == "one_shot" else ITERATIVE_DEFAULTS
    overrides = {"total_timesteps": args.total_timesteps, "seed": args.seed, "progress_bar": True,
                 "eval_every": args.eval_every or max(args.total_timesteps // 20, 1)}
    if args.num_envs is not None:
        overrides["n_envs"] = args.num_envs
    overrides["vectorized"] = args.vectorized
    types = {f.name: f.type for f in fields(PPOConfig)}
    for item in args.set:
        name, _, value = item.partition("=")
        if name not in types:
            raise SystemExit(f"--set: unknown PPOConfig field {name!r}")
        overrides[name] = json.loads(value)
    result = train_ppo(args.env, env_kwargs, replace(base, **overrides), out_dir=args.out)
    final = result.final
    print(f"trained {args.total_timesteps} agent-steps in {result.train_seconds:.1f} s; "
          f"final loss gap {final.get('loss_gap')}, distance to optimum {final.get('distance_to_optimum')}")
    print(f"wrote {args.out}/model.zip, {args.out}/summary.json, {args.out}/tb/")


if __name__ == "__main__":
    main()
