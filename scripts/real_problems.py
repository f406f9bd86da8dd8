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

from experiments.cli import add_resume_options, add_worker_options, output_dir, script_parser, session
from experiments.jobs import available_cores, recorded_seconds, run_jobs  # the standard library only

MODE_NAMES = ("full", "quick")  # sorted(experiments.real_problems.MODES); tests/test_cli_help.py checks


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(__doc__)
    parser.add_argument("--out", required=True, type=output_dir, help="output folder")
    parser.add_argument("--quick", action="store_true", help="same as --mode quick")
    parser.add_argument("--mode", choices=MODE_NAMES, default="full", help="budget preset (default: full)")
    add_resume_options(parser, "studies")
    add_worker_options(parser, "studies")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    import torch

    from experiments.real_problems import assemble, real_problem_jobs, write_report

    mode = "quick" if args.quick else args.mode
    jobs = real_problem_jobs(mode)
    with session(parser, args.out):
        result = run_jobs(jobs, args.out, workers=args.workers, fresh=args.fresh, progress=not args.no_progress,
                          threads=1, desc="real problems")
        if result.missing:
            print(f"no report: {', '.join(result.missing)} not finished (records of the others are in "
                  f"{args.out / 'records'}); rerun the same command to finish")
            raise SystemExit(1)
        payload = assemble(mode, {j.label: r for j, r in zip(jobs, result.records)}, recorded_seconds(args.out, jobs))
        payload["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                              "torch": torch.__version__, "cpus": available_cores(), "torch_threads": 1,
                              "workers": args.workers}
        for path in write_report(payload, args.out):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
