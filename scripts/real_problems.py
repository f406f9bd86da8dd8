"""Real problems: economic dispatch, supply chain and escaping local minima (MBI vs PPO vs solvers).

    python scripts/real_problems.py --quick --out runs/real-quick     # about 2-3 min on 2 cores
    python scripts/real_problems.py --mode full --out results/real_problems

Writes OUT/real_problems.json and OUT/real_problems.md. The logic lives in experiments/real_problems.py;
docs/real_problems.md explains the studies.

Each study is a job (docs/long_runs.md): its record goes to OUT/records/ as soon as it finishes,
a rerun with the same --out skips the finished ones (--fresh: all again), --workers 3 runs the
three side by side; Ctrl-C / SIGTERM stop cleanly; one process writes a folder at a time.
"""
from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch

from experiments.jobs import available_cores, cli_session, read_records, run_jobs
from experiments.real_problems import MODES, assemble, real_problem_jobs, write_report
from mbi_envs.cli import positive_int


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--quick", action="store_true", help="same as --mode quick")
    parser.add_argument("--mode", choices=sorted(MODES), default="full", help="budget preset (default: full)")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", default=True,
                       help="skip the studies that have a record in OUT/records (the default)")
    again.add_argument("--fresh", action="store_true", help="delete OUT's records and run every study again")
    parser.add_argument("--workers", type=positive_int, default=1, help="processes running studies (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else args.mode
    jobs = real_problem_jobs(mode)
    with cli_session(args.out, lambda m: parser.error(f"argument --out: {m}")):
        result = run_jobs(jobs, args.out, workers=args.workers, fresh=args.fresh, progress=not args.no_progress,
                          threads=1, desc="real problems")
        found = read_records(args.out)
        seconds = sum(found[j.key]["seconds"] for j in jobs if j.key in found)
        if result.missing:
            print(f"no report: {', '.join(result.missing)} not finished (records of the others are in "
                  f"{args.out / 'records'}); rerun the same command to finish")
            raise SystemExit(1)
        payload = assemble(mode, {j.label: r for j, r in zip(jobs, result.records)}, seconds)
        payload["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                              "torch": torch.__version__, "cpus": available_cores(), "torch_threads": 1,
                              "workers": args.workers}
        for path in write_report(payload, args.out):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
