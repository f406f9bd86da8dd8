"""Train PPO (Stable-Baselines3, one policy shared by all agents) on any registered mbi_envs id.

    python scripts/train_ppo.py --env symmetric_parallel_v0 --total-timesteps 200000 --seed 0 \
        --out runs/ppo --env-kwargs '{"n_agents": 100, "mode": "one_shot"}' [--save-best]

Writes DIR/model.zip (the final policy), with --save-best also DIR/best_model.zip (the policy at
the evaluation with the smallest loss gap), DIR/tb/ (TensorBoard) and DIR/summary.json (final
evaluation, training curve, hyperparameters). ``--total-timesteps`` counts agent-steps; SB3
trains in whole rollouts, so the run is rounded up to one (the script prints both numbers).

Evaluations of an iterative env play ``--eval-horizon`` joint steps (default: as many as the
training budget holds per env copy, rounded up to whole rollouts, at most the env's horizon), so the first
evaluation of a short run takes no longer than its training. The run is a resumable job
(docs/long_runs.md): rerunning the same command with the same --out skips it once finished
(--fresh trains again); Ctrl-C / SIGTERM stop cleanly (exit 130 / 143); a second process on the
same --out exits naming the one that holds it.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import MISSING, asdict, fields, replace
from typing import TYPE_CHECKING, Any

from experiments.cli import (check_env_kwargs, json_object, nonnegative_int, output_dir, positive_int,
                             registered_env_id, script_parser)

if TYPE_CHECKING:  # imported for real after parsing (it pulls in SB3)
    from baselines.ppo import PPOConfig


def config_fields() -> dict[str, Any]:
    """PPOConfig's fields by name (imports SB3's side of the project: called only after parsing starts)."""
    from baselines.ppo import PPOConfig

    return {f.name: f for f in fields(PPOConfig)}


def config_override(text: str) -> tuple[str, Any]:
    """``FIELD=VALUE`` for a PPOConfig field, the value converted to the field's type."""
    known = config_fields()
    name, sep, raw = text.partition("=")
    if not sep or name not in known:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIELD=VALUE with FIELD one of {sorted(known)}")
    field = known[name]
    default = field.default if field.default is not MISSING else field.default_factory()
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            value: Any = raw.lower() in ("true", "1")
        elif isinstance(default, tuple):
            value = tuple(type(default[0])(v) for v in raw.strip("()[] ").split(",") if v.strip())
        else:
            value = type(default)(raw)
    except (ValueError, IndexError):
        kind = (f"comma-separated list of {type(default[0]).__name__}" if isinstance(default, tuple)
                else type(default).__name__)
        raise argparse.ArgumentTypeError(f"{text!r}: {name} takes a {kind}, got {raw!r}") from None
    return name, value


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, PPOConfig]:
    """Parse and check every option; errors name the option and the value."""
    parser = script_parser(__doc__)
    parser.add_argument("--env", required=True, type=registered_env_id, help="a registered id, see mbi_envs.env_ids()")
    parser.add_argument("--total-timesteps", type=positive_int, default=20_000,
                        help="agent-steps (default 20,000: under a minute on one core)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="PPO's seed (default 0)")
    parser.add_argument("--out", required=True, type=output_dir, help="output folder")
    parser.add_argument("--env-kwargs", type=json_object, default={}, help="JSON object of environment arguments")
    parser.add_argument("--eval-every", type=positive_int, default=None, help="agent-steps between evaluations")
    parser.add_argument("--num-envs", type=positive_int, default=None, help="environment copies (PPOConfig.n_envs)")
    parser.add_argument("--vectorized", action="store_true",
                        help="step the copies as one batched env (mbi_envs.make_vec), not as dict envs")
    parser.add_argument("--save-best", action="store_true",
                        help="also keep the best evaluated policy as OUT/best_model.zip")
    parser.add_argument("--eval-horizon", type=positive_int, default=None,
                        help="joint steps per evaluation episode of an iterative env (default: "
                             "the joint steps each env copy takes in training, at most the env's horizon)")
    parser.add_argument("--set", nargs="*", default=[], type=config_override, metavar="FIELD=VALUE",
                        help="override fields of baselines.ppo.PPOConfig, e.g. learning_rate=1e-3 net_arch=64,64 "
                             "(a wrong FIELD lists them all)")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", default=True,
                       help="if OUT holds this finished run, do not train again (the default)")
    again.add_argument("--fresh", action="store_true", help="train again, replacing OUT's run")
    args = parser.parse_args(argv)
    import mbi_envs
    from baselines.ppo_experiment import ITERATIVE_DEFAULTS, ONE_SHOT_DEFAULTS

    check_env_kwargs(parser, "--env-kwargs", args.env, args.env_kwargs)
    one_shot = args.env_kwargs.get("mode") == "one_shot"
    base = ONE_SHOT_DEFAULTS if one_shot else ITERATIVE_DEFAULTS
    overrides = {"total_timesteps": args.total_timesteps, "seed": args.seed, "progress_bar": True,
                 "eval_every": args.eval_every or max(args.total_timesteps // 20, 1), "vectorized": args.vectorized,
                 **({"n_envs": args.num_envs} if args.num_envs is not None else {}), **dict(args.set)}
    config = replace(base, **overrides)
    try:
        config.validate()
    except ValueError as err:
        parser.error(f"argument --set: {err}")
    if not one_shot and args.eval_horizon is None:  # each env copy's joint steps in the whole (rounded) run
        env = mbi_envs.make(args.env, **args.env_kwargs)
        rollouts = math.ceil(config.total_timesteps / (config.n_steps * config.n_envs * env.n_agents))
        args.eval_horizon = min(env.max_steps, rollouts * config.n_steps)
        env.close()
    config = replace(config, eval_max_steps=None if one_shot else args.eval_horizon)
    return args, config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="train_ppo.py")  # for errors found after parsing
    args, config = parse_args(argv)
    from baselines.ppo import train_from_config
    from experiments.cli import session
    from experiments.jobs import Job, read_records, run_jobs

    job = Job(train_from_config, {"env_id": args.env, "env_kwargs": args.env_kwargs, "config": asdict(config),
                                  "out": str(args.out.resolve()), "save_best": args.save_best},
              label=f"PPO {args.env} seed {args.seed}")
    with session(parser, args.out, resume_hint="rerun the same command (training starts from the beginning)",
                 status=lambda: "training was not finished (no model kept)"):
        other = [d for k, d in read_records(args.out).items() if k != job.key]
        if other and not args.fresh:
            parser.error(f"argument --out: {args.out} holds a training run of another configuration "
                         f"({other[0]['label']}, seed {other[0]['config']['config']['seed']}); "
                         "use another --out, or --fresh to replace it")
        horizon = f", evaluation horizon {args.eval_horizon:,} joint steps" if args.eval_horizon else ""
        print(f"training PPO on {args.env} for {config.total_timesteps:,} agent-steps (seed {config.seed}), "
              f"evaluating every {config.eval_every:,} agent-steps on seeds {list(config.eval_seeds)}{horizon}",
              flush=True)
        result = run_jobs([job], args.out, fresh=args.fresh, progress=False, threads=config.torch_threads,
                          desc="train_ppo")
    if result.failed:
        raise SystemExit(f"training failed: {next(iter(result.failed.values()))}")
    summary = result.records[0]
    if result.skipped:
        print(f"already trained: {args.out} holds this run (records/{job.key}.json); --fresh trains again")
    final, steps = summary["final_evaluation"], summary["agent_steps"]
    print(f"trained {steps:,} agent-steps ({config.total_timesteps:,} requested, rounded up to whole "
          f"rollouts) in {summary['train_seconds']:.1f} s; final loss gap {final.get('loss_gap')}, "
          f"distance to optimum {final.get('distance_to_optimum')}")
    written = [f"{args.out}/model.zip", f"{args.out}/summary.json"] + ([f"{args.out}/tb/"] if config.tensorboard else [])
    if args.save_best:
        best = summary["best"]
        written.insert(1, f"{args.out}/best_model.zip")
        print(f"best policy at {best['env_steps']:,} agent-steps: loss gap {best.get('loss_gap')}")
    print("wrote " + ", ".join(written))


if __name__ == "__main__":
    main()
