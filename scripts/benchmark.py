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

Long runs (docs/long_runs.md): every run is a job whose record is written to OUT/records/ as soon
as it finishes; rerunning the same command with the same --out skips the finished runs (--fresh
starts over), so a stopped run loses at most the runs in progress. Ctrl-C / SIGTERM stop cleanly
(exit 130 / 143). --report-only rebuilds the report from the records so far (it names the runs
still missing). --workers N runs N processes; --engine dask sends the runs to a Dask cluster.
One process writes a folder at a time (OUT/.lock).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from experiments.appendix_c import run_metadata
from experiments.benchmark import MODES, RunRecord, build_payload, estimate_runtime, merge_payloads, scenarios, to_markdown
from experiments.benchmark.runner import benchmark_jobs
from experiments.benchmark.scenarios import scenarios as _all_scenarios
from experiments.jobs import ENGINES, cli_session, read_records, run_jobs
from experiments.plots import plot_all
from mbi_envs.cli import existing_file, positive_float, positive_int

RATES = Path(__file__).resolve().parents[1] / "results" / "benchmark_full" / "benchmark.json"


def _json_file(text: str) -> dict:
    path = existing_file(text)
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(payload, dict) or "records" not in payload:
        raise argparse.ArgumentTypeError(f"{text!r} is not a benchmark.json (no 'records')")
    return payload


def build_parser() -> argparse.ArgumentParser:
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
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", default=True,
                       help="skip the runs that have a record in OUT/records (the default)")
    again.add_argument("--fresh", action="store_true", help="delete OUT's records and run everything again")
    again.add_argument("--report-only", action="store_true",
                       help="run nothing: rebuild the report from OUT/records (naming the runs still missing)")
    parser.add_argument("--workers", type=positive_int, default=1, help="processes running jobs (default 1)")
    parser.add_argument("--engine", choices=ENGINES, default="local",
                        help="local: a process pool of --workers; dask: a Dask cluster (pip install 'mbi-envs[cluster]')")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="with --engine dask: the scheduler's address (default: a local cluster of --workers)")
    return parser


def parse_args(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    known = [s.key for s in _all_scenarios("quick")]
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
    if args.seeds is not None and len(set(args.seeds)) != len(args.seeds):
        parser.error(f"argument --seeds: a seed is repeated in {args.seeds}")
    if args.scheduler and args.engine != "dask":
        parser.error(f"argument --scheduler: {args.scheduler!r} needs --engine dask")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"argument --out: {str(args.out)!r} exists and is not a folder")
    return args


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parse_args(argv, parser)
    torch.set_num_threads(1)
    if args.estimate_from and not args.from_json:
        mode = "quick" if args.quick else args.mode
        seeds = args.seeds if args.seeds is not None else list(MODES[mode]["seeds"])
        est = estimate_runtime(args.estimate_from, scenarios(mode, args.budget, args.scenarios), seeds)
        for part in sorted(est["parts"], key=lambda p: -p["seconds"])[:10]:
            print(f"  {part['scenario']:10s} {part['contender']:26s} {part['seconds'] / 60:7.1f} min")
        print(f"estimated {est['seconds'] / 3600:.2f} h for mode {mode} x budget {args.budget}, seeds {seeds} "
              f"(an estimate from measured rates, not a measurement)"
              + (f"; no rate for {est['unknown']}" if est["unknown"] else ""))
        return
    error = lambda msg: parser.error(f"argument --out: {msg}")  # noqa: E731
    if args.from_json:
        with cli_session(args.out, error):
            write_outputs(args.from_json, args.out)
        return
    mode = "quick" if args.quick else args.mode
    seeds = args.seeds if args.seeds is not None else list(MODES[mode]["seeds"])
    scenario_list = scenarios(mode, args.budget, args.scenarios)
    jobs = benchmark_jobs(mode, args.budget, scenario_list, seeds)
    jobs = _with_costs(jobs, scenario_list)
    keys = {j.key for j in jobs}
    status = lambda: (f"{len(keys & set(read_records(args.out)))} of {len(jobs)} runs have records in "  # noqa: E731
                      f"{args.out / 'records'}")
    with cli_session(args.out, error, resume_hint="rerun the same command", status=status):
        began = time.perf_counter()
        if args.report_only:
            found = read_records(args.out)
            records = [found[j.key]["record"] if j.key in found else None for j in jobs]
            seconds = sum(found[j.key]["seconds"] for j in jobs if j.key in found)
            print(f"--report-only: {sum(r is not None for r in records)} of {len(jobs)} runs have records")
            failed: dict = {}
        else:
            result = run_jobs(jobs, args.out, workers=args.workers, fresh=args.fresh, progress=not args.no_progress,
                              threads=1, engine=args.engine, scheduler=args.scheduler, desc="benchmark")
            records, failed = result.records, result.failed
            found = read_records(args.out)
            seconds = sum(found[j.key]["seconds"] for j in jobs if j.key in found)
            print(f"skipped {result.skipped} finished run(s), ran {result.ran} in {result.seconds:.0f} s"
                  + (f", {len(failed)} failed" if failed else ""))
        missing = [j.label for j, r in zip(jobs, records) if r is None]
        if len(missing) == len(jobs):
            print(f"no run of this configuration has a record in {args.out / 'records'} yet: no report")
            raise SystemExit(1)
        meta = run_metadata()
        config = {"mode": mode, "budget": args.budget, "seeds": seeds, "scenarios": [s.key for s in scenario_list],
                  "total_seconds": seconds, "planned_runs": len(jobs), "torch_threads": 1,
                  "workers": args.workers, "engine": args.engine, "unfinished": missing,
                  "wall_seconds_last_session": time.perf_counter() - began,
                  "machine": f"{meta['cpu_model']}, {meta['cpu_count']} CPU cores, python {meta['python']}, "
                             f"torch {meta['packages']['torch']} (CPU)", "metadata": meta}
        kept = [RunRecord(**r) for r in records if r is not None]
        write_outputs(build_payload(kept, scenario_list, config), args.out)
        if missing:
            print(f"{len(missing)} of {len(jobs)} runs have no record yet (see {args.out / 'benchmark.md'}); "
                  "rerun the same command to finish them")
            raise SystemExit(1)


def _with_costs(jobs: list, scenario_list: list) -> list:
    """The jobs with cost estimates from the per-step rates of the committed full benchmark (when
    it is there): the announcement then says about how long the run will take."""
    if not RATES.is_file():
        return jobs
    try:
        est = estimate_runtime(json.loads(RATES.read_text()), scenario_list, [0])
    except (ValueError, KeyError):
        return jobs
    parts = {(p["scenario"], p["contender"]): p["seconds"] for p in est["parts"]}
    return [replace(j, cost=parts.get((j.config["scenario"], j.config["contender"]))) for j in jobs]


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
