#!/usr/bin/env python
"""Reproduce the MBI paper's Appendix C (C.1–C.18) honestly: claim vs measured vs correct.

    python scripts/reproduce_appendix_c.py                 # quick mode (< 5 min on 2 cores)
    python scripts/reproduce_appendix_c.py --full          # the paper's iteration counts
    python scripts/reproduce_appendix_c.py --only C.2,C.5  # a subset

Writes ``appendix_c.json``, ``report.md`` and figures to ``--out`` and prints a summary table.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.appendix_c import Config, run_all  # noqa: E402
from experiments.report import print_summary, write_report  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/appendix_c"), help="output folder")
    ap.add_argument("--full", action="store_true", help="the paper's iteration counts (slow)")
    ap.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--only", default=None, help="comma-separated ids, e.g. C.2,C.5")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    make = Config.full if args.full else Config.tiny if args.tiny else Config.quick
    cfg = make(seed=args.seed, out=args.out)
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    t0 = time.perf_counter()
    results = run_all(cfg, only=only, progress=True)
    seconds = time.perf_counter() - t0
    paths = write_report(results, cfg, args.out, seconds)
    print_summary(results)
    print(f"wrote {paths['report']} and {paths['json']} in {seconds:.0f} s ({cfg.mode} mode)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
