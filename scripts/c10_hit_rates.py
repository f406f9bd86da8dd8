"""Global-basin hit rates of the C.10 landscape (and the coupled Rastrigin) per agent rule, with enough
starts for a two-proportion test against plain gradient agents.

    python scripts/c10_hit_rates.py --starts 2000 --out runs/hit_rates                 # about 1.5 min
    python scripts/c10_hit_rates.py --starts 20000 --rastrigin-starts 4000 --out results/c10_hit_rates

Writes OUT/hit_rates.json and OUT/hit_rates.md. The logic (Wilson intervals, Fisher exact test with
Holm adjustment, McNemar on the paired starts, power, computed verdicts) is in experiments/hit_rates.py.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.cli import nonnegative_int, output_dir, positive_int, script_parser  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = script_parser(__doc__)
    parser.add_argument("--out", required=True, type=output_dir, help="output folder")
    parser.add_argument("--starts", type=positive_int, default=2000, help="starts per rule on C.10 (default 2000)")
    parser.add_argument("--rastrigin-starts", type=nonnegative_int, default=2000,
                        help="starts per rule on the coupled Rastrigin landscape (0 skips it; default 2000)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from experiments.hit_rates import hit_rate_table, write_report

    n = {"C.10": args.starts}
    if args.rastrigin_starts > 0:
        n["coupled_rastrigin_N3_A5"] = args.rastrigin_starts
    result = hit_rate_table(n)
    result["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                         "torch": torch.__version__, "torch_threads": 1, "cpu_count": os.cpu_count(),
                         "load_average_1_5_15_min_at_end": list(os.getloadavg())}
    result["command"] = "python scripts/c10_hit_rates.py " + " ".join(argv if argv is not None else sys.argv[1:])
    for path in write_report(result, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
