"""What ``scripts/benchmark.py`` does once its arguments are parsed: estimate, run or resume the job
set, rebuild a report from records or from ``benchmark.json`` files, write the outputs and print
the headline. The script keeps only the argument parsing (so ``--help`` needs no torch)."""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from ..cli import session
from ..console import print_table
from ..jobs import Job, read_records, recorded_seconds, records_status, run_jobs
from .markdown import build_payload, cell, to_markdown
from .records import RunRecord
from .runner import benchmark_jobs, estimate_runtime
from .scenarios import MODES, BenchScenario, scenarios

__all__ = ["RATES", "run_command", "print_estimate", "with_costs", "write_outputs", "print_summary", "HEADLINE_CSV"]

#: the committed full run whose per-step rates give each job its cost estimate
RATES = Path(__file__).resolve().parents[2] / "results" / "benchmark_full" / "benchmark.json"
HEADLINE_CSV = "benchmark_headline.csv"


def run_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Run what the parsed ``args`` ask for (see the script's help); exits 1 when runs are missing."""
    import torch

    torch.set_num_threads(1)
    mode = "quick" if args.quick else args.mode
    seeds = args.seeds if args.seeds is not None else list(MODES[mode]["seeds"])
    if args.estimate_from and not args.from_json:
        print_estimate(args.estimate_from, mode, args.budget, args.scenarios, seeds)
        return
    if args.from_json:
        with session(parser, args.out):
            write_outputs(args.from_json, args.out)
        return
    scenario_list = scenarios(mode, args.budget, args.scenarios)
    ppo_tuned = [str(p) for p in args.ppo_tuned] if getattr(args, "ppo_tuned", None) else None
    jobs = with_costs(benchmark_jobs(mode, args.budget, scenario_list, seeds, ppo_tuned), scenario_list)
    with session(parser, args.out, status=records_status(args.out, jobs, "runs")):
        began = time.perf_counter()
        if args.report_only:
            found = read_records(args.out)
            records = [found[j.key]["record"] if j.key in found else None for j in jobs]
            print(f"--report-only: {sum(r is not None for r in records)} of {len(jobs)} runs have records")
        else:
            result = run_jobs(jobs, args.out, workers=args.workers, fresh=args.fresh, progress=not args.no_progress,
                              threads=1, engine=args.engine, scheduler=args.scheduler, desc="benchmark")
            records = result.records
            print(f"skipped {result.skipped} finished run(s), ran {result.ran} in {result.seconds:.0f} s"
                  + (f", {len(result.failed)} failed" if result.failed else ""))
        missing = [j.label for j, r in zip(jobs, records) if r is None]
        if len(missing) == len(jobs):
            print(f"no run of this configuration has a record in {args.out / 'records'} yet: no report")
            raise SystemExit(1)
        config = _config(args, mode, seeds, scenario_list, jobs, missing, began)
        kept = [RunRecord(**r) for r in records if r is not None]
        write_outputs(build_payload(kept, scenario_list, config), args.out)
        if missing:
            print(f"{len(missing)} of {len(jobs)} runs have no record yet (see {args.out / 'benchmark.md'}); "
                  "rerun the same command to finish them")
            raise SystemExit(1)


def _config(args: argparse.Namespace, mode: str, seeds: list[int], scenario_list: Sequence[BenchScenario],
            jobs: Sequence[Job], missing: list[str], began: float) -> dict[str, Any]:
    """The payload's ``config``: the command's settings, the machine and the seconds the runs took."""
    from ..appendix_c import run_metadata

    meta = run_metadata()
    return {"mode": mode, "budget": args.budget, "seeds": seeds, "scenarios": [s.key for s in scenario_list],
            "total_seconds": recorded_seconds(args.out, jobs), "planned_runs": len(jobs), "torch_threads": 1,
            "ppo_tuned": [str(p) for p in args.ppo_tuned] if getattr(args, "ppo_tuned", None) else None,
            "workers": args.workers, "engine": args.engine, "unfinished": missing,
            "wall_seconds_last_session": time.perf_counter() - began,
            "machine": f"{meta['cpu_model']}, {meta['cpu_count']} CPU cores, python {meta['python']}, "
                       f"torch {meta['packages']['torch']} (CPU)", "metadata": meta}


def print_estimate(rates: dict[str, Any], mode: str, budget: float, keys: Sequence[str] | None,
                   seeds: Sequence[int]) -> dict[str, Any]:
    """Predict the run time of a configuration from the per-step rates of ``rates`` (a
    benchmark.json); print the ten largest parts and the total. Runs nothing."""
    est = estimate_runtime(rates, scenarios(mode, budget, keys), seeds)
    rows = [(p["scenario"], p["contender"], f"{p['seconds'] / 60:.1f}")
            for p in sorted(est["parts"], key=lambda p: -p["seconds"])[:10]]
    print_table("The ten largest parts (estimated)", ("scenario", "contender", "minutes"), rows)
    print(f"estimated {est['seconds'] / 3600:.2f} h for mode {mode} x budget {budget}, seeds {list(seeds)} "
          f"(an estimate from measured rates, not a measurement)"
          + (f"; no rate for {est['unknown']}" if est["unknown"] else ""))
    return est


def with_costs(jobs: list[Job], scenario_list: Sequence[BenchScenario]) -> list[Job]:
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


def print_summary(payload: dict[str, Any], csv_path: str | Path | None = None) -> Path | None:
    """The headline as a table (rich on a terminal, full-width text in a log), also written to ``csv_path``."""
    rows = [(h["scenario"], h["ppo"], h["mbi"], cell(h["steps_ratio"], "∞"), cell(h["seconds_ratio"], "∞"),
             h["winner_steps"], h["winner_seconds"]) for h in payload["headline"]]
    cols = ("scenario", "PPO", "MBI", "steps ratio PPO/MBI", "time ratio", "fewer steps", "less time")
    return print_table("Headline: MBI variants vs PPO at PPO's best gap (median over seeds)", cols, rows,
                       csv_path=csv_path)


def write_outputs(payload: dict[str, Any], out: Path) -> None:
    """``benchmark.json``, ``benchmark.md``, the plots and the printed headline's CSV in ``out``."""
    from ..plots import plot_all

    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(payload, indent=1, allow_nan=False))
    (out / "benchmark.md").write_text(to_markdown(payload))
    pngs = plot_all(payload["records"], out, payload.get("config"))
    print_summary(payload, out / HEADLINE_CSV)
    print(f"{len(payload['records'])} runs in {payload['config']['total_seconds']:.0f} s; wrote "
          f"{out / 'benchmark.json'}, {out / 'benchmark.md'}, {out / HEADLINE_CSV} and {len(pngs)} plots")
