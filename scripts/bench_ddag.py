"""D-DAG incentive speed (issue 21): the batched engine against today's path and hand-written references.

    python scripts/bench_ddag.py --out results/speed                 # about 3-5 minutes on 2 loaded cores
    python scripts/bench_ddag.py --quick --out runs/speed            # a smoke run (well under a minute)
    python scripts/bench_ddag.py --compile --out results/speed       # also torch.compile's cost (minutes more)

Ratios in one run: contenders of a case are timed interleaved and compared by their medians (the
machine's load average is recorded before and after). Writes OUT/ddag.json and OUT/ddag.md.
The logic lives in experiments/bench_ddag.py.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from experiments.cli import positive_int


def build_parser() -> argparse.ArgumentParser:
    """The command line (parsed before torch is imported, so ``--help`` is instant)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--quick", action="store_true", help="a smoke run: a small supply chain, two built-ins")
    parser.add_argument("--repeats", type=positive_int, default=9, help="interleaved rounds per case (default 9)")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (inductor)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write OUT/ddag.json and OUT/ddag.md."""
    args = build_parser().parse_args(argv)
    from experiments.bench_ddag import run_benchmark, write_markdown

    result = run_benchmark(repeats=3 if args.quick else args.repeats, quick=args.quick, compile_too=args.compile)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ddag.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = write_markdown(result)
    (args.out / "ddag.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
