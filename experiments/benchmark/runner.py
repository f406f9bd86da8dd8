"""The default contenders, the benchmark loop, the planned run count and a run-time estimate."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mbi_envs.evaluation import json_safe

from ..jobs import Job

from .mbi import Contender, MBIContender
from .others import ClassicalContender, PPOContender, load_tuned, tuned_differs
from .records import RunRecord
from .scenarios import BenchScenario

__all__ = ["default_contenders", "run_benchmark", "planned_runs", "estimate_runtime", "benchmark_jobs", "run_job"]


def default_contenders() -> list[Contender]:
    """Every contender of the benchmark (PPO variants apply only where a scenario budgets them;
    PPO reads ``results/ppo_tuned.json``, and :func:`benchmark_jobs` gives a job other tuning)."""
    return [*(MBIContender(k) for k in MBIContender.KINDS),
            PPOContender("one_shot", "team"), PPOContender("one_shot", "difference"),
            PPOContender("iterative", "team"), ClassicalContender("centralized"), ClassicalContender("nash")]


def run_benchmark(scenario_list: Sequence[BenchScenario], seeds: Sequence[int],
                  contenders: Sequence[Contender] | None = None,
                  progress: Callable[[str], None] | None = None) -> list[RunRecord]:
    """Run every applicable contender on every scenario and seed; ``progress(label)`` after each run."""
    contenders = list(contenders) if contenders is not None else default_contenders()
    records = []
    for scenario in scenario_list:
        for contender in contenders:
            if not contender.applies_to(scenario):
                continue
            for seed in seeds:
                records.append(contender.run(scenario, int(seed)))
                if progress is not None:
                    progress(f"{scenario.key} {contender.name} seed {seed}")
    return records


def benchmark_jobs(mode: str, budget: float, scenario_list: Sequence[BenchScenario],
                   seeds: Sequence[int], ppo_tuned: Sequence[str] | None = None) -> list[Job]:
    """The benchmark as a job set, in :func:`run_benchmark`'s order: one :class:`~experiments.jobs.Job`
    per (scenario, applicable default contender, seed), configured by ``mode``, ``budget``, the
    scenario key, the contender name and the seed (the key of its record file).

    With ``ppo_tuned`` (tuned-hyperparameter files, :func:`load_tuned`), a PPO job whose
    hyperparameters differ from the committed ``results/ppo_tuned.json``'s carries them (and the
    entry they came from) in its config, so its record key differs from the default run's and a
    folder never mixes the two; every other job keeps its key (its records can be shared)."""
    reference = load_tuned()
    tuned = load_tuned([Path(p) for p in ppo_tuned]) if ppo_tuned else reference
    jobs = []
    for s in scenario_list:
        for c in default_contenders():
            if not c.applies_to(s):
                continue
            extra = {}
            if isinstance(c, PPOContender) and tuned_differs(c.tuning_key(s), tuned, reference):
                entry = dict(tuned.get(c.tuning_key(s), {}))
                extra = {"hyperparameters_from": entry.pop("source", None), "hyperparameters": entry}
            jobs += [Job(run_job, {"mode": mode, "budget": float(budget), "scenario": s.key, "contender": c.name,
                                   "seed": int(seed), **extra}, label=f"{s.key} {c.name} seed {seed}")
                     for seed in seeds]
    return jobs


def run_job(config: dict[str, Any]) -> dict[str, Any]:
    """One benchmark run from a :func:`benchmark_jobs` config: the JSON-safe :class:`RunRecord`."""
    from .scenarios import scenarios

    scenario = scenarios(config["mode"], config["budget"], [config["scenario"]])[0]
    contender = next(c for c in default_contenders() if c.name == config["contender"])
    if "hyperparameters" in config:  # a PPO job with hyperparameters other than the committed tuning's
        key = contender.tuning_key(scenario)
        entry = {**config["hyperparameters"], "source": config["hyperparameters_from"]}
        contender = PPOContender(contender.mode, contender.reward_mode, contender.n_evals,
                                 tuned={key: entry} if config["hyperparameters"] else {})
    return json_safe(asdict(contender.run(scenario, int(config["seed"]))))


def planned_runs(scenario_list: Sequence[BenchScenario], seeds: Sequence[int],
                 contenders: Sequence[Contender] | None = None) -> int:
    """How many runs :func:`run_benchmark` will make."""
    contenders = list(contenders) if contenders is not None else default_contenders()
    return sum(len(seeds) for s in scenario_list for c in contenders if c.applies_to(s))


def _rate(r: dict[str, Any]) -> float:
    """Seconds per unit of budget of one measured run."""
    if r["family"] == "ppo":
        return (r["params"].get("wall_seconds_with_evaluations") or r["wall_seconds"]) / max(r["env_steps"], 1)
    if r["family"] == "classical":
        return r["wall_seconds"] / max(r["budget"]["iterations"] if r["after_switch"] else 1, 1)
    return r["wall_seconds"] / max(r["budget"]["iterations"], 1)


def estimate_runtime(payload: dict[str, Any], target: Sequence[BenchScenario], seeds: Sequence[int],
                     contenders: Sequence[Contender] | None = None) -> dict[str, Any]:
    """Predict the run time of a configuration from a measured payload: each run's seconds per
    unit of budget (MBI/classical: per joint step; PPO: per agent-step, evaluations included),
    averaged over the measured seeds, times the target budget. A (scenario, contender) pair not
    measured uses the mean rate of the same family on that scenario; pairs with no rate at all
    are listed in ``unknown``. An estimate, not a measurement: say so where you quote it."""
    contenders = list(contenders) if contenders is not None else default_contenders()
    rates: dict[tuple[str, str], list[float]] = {}
    family_rates: dict[tuple[str, str], list[float]] = {}
    for r in payload["records"]:
        rates.setdefault((r["scenario"], r["contender"]), []).append(_rate(r))
        family_rates.setdefault((r["scenario"], r["family"]), []).append(_rate(r))
    total, unknown, parts = 0.0, [], []
    for s in target:
        for c in contenders:
            if not c.applies_to(s):
                continue
            found = rates.get((s.key, c.name)) or family_rates.get((s.key, c.family))
            if not found:
                unknown.append(f"{s.key} {c.name}")
                continue
            units = (s.ppo_timesteps if c.family == "ppo" else
                     (s.mbi_iterations if (c.family == "mbi" or s.switch_step is not None) else 1))
            seconds = float(np.mean(found)) * units * len(seeds)
            parts.append({"scenario": s.key, "contender": c.name, "seconds": seconds})
            total += seconds
    return {"seconds": total, "parts": parts, "unknown": unknown}
