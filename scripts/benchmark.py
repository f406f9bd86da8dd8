"""Head-to-head benchmark: MBI agents vs PPO vs classical solvers, time-to-accuracy, measured.

    python scripts/benchmark.py --quick --out runs/bench-quick          # < 3 min on 2 cores
    python scripts/benchmark.py --mode medium --out runs/bench-medium   # ~15 min
    python scripts/benchmark.py --mode full --out runs/bench-full       # hours, see docs/benchmark.md

Writes OUT/benchmark.json (one record per run; schema in docs/benchmark.md), OUT/benchmark.md
(medians and 95% bootstrap CIs, headline PPO/MBI ratios) and OUT/benchmark_<scenario>.png.
The logic lives in experiments/benchmark.py.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch
from tqdm import tqdm

from experiments.benchmark import (MODES, build_payload, estimate_runtime, planned_runs, refresh_payload, run_benchmark, scenarios,
                                  to_markdown)
from experiments.plots import plot_all


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--quick", action="store_true", help="same as --mode quick")
    parser.add_argument("--mode", choices=sorted(MODES), default="full", help="budget preset (default: full)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default: the mode's)")
    parser.add_argument("--scenarios", nargs="+", default=None,
                        help="scenario keys: C.1 C.2-N2 C.2-N100 C.2-N1000 C.4 C.10 C.15 (default: all)")
    parser.add_argument("--budget", type=float, default=1.0, help="multiply every budget by this factor")
    parser.add_argument("--from-json", default=None, metavar="FILE",
                        help="run nothing: rebuild summary, headline, benchmark.md and plots from FILE's records")
    parser.add_argument("--estimate-from", default=None, metavar="FILE",
                        help="run nothing: estimate this configuration's run time from FILE's measured runs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    if args.from_json:
        return write_outputs(refresh_payload(json.loads(Path(args.from_json).read_text())), Path(args.out))
    mode = "quick" if args.quick else args.mode
    seeds = args.seeds if args.seeds is not None else list(MODES[mode]["seeds"])
    scenario_list = scenarios(mode, args.budget, args.scenarios)
    if args.estimate_from:
        est = estimate_runtime(json.loads(Path(args.estimate_from).read_text()), scenario_list, seeds)
        for part in sorted(est["parts"], key=lambda p: -p["seconds"])[:10]:
            print(f"  {part['scenario']:10s} {part['contender']:24s} {part['seconds'] / 60:7.1f} min")
        print(f"estimated {est['seconds'] / 3600:.2f} h for mode {mode} x budget {args.budget}, seeds {seeds}"
              + (f"; no rate for {est['unknown']}" if est["unknown"] else ""))
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with tqdm(total=planned_runs(scenario_list, seeds), disable=args.no_progress, unit="run") as bar:
        def progress(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)
        records = run_benchmark(scenario_list, seeds, progress=progress)
    config = {"mode": mode, "budget": args.budget, "seeds": seeds, "scenarios": [s.key for s in scenario_list],
              "total_seconds": time.perf_counter() - began, "torch_threads": torch.get_num_threads(),
              "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores, "
                         f"python {platform.python_version()}, torch {torch.__version__} (CPU)"}
    write_outputs(build_payload(records, scenario_list, config), out)


def write_outputs(payload: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(payload, indent=1, allow_nan=False))
    (out / "benchmark.md").write_text(to_markdown(payload))
    pngs = plot_all(payload["records"], out)
    print(f"{len(payload['records'])} runs in {payload['config']['total_seconds']:.0f} s; wrote "
          f"{out / 'benchmark.json'}, {out / 'benchmark.md'} and {len(pngs)} plots")


if __name__ == "__main__":
    main()
