"""PPO trained through the batched path on what the dict path could not afford: C.2 with N = 1000
(one-shot, team or difference reward) and C.15 (dynamic target, iterative, the switch inside every episode).

Each run is ``baselines.ppo.train_ppo(..., PPOConfig(vectorized=True))`` with the README's
one-shot / iterative hyperparameters, scored by ``mbi_envs.evaluate`` on held-out seeds (the
dict env, as every contender). Writes OUT.json (every run, its curve) and OUT.md (mean ± sd of
the final loss gap and relative gap over seeds, training time).

    PYTHONPATH=. nice -n 10 python scripts/vec_ppo_runs.py --seeds 0 1 2 3 4 --out results/vec_env/ppo_runs
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from experiments.cli import check_seeds, nonnegative_int, output_path, positive_int, script_parser  # noqa: E402

#: label -> (env id, env kwargs, base config: baselines.ppo_experiment's ONE_SHOT_ or ITERATIVE_DEFAULTS,
#: copies); C.2 as in experiments/benchmark (Y=10, λ=0.1)
RUNS = {
    "C.2-N1000": ("symmetric_parallel_v0", {"n_agents": 1000, "Y": 10.0, "lam": 0.1, "mode": "one_shot",
                                            "reward_mode": "team"}, "ONE_SHOT_DEFAULTS", 1),
    "C.2-N1000-difference": ("symmetric_parallel_v0", {"n_agents": 1000, "Y": 10.0, "lam": 0.1, "mode": "one_shot",
                                                       "reward_mode": "difference"}, "ONE_SHOT_DEFAULTS", 1),
    "C.15": ("dynamic_target_v0", {"switch_step": 25, "max_steps": 50, "mode": "iterative",
                                   "reward_mode": "team"}, "ITERATIVE_DEFAULTS", 16),
}


def summarize(values: list[float]) -> str:
    """``mean ± sd`` (one value: itself; none: n/a)."""
    if len(values) < 2:
        return f"{values[0]:.4g}" if values else "n/a"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}"


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--seeds", type=nonnegative_int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--timesteps", type=positive_int, default=192_000, help="agent-steps per run")
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--out", required=True, type=output_path, help="write OUT.json and OUT.md")
    args = parser.parse_args()
    check_seeds(parser, "--seeds", args.seeds)
    if args.timesteps < 4:
        parser.error(f"argument --timesteps: must be >= 4 (evaluated every timesteps // 4), got {args.timesteps}")
    import torch

    import baselines.ppo_experiment as defaults
    from baselines.ppo import train_ppo

    torch.set_num_threads(1)
    load_start = [round(v, 2) for v in os.getloadavg()]
    records = []
    for label in args.runs:
        env_id, env_kwargs, base, copies = RUNS[label]
        for seed in args.seeds:
            config = replace(getattr(defaults, base), total_timesteps=args.timesteps, seed=seed, n_envs=copies, vectorized=True,
                             eval_every=args.timesteps // 4, eval_seeds=(1000, 1001), tensorboard=False)
            result = train_ppo(env_id, env_kwargs, config)
            rec = {"run": label, "env_id": env_id, "env_kwargs": env_kwargs, "seed": seed, "copies": copies,
                   "agent_steps": args.timesteps, "train_seconds": result.train_seconds,
                   "final": result.final, "curve": result.curve}
            print(f"{label} seed {seed}: loss gap {result.final.get('loss_gap'):.4g}, relative gap "
                  f"{result.final.get('relative_gap')}, {result.train_seconds:.1f} s", flush=True)
            records.append(rec)
            write(Path(args.out), args, records, load_start)  # after every run: a stopped job keeps its runs


def write(out: Path, args: argparse.Namespace, records: list[dict], load_start: list[float]) -> None:
    """OUT.json (every finished run) and OUT.md (mean ± sd per run label)."""
    from mbi_envs.evaluation import json_safe

    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"load_average_start": load_start, "load_average_end": [round(v, 2) for v in os.getloadavg()],
            "torch_threads": 1, "cpu_count": os.cpu_count()}
    out.with_suffix(".json").write_text(json.dumps(json_safe({"meta": meta, "runs": records}), indent=2))
    lines = [f"# PPO through the batched path (seeds {sorted({r['seed'] for r in records})}, {args.timesteps:,} agent-steps each, "
             f"load average {meta['load_average_start']} → {meta['load_average_end']})", "",
             "| run | env | final loss gap | final relative gap | train s per seed |", "|---|---|---:|---:|---:|"]
    for label in dict.fromkeys(r["run"] for r in records):
        rs = [r for r in records if r["run"] == label]
        gaps = [r["final"]["loss_gap"] for r in rs if r["final"].get("loss_gap") is not None]
        rel = [r["final"]["relative_gap"] for r in rs if r["final"].get("relative_gap") is not None]
        secs = [r["train_seconds"] for r in rs]
        lines.append(f"| {label} | {rs[0]['env_id']} {json.dumps(rs[0]['env_kwargs'])} | {summarize(gaps)} | "
                     f"{summarize(rel)} | {summarize(secs)} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
