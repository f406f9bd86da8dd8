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
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from experiments.appendix_c import EXPERIMENTS, Config, run_all
from experiments.report import print_summary, write_report


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
    args = ap.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        ap.error(f"argument --out: {str(args.out)!r} exists and is not a folder")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    make = Config.full if args.full else Config.tiny if args.tiny else Config.quick
    cfg = make(seed=args.seed, out=args.out)
    t0 = time.perf_counter()
    results = run_all(cfg, only=args.only, progress=True)
    seconds = time.perf_counter() - t0
    paths = write_report(results, cfg, args.out, seconds)
    print_summary(results)
    print(f"wrote {paths['report']} and {paths['json']} in {seconds:.0f} s ({cfg.mode} mode)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
