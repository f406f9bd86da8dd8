#!/usr/bin/env python
"""Reproduce the MBI paper's Appendix C (C.1–C.18) honestly: claim vs measured vs correct,
with a two-axis verdict (numbers, claim) computed for every experiment.

    python scripts/reproduce_appendix_c.py                              # quick mode, writes runs/appendix_c
    python scripts/reproduce_appendix_c.py --full                       # the paper's iteration counts (slow)
    python scripts/reproduce_appendix_c.py --only C.2,C.5               # a subset
    python scripts/reproduce_appendix_c.py --out results/appendix_c     # regenerate the committed results

Writes ``appendix_c.json``, ``report.md``, ``run_meta.json`` (versions, threads, CPU, config) and
figures to ``--out`` (default ``runs/appendix_c``, ignored by git: the committed ``results/``
change only when you ask for it) and prints a summary table (also written to ``summary.csv``).

Each experiment is a job (docs/long_runs.md): its record goes to OUT/records/ when it finishes,
and rerunning the same command skips the finished ones (--fresh runs all again); the report is
built from the records and marks experiments without one. Ctrl-C / SIGTERM stop cleanly;
--workers N runs experiments in N processes; one process writes a folder at a time.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from experiments.cli import add_resume_options, add_worker_options, nonnegative_int, output_dir, script_parser, session
from experiments.jobs import recorded_seconds, records_status, run_jobs  # the standard library only


def _experiment_ids(text: str) -> list[str]:
    from experiments.appendix_c import EXPERIMENTS

    ids = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [i for i in ids if i not in EXPERIMENTS]
    if not ids or unknown:
        raise argparse.ArgumentTypeError(f"unknown experiment id(s) {unknown or text!r}; choose from "
                                         f"{', '.join(EXPERIMENTS)}")
    return ids


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = script_parser(__doc__)
    ap.add_argument("--out", type=output_dir, default=Path("runs/appendix_c"),
                    help="output folder (default: runs/appendix_c; results/appendix_c holds the committed run)")
    ap.add_argument("--full", action="store_true", help="the paper's iteration counts (slow)")
    ap.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--only", type=_experiment_ids, default=None, help="comma-separated ids, e.g. C.2,C.5")
    ap.add_argument("--seed", type=nonnegative_int, default=0, help="seed for random starts, noise and PPO (default 0)")
    add_resume_options(ap, "experiments")
    add_worker_options(ap, "experiments")
    args = ap.parse_args(argv)
    args.parser = ap
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from experiments.appendix_c import Config
    from experiments.appendix_c.runner import appendix_jobs, error_entry
    from experiments.report import print_summary, write_report

    make = Config.full if args.full else Config.tiny if args.tiny else Config.quick
    cfg = make(seed=args.seed, out=args.out)
    jobs = appendix_jobs(cfg, only=args.only)
    with session(args.parser, args.out, status=records_status(args.out, jobs, "experiments")):
        t0 = time.perf_counter()
        done = run_jobs(jobs, args.out, workers=args.workers, fresh=args.fresh, progress=not args.no_progress,
                        threads=1, desc="Appendix C")
        results = {}
        for job, record in zip(jobs, done.records):
            if record is not None:
                results[job.label] = record
            elif job.key in done.failed:
                results[job.label] = error_entry(done.failed[job.key])
            else:
                results[job.label] = error_entry("not run yet (interrupted): rerun the same command to run it")
        seconds = recorded_seconds(args.out, jobs)
        paths = write_report(results, cfg, args.out, seconds)
        print_summary(results, args.out / "summary.csv")
    print(f"wrote {paths['report']}, {paths['json']} and {args.out / 'summary.csv'}: {seconds:.0f} s of experiments "
          f"({cfg.mode} mode; skipped {done.skipped} finished, ran {done.ran} in {time.perf_counter() - t0:.0f} s)")
    return 1 if done.missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
