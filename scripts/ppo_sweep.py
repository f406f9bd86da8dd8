"""PPO's tuning budget: an Optuna (TPE) search per scenario family (one-shot, team reward).

    nice -n 10 python scripts/ppo_sweep.py --out results/ppo_sweep.json --tuned results/ppo_tuned.json \
        --time-budget-min 40 --timesteps 20000 --seeds 0 1 2

Go on from an earlier sweep (its trials seed TPE; new trials add to them), or merge sweeps run
in parallel processes (run nothing):

    python scripts/ppo_sweep.py --families symmetric_small --continue-from results/ppo_sweep.json ...
    python scripts/ppo_sweep.py --merge runs/a.json runs/b.json --out results/ppo_sweep.json \
        --tuned results/ppo_tuned.json

Writes every trial (hyperparameters, per-seed best and final gaps, seconds) to --out (and a table of
them next to it, .md) and the
chosen configuration per family to --tuned, which scripts/benchmark.py reads. The logic and the
search space are in experiments/ppo_tuning.py; docs/ppo.md records the budget it had.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from experiments.appendix_c import run_metadata
from experiments.ppo_tuning import FAMILY_SCENARIOS, merge_sweeps, run_sweep, sweep_markdown
from mbi_envs.cli import existing_file, output_path
from mbi_envs.evaluation import json_safe


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a positive {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be a positive {kind.__name__}, got {text!r}")
        return value
    return parse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=output_path, default=Path("runs/ppo_sweep.json"))
    parser.add_argument("--tuned", type=output_path, default=Path("runs/ppo_tuned.json"))
    parser.add_argument("--families", nargs="+", default=list(FAMILY_SCENARIOS), choices=list(FAMILY_SCENARIOS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--timesteps", type=_positive(int), default=20_000, help="agent-steps per run")
    parser.add_argument("--time-budget-min", type=_positive(float), default=40.0,
                        help="stop starting trials after this many minutes (default 40)")
    parser.add_argument("--max-trials", type=_positive(int), default=50, help="trials per family at most")
    parser.add_argument("--n-startup-trials", type=_positive(int), default=4,
                        help="random trials before TPE models the objective (default 4)")
    parser.add_argument("--continue-from", type=existing_file, default=None, metavar="SWEEP_JSON",
                        help="warm-start each family from this sweep's trials of it")
    parser.add_argument("--merge", type=existing_file, nargs="+", default=None, metavar="SWEEP_JSON",
                        help="run nothing: merge these sweeps into --out and --tuned")
    args = parser.parse_args(argv)
    if len(args.seeds) < 3:
        parser.error(f"argument --seeds: at least 3 seeds per configuration, got {args.seeds}")
    if args.merge:
        try:
            result = merge_sweeps([json.loads(Path(f).read_text()) for f in args.merge])
        except (ValueError, KeyError) as exc:
            parser.error(f"argument --merge: cannot merge these files: {exc}")
    else:
        earlier = json.loads(args.continue_from.read_text())["trials"] if args.continue_from else None
        result = run_sweep(args.families, args.seeds, args.timesteps, 60 * args.time_budget_min, args.max_trials,
                           n_startup_trials=args.n_startup_trials, warm_start=earlier,
                           progress=lambda s: print(s, flush=True))
        result["metadata"] = run_metadata()
    for path, payload in ((args.out, result), (args.tuned, {k: result[k] for k in result if k != "trials"})):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(json_safe(payload), indent=1, allow_nan=False))
    args.out.with_suffix(".md").write_text(sweep_markdown(result))
    for key, cfg in result["configs"].items():
        print(f"{key}: objective {cfg['objective']:.2f} (default {cfg['default_objective']:.2f}, "
              f"{cfg['trials']} trials): {cfg}")
    print(f"{result['seconds'] / 60:.1f} min; wrote {args.out} (and .md) and {args.tuned}")


if __name__ == "__main__":
    main()
