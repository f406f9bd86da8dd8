#!/usr/bin/env python
"""Reproduce the MBI paper's Appendix C (C.1–C.18) honestly: claim vs measured vs correct,
with a two-axis verdict (numbers, claim) computed for every experiment.

    python scripts/reproduce_appendix_c.py                              # quick mode, writes runs/appendix_c
    python scripts/reproduce_appendix_c.py --full                       # the paper's iteration counts (slow)
    python scripts/reproduce_appendix_c.py --only C.2,C.5               # a subset
    python scripts/reproduce_appendix_c.py --out results/appendix_c     # regenerate the committed results

Writes ``appendix_c.json``, ``report.md``, ``run_meta.json`` (versions, threads, CPU, config) and
figures to ``--out`` (default ``runs/appendix_c``, ignored by git: the committed ``results/``
change only when you ask for it) and prints a summary table.

Each experiment is a job (docs/long_runs.md): its record goes to OUT/records/ when it finishes,
and rerunning the same command skips the finished ones (--fresh runs all again); the report is
built from the records and marks experiments without one. Ctrl-C / SIGTERM stop cleanly;
--workers N runs experiments in N processes; one process writes a folder at a time.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from experiments.appendix_c import EXPERIMENTS, Config
from experiments.appendix_c.runner import appendix_jobs, error_entry
from experiments.jobs import cli_session, read_records, run_jobs
from experiments.report import print_summary, write_report
from mbi_envs.cli import positive_int


def _experiment_ids(text: str) -> list[str]:
    ids = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [i for i in ids if i not in EXPERIMENTS]
    if not ids or unknown:
        raise argparse.ArgumentTypeError(f"unknown experiment id(s) {unknown or text!r}; choose from "
                                         f"{', '.join(EXPERIMENTS)}")
    return ids


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/appendix_c"),
                    help="output folder (default: runs/appendix_c; results/appendix_c holds the committed run)")
    ap.add_argument("--full", action="store_true", help="the paper's iteration counts (slow)")
    ap.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--only", type=_experiment_ids, default=None, help="comma-separated ids, e.g. C.2,C.5")
    ap.add_argument("--seed", type=_seed, default=0, help="seed for random starts, noise and PPO (default 0)")
    again = ap.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", default=True,
                       help="skip experiments that have a record in OUT/records (the default)")
    again.add_argument("--fresh", action="store_true", help="delete OUT's records and run every experiment again")
    ap.add_argument("--workers", type=positive_int, default=1, help="processes running experiments (default 1)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        ap.error(f"argument --out: {str(args.out)!r} exists and is not a folder")
    args.parser = ap
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    make = Config.full if args.full else Config.tiny if args.tiny else Config.quick
    cfg = make(seed=args.seed, out=args.out)
    jobs = appendix_jobs(cfg, only=args.only)
    keys = {j.key for j in jobs}
    status = lambda: f"{len(keys & set(read_records(args.out)))} of {len(jobs)} experiments have records"  # noqa: E731
    with cli_session(args.out, lambda m: args.parser.error(f"argument --out: {m}"), status=status):
        t0 = time.perf_counter()
        done = run_jobs(jobs, args.out, workers=args.workers, fresh=args.fresh, progress=not args.no_progress,
                        threads=1, desc="Appendix C")
        found = read_records(args.out)
        results = {}
        for job, record in zip(jobs, done.records):
            if record is not None:
                results[job.label] = record
            elif job.key in done.failed:
                results[job.label] = error_entry(done.failed[job.key])
            else:
                results[job.label] = error_entry("not run yet (interrupted): rerun the same command to run it")
        seconds = sum(found[k]["seconds"] for k in keys if k in found)
        paths = write_report(results, cfg, args.out, seconds)
    print_summary(results)
    print(f"wrote {paths['report']} and {paths['json']}: {seconds:.0f} s of experiments ({cfg.mode} mode; "
          f"skipped {done.skipped} finished, ran {done.ran} in {time.perf_counter() - t0:.0f} s)")
    return 1 if done.missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
