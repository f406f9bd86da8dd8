"""Head-to-head benchmark: MBI agents vs PPO vs classical solvers, time-to-accuracy, measured.

    python scripts/benchmark.py --quick --out runs/bench-quick          # quick mode
    python scripts/benchmark.py --mode medium --out runs/bench-medium
    python scripts/benchmark.py --mode full --out runs/bench-full
    python scripts/benchmark.py --mode full --estimate-from runs/bench-quick/benchmark.json --out x
    python scripts/benchmark.py --from-json results/benchmark/benchmark.json --out runs/bench-refresh
    python scripts/benchmark.py --from-json runs/part1/benchmark.json runs/part2/benchmark.json --out runs/bench

Measured run times on the 2-core development machine (docs/benchmark.md has the details):
quick: 83 s idle (2 seeds, before the three non-oracle MBI variants were added), 444 s with
3 seeds and all variants under load; medium: 925 s under load (before the new variants);
full: 115 min as two --scenarios parts side by side (tuned PPO at 1M agent-steps dominates).
The default mode is quick: the command should finish while you wait; ask for --mode full
when you mean it.

--estimate-from FILE runs nothing: it predicts the run time of the configuration you ask for
from the per-step rates measured in FILE (a benchmark.json), and prints the ten largest parts.

Writes OUT/benchmark.json (one record per run; schema in docs/benchmark.md), OUT/benchmark.md
(medians and 95% bootstrap CIs; the headline: every MBI variant against every PPO variant),
OUT/benchmark_<scenario>.png, and prints a summary table. The logic lives in experiments/benchmark/.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from tqdm import tqdm

from experiments.appendix_c import run_metadata
from experiments.benchmark import (MODES, build_payload, estimate_runtime, merge_payloads, planned_runs,
                                   run_benchmark, scenarios, to_markdown)
from experiments.benchmark.scenarios import scenarios as _all_scenarios
from experiments.plots import plot_all
from mbi_envs.cli import existing_file, positive_float


def _json_file(text: str) -> dict:
    path = existing_file(text)
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(payload, dict) or "records" not in payload:
        raise argparse.ArgumentTypeError(f"{text!r} is not a benchmark.json (no 'records')")
    return payload


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--quick", action="store_true", help="same as --mode quick")
    parser.add_argument("--mode", choices=sorted(MODES), default="quick",
                        help="budget preset (default: quick; full: 115 min as two parts side by side on 2 cores)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default: the mode's)")
    known = [s.key for s in _all_scenarios("quick")]
    parser.add_argument("--scenarios", nargs="+", default=None, metavar="KEY",
                        help=f"scenario keys, any of {' '.join(known)} (default: all)")
    parser.add_argument("--budget", type=positive_float, default=1.0, help="multiply every budget by this factor")
    parser.add_argument("--from-json", type=_json_file, nargs="+", default=None, metavar="FILE",
                        help="run nothing: rebuild summary, headline, benchmark.md and plots from FILE's records "
                             "(several FILEs: parts of one run split by --scenarios, merged)")
    parser.add_argument("--estimate-from", type=_json_file, default=None, metavar="FILE",
                        help="run nothing: estimate this configuration's run time from FILE's measured runs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.from_json:
        try:
            args.from_json = merge_payloads(args.from_json)
        except (ValueError, KeyError) as exc:
            parser.error(f"argument --from-json: cannot merge these files: {exc}")
    unknown = [k for k in args.scenarios or [] if k not in known]
    if unknown:
        parser.error(f"argument --scenarios: unknown key(s) {unknown}; choose from {known}")
    if args.seeds is not None and any(s < 0 for s in args.seeds):
        parser.error(f"argument --seeds: seeds must be non-negative, got {args.seeds}")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"argument --out: {str(args.out)!r} exists and is not a folder")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    if args.from_json:
        return write_outputs(args.from_json, args.out)
    mode = "quick" if args.quick else args.mode
    seeds = args.seeds if args.seeds is not None else list(MODES[mode]["seeds"])
    scenario_list = scenarios(mode, args.budget, args.scenarios)
    if args.estimate_from:
        est = estimate_runtime(args.estimate_from, scenario_list, seeds)
        for part in sorted(est["parts"], key=lambda p: -p["seconds"])[:10]:
            print(f"  {part['scenario']:10s} {part['contender']:26s} {part['seconds'] / 60:7.1f} min")
        print(f"estimated {est['seconds'] / 3600:.2f} h for mode {mode} x budget {args.budget}, seeds {seeds} "
              f"(an estimate from measured rates, not a measurement)"
              + (f"; no rate for {est['unknown']}" if est["unknown"] else ""))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    total = planned_runs(scenario_list, seeds)
    with tqdm(total=total, disable=args.no_progress, unit="run") as bar:
        def progress(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)
        records = run_benchmark(scenario_list, seeds, progress=progress)
    meta = run_metadata()
    config = {"mode": mode, "budget": args.budget, "seeds": seeds, "scenarios": [s.key for s in scenario_list],
              "total_seconds": time.perf_counter() - began, "planned_runs": total, "torch_threads": 1,
              "machine": f"{meta['cpu_model']}, {meta['cpu_count']} CPU cores, python {meta['python']}, "
                         f"torch {meta['packages']['torch']} (CPU)", "metadata": meta}
    write_outputs(build_payload(records, scenario_list, config), args.out)


def print_summary(payload: dict) -> None:
    """The headline as a table on the terminal (rich if installed)."""
    from experiments.benchmark.markdown import cell
    rows = [(h["scenario"], h["ppo"], h["mbi"], cell(h["steps_ratio"], "∞"), cell(h["seconds_ratio"], "∞"),
             h["winner_steps"], h["winner_seconds"]) for h in payload["headline"]]
    cols = ("scenario", "PPO", "MBI", "steps ratio PPO/MBI", "time ratio", "fewer steps", "less time")
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(" | ".join(cols))
        for row in rows:
            print(" | ".join(row))
        return
    table = Table(title="Headline: MBI variants vs PPO at PPO's best gap (median over seeds)")
    for col in cols:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def write_outputs(payload: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(payload, indent=1, allow_nan=False))
    (out / "benchmark.md").write_text(to_markdown(payload))
    pngs = plot_all(payload["records"], out)
    print_summary(payload)
    print(f"{len(payload['records'])} runs in {payload['config']['total_seconds']:.0f} s; wrote "
          f"{out / 'benchmark.json'}, {out / 'benchmark.md'} and {len(pngs)} plots")


if __name__ == "__main__":
    main()
