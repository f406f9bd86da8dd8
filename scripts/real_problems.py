"""Real problems: economic dispatch, supply chain and escaping local minima (MBI vs PPO vs solvers).

    python scripts/real_problems.py --quick --out runs/real-quick     # about 2-3 min on 2 cores
    python scripts/real_problems.py --mode full --out results/real_problems

Writes OUT/real_problems.json and OUT/real_problems.md. The logic lives in experiments/real_problems.py;
docs/real_problems.md explains the studies.
"""
from __future__ import annotations

import argparse
import platform

import torch

from experiments.real_problems import MODES, run_real_problems, write_report


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--quick", action="store_true", help="same as --mode quick")
    parser.add_argument("--mode", choices=sorted(MODES), default="full", help="budget preset (default: full)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    result = run_real_problems("quick" if args.quick else args.mode)
    result["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                         "torch": torch.__version__, "cpus": torch.get_num_threads()}
    for path in write_report(result, args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
