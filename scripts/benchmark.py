"""Head-to-head benchmark: MBI agents vs PPO vs classical solvers, time-to-accuracy, measured.

    python scripts/benchmark.py --quick --out runs/bench-quick          # quick mode
    python scripts/benchmark.py --mode medium --out runs/bench-medium
    python scripts/benchmark.py --mode full --out runs/bench-full
    python scripts/benchmark.py --mode full --estimate-from runs/bench-quick/benchmark.json --out x
    python scripts/benchmark.py --from-json results/benchmark/benchmark.json --out runs/bench-refresh
    python scripts/benchmark.py --from-json runs/part1/benchmark.json runs/part2/benchmark.json --out runs/bench

Measured run times on the 2-core development machine (docs/benchmark.md has the details):
quick: 83 s idle (2 seeds, before the three non-oracle MBI variants were added), 444 s with
3 seeds and all variants under load; medium: 925 s under load (before the new variants);
full: 115 min as two --scenarios parts side by side (tuned PPO at 1M agent-steps dominates).
The default mode is quick: the command should finish while you wait; ask for --mode full
when you mean it.

--estimate-from FILE runs nothing: it predicts the run time of the configuration you ask for
from the per-step rates measured in FILE (a benchmark.json), and prints the ten largest parts.

Writes OUT/benchmark.json (one record per run; schema in docs/benchmark.md), OUT/benchmark.md
(medians and 95% bootstrap CIs; the headline: every MBI variant against every PPO variant),
OUT/benchmark_<scenario>.png, and prints the headline table (also written to
OUT/benchmark_headline.csv). The logic lives in experiments/benchmark/ (command.py: what this
script runs).

Long runs (docs/long_runs.md): every run is a job whose record is written to OUT/records/ as soon
as it finishes; rerunning the same command with the same --out skips the finished runs (--fresh
starts over), so a stopped run loses at most the runs in progress. Ctrl-C / SIGTERM stop cleanly
(exit 130 / 143). --report-only rebuilds the report from the records so far (it names the runs
still missing). --workers N runs N processes; --engine dask sends the runs to a Dask cluster.
One process writes a folder at a time (OUT/.lock).
"""
from __future__ import annotations

import argparse
import json

from experiments.cli import (add_resume_options, add_worker_options, check_choices, check_seeds, existing_file,
                             nonnegative_int, output_dir, positive_float, script_parser)

# Known before any heavy import, for --help; tests/test_cli_help.py checks them against the package.
MODE_NAMES = ("full", "medium", "quick")  # sorted(experiments.benchmark.MODES)
SCENARIO_KEYS = ("C.1", "C.2-N2", "C.2-N100", "C.2-N1000", "C.4", "C.10", "C.15")  # scenarios("quick") keys
ENGINE_NAMES = ("local", "dask")  # experiments.jobs.ENGINES


def _json_file(text: str) -> dict:
    path = existing_file(text)
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(payload, dict) or "records" not in payload:
        raise argparse.ArgumentTypeError(f"{text!r} is not a benchmark.json (no 'records')")
    return payload


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(__doc__)
    parser.add_argument("--out", required=True, type=output_dir, help="output folder")
    parser.add_argument("--quick", action="store_true", help="same as --mode quick")
    parser.add_argument("--mode", choices=MODE_NAMES, default="quick",
                        help="budget preset (default: quick; full: 115 min as two parts side by side on 2 cores)")
    parser.add_argument("--seeds", type=nonnegative_int, nargs="+", default=None, help="seeds (default: the mode's)")
    parser.add_argument("--scenarios", nargs="+", default=None, metavar="KEY",
                        help=f"scenario keys, any of {' '.join(SCENARIO_KEYS)} (default: all)")
    parser.add_argument("--budget", type=positive_float, default=1.0, help="multiply every budget by this factor")
    parser.add_argument("--from-json", type=_json_file, nargs="+", default=None, metavar="FILE",
                        help="run nothing: rebuild summary, headline, benchmark.md and plots from FILE's records "
                             "(several FILEs: parts of one run split by --scenarios, merged)")
    parser.add_argument("--estimate-from", type=_json_file, default=None, metavar="FILE",
                        help="run nothing: estimate this configuration's run time from FILE's measured runs")
    parser.add_argument("--ppo-tuned", type=existing_file, nargs="+", default=None, metavar="FILE",
                        help="PPO's tuned hyperparameters: these files in order, a later one's entry replacing "
                             "an earlier one's (default results/ppo_tuned.json); runs whose hyperparameters "
                             "differ from the default's get their own record keys")
    again = add_resume_options(parser, "runs")
    again.add_argument("--report-only", action="store_true",
                       help="run nothing: rebuild the report from OUT/records (naming the runs still missing)")
    add_worker_options(parser, "jobs")
    parser.add_argument("--engine", choices=ENGINE_NAMES, default="local",
                        help="local: a process pool of --workers; dask: a Dask cluster (pip install 'mbi-envs[cluster]')")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="with --engine dask: the scheduler's address (default: a local cluster of --workers)")
    return parser


def parse_args(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    check_seeds(parser, "--seeds", args.seeds)
    if args.ppo_tuned and (args.from_json or args.estimate_from):
        parser.error("argument --ppo-tuned: only for runs (not with --from-json or --estimate-from)")
    for path in args.ppo_tuned or ():
        try:
            configs = json.loads(path.read_text()).get("configs")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
            parser.error(f"argument --ppo-tuned: {str(path)!r} is not a tuned-configurations JSON object ({exc})")
        if not isinstance(configs, dict):
            parser.error(f"argument --ppo-tuned: {str(path)!r} has no \"configs\" object (see results/ppo_tuned.json)")
    if args.scheduler and args.engine != "dask":
        parser.error(f"argument --scheduler: {args.scheduler!r} needs --engine dask")
    from experiments.benchmark import merge_payloads, scenarios

    check_choices(parser, "--scenarios", args.scenarios, [s.key for s in scenarios("quick")])
    if args.from_json:
        try:
            args.from_json = merge_payloads(args.from_json)
        except (ValueError, KeyError) as exc:
            parser.error(f"argument --from-json: cannot merge these files: {exc}")
    return args


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parse_args(argv, parser)
    from experiments.benchmark.command import run_command

    run_command(args, parser)


if __name__ == "__main__":
    main()
