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

The studies live in an Optuna storage (--storage; default: the journal file OUT.journal next to
--out), so a stopped or killed sweep resumes where it was when rerun (--fresh deletes its studies
first), and several processes, or machines sharing the storage, work on one sweep at once: give
each its own --sampler-seed (docs/long_runs.md). --max-trials counts the trials of all of them.

    python scripts/ppo_sweep.py --out runs/sweep.json --sampler-seed 1 &     # two processes,
    python scripts/ppo_sweep.py --out runs/sweep.json --sampler-seed 2       # one sweep
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from experiments.cli import (check_seeds, existing_file, json_object, nonnegative_int, output_path, positive_float,
                             positive_int, script_parser)

# experiments.ppo_tuning.FAMILY_SCENARIOS's keys, known before the heavy import (tests/test_cli_help.py checks)
FAMILIES = ("assembly", "symmetric_small", "symmetric_large", "heterogeneous", "nonconvex")


def main(argv: list[str] | None = None) -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--out", type=output_path, default=Path("runs/ppo_sweep.json"),
                        help="the sweep's JSON (default runs/ppo_sweep.json; a .md table is written beside it)")
    parser.add_argument("--tuned", type=output_path, default=Path("runs/ppo_tuned.json"),
                        help="the chosen configuration per family (default runs/ppo_tuned.json)")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--seeds", type=nonnegative_int, nargs="+", default=[0, 1, 2],
                        help="seeds per configuration (at least 3; default 0 1 2)")
    parser.add_argument("--timesteps", type=positive_int, default=20_000, help="agent-steps per run")
    parser.add_argument("--time-budget-min", type=positive_float, default=40.0,
                        help="stop starting trials after this many minutes (default 40)")
    parser.add_argument("--max-trials", type=positive_int, default=50, help="trials per family at most")
    parser.add_argument("--n-startup-trials", type=positive_int, default=4,
                        help="random trials before TPE models the objective (default 4)")
    parser.add_argument("--continue-from", type=existing_file, default=None, metavar="SWEEP_JSON",
                        help="warm-start each family from this sweep's trials of it")
    parser.add_argument("--merge", type=existing_file, nargs="+", default=None, metavar="SWEEP_JSON",
                        help="run nothing: merge these sweeps into --out and --tuned")
    parser.add_argument("--storage", default=None, metavar="URL_OR_FILE",
                        help="Optuna storage shared by the processes of one sweep: an RDB URL (sqlite:///x.db, "
                             "postgresql://...) or a journal file path (default: OUT.journal)")
    parser.add_argument("--sampler-seed", type=nonnegative_int, default=0,
                        help="TPE's seed (default 0); give each parallel process its own")
    parser.add_argument("--fresh", action="store_true", help="delete this sweep's studies in the storage first")
    parser.add_argument("--enqueue", type=json_object, nargs="+", default=(), metavar="JSON",
                        help="configurations to try first in a new study, e.g. '{\"batch_size\": \"full\"}'; "
                             "keys left out come from the best warm-start trial (--continue-from) or the defaults")
    args = parser.parse_args(argv)
    check_seeds(parser, "--seeds", args.seeds, at_least=3)
    if args.enqueue:
        from experiments.ppo_tuning import check_space_params
        from mechanism.errors import InvalidParameterError

        try:
            for extra in args.enqueue:
                check_space_params(extra, option="--enqueue")
        except InvalidParameterError as exc:
            parser.error(f"argument {exc}")
    from experiments.jobs import OutputError, validate_out_dir, write_json_atomic
    from experiments.ppo_tuning import merge_sweeps, sweep_markdown
    from mbi_envs.evaluation import json_safe

    for option, path in (("--out", args.out), ("--tuned", args.tuned)):
        try:
            validate_out_dir(path.parent, option=f"{option} {str(path)!r}: folder")
        except OutputError as exc:
            parser.error(f"argument {option}: {exc}")
    if args.merge:
        try:
            result = merge_sweeps([json.loads(Path(f).read_text()) for f in args.merge])
        except (ValueError, KeyError) as exc:
            parser.error(f"argument --merge: cannot merge these files: {exc}")
    else:
        result = _sweep(args)
    for path, payload in ((args.out, result), (args.tuned, {k: result[k] for k in result if k != "trials"})):
        write_json_atomic(path, json_safe(payload))
    args.out.with_suffix(".md").write_text(sweep_markdown(result))
    for key, cfg in result["configs"].items():
        print(f"{key}: objective {cfg['objective']:.2f} (default {cfg['default_objective']:.2f}, "
              f"{cfg['trials']} trials): {cfg}")
    print(f"{result['seconds'] / 60:.1f} min; wrote {args.out} (and .md) and {args.tuned}")


def _sweep(args: argparse.Namespace) -> dict:
    """Run (or resume) the sweep in its storage; a stop prints one line and exits 130/143."""
    import optuna

    from experiments.appendix_c import run_metadata
    from experiments.jobs import Stopped, stop_on_signals
    from experiments.ppo_tuning import journal_storage, run_sweep, study_name

    where = args.storage or str(args.out) + ".journal"
    storage = where if "://" in where else journal_storage(where)
    if args.fresh:
        for fam in args.families:
            try:
                optuna.delete_study(study_name=study_name(fam, args.seeds, args.timesteps), storage=storage)
            except KeyError:
                pass
    earlier = json.loads(args.continue_from.read_text())["trials"] if args.continue_from else None
    print(f"PPO sweep: {len(args.families)} families × up to {args.max_trials} trials × {len(args.seeds)} seeds × "
          f"{args.timesteps:,} agent-steps, at most {args.time_budget_min:g} min in this process; studies in {where}",
          flush=True)
    try:
        with stop_on_signals():
            result = run_sweep(args.families, args.seeds, args.timesteps, 60 * args.time_budget_min, args.max_trials,
                               sampler_seed=args.sampler_seed, n_startup_trials=args.n_startup_trials,
                               warm_start=earlier, progress=lambda s: print(s, flush=True), storage=storage,
                               enqueue=args.enqueue)
    except Stopped as stop:
        print(f"\nstopped by {signal.Signals(stop.signum).name}: the completed trials are in {where}; to resume, "
              "rerun the same command", file=sys.stderr, flush=True)
        raise SystemExit(128 + stop.signum) from None
    result["metadata"] = run_metadata()
    result["storage"] = where
    return result


if __name__ == "__main__":
    main()
