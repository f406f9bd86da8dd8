"""Summaries over seeds and the headline: every MBI variant against every PPO variant.

Per scenario, PPO variant and MBI variant, per seed: PPO's best gap over its training curve is
the target; PPO's agent-steps and training seconds to first reach it, and the MBI variant's on
the same seed (read on a 20-per-decade ε grid: an upper bound, conservative for MBI). Ratio =
PPO / MBI (> 1: MBI needed less; 0 when MBI never reached the target; +inf, shown ∞, when MBI's
start was already there). A seed is won by whichever needed fewer agent-steps (seconds);
MBI loses a seed when it never reached PPO's best gap. Seeds on which PPO's best was its
untrained policy (step 0) are not compared.

Dynamic targets (C.15; the MBI record has ``after_switch``): PPO is trained on episodes with the
switch inside them and scored at the episode's end, after the switch; so the MBI side is read
*after its switch*: agent-steps (and seconds) from the switch until the gap to the new optimum
first falls to PPO's best gap. The row is marked ``tracking``. PPO's side stays its training
cost: the question is what each needs to track the new target that well.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from ..stats import median_ci
from .scenarios import EPSILONS

__all__ = ["SUMMARY_METRICS", "HEADLINE_MBI", "summarize", "headline", "compare_seed"]

SUMMARY_METRICS = ("loss_gap", "relative_gap", "distance_to_optimum", "best_gap", "env_steps",
                   "oracle_evaluations", "wall_seconds")
#: the MBI variants of the headline: three without an oracle, then the labelled oracle
HEADLINE_MBI = ("mbi-gradient-paper", "mbi-gradient-linesearch", "mbi-gradient-adaptive", "mbi-gradient-oracle")


def _tta(record: dict[str, Any], eps: float, after: bool = False) -> dict[str, Any]:
    entries = record["after_switch"]["time_to_accuracy"] if after else record["time_to_accuracy"]
    return next(e for e in entries if math.isclose(e["epsilon"], eps))


def summarize(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (scenario, contender): median and 95% bootstrap CI over seeds of every metric and of
    the time-to-accuracy (``None`` = not reached counts as +inf)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["scenario"], r["contender"]), []).append(r)
    out = []
    for (scenario, contender), rs in groups.items():
        row = {"scenario": scenario, "contender": contender, "family": rs[0]["family"], "seeds": len(rs),
               "metrics": {m: median_ci([r[m] for r in rs]) for m in SUMMARY_METRICS},
               "time_to_accuracy": [{"epsilon": eps,
                                     "env_steps": median_ci([_tta(r, eps)["env_steps"] for r in rs]),
                                     "seconds": median_ci([_tta(r, eps)["seconds"] for r in rs])}
                                    for eps in EPSILONS]}
        if rs[0].get("after_switch"):
            row["after_switch"] = {
                "final_gap": median_ci([r["after_switch"]["final_gap"] for r in rs]),
                "time_to_accuracy": [{"epsilon": eps,
                                      "env_steps": median_ci([_tta(r, eps, True)["env_steps"] for r in rs]),
                                      "seconds": median_ci([_tta(r, eps, True)["seconds"] for r in rs])}
                                     for eps in EPSILONS]}
        out.append(row)
    return out


def _first_reach(record: dict[str, Any], target: float) -> tuple[int | None, float | None]:
    """Exact first reach of ``gap ≤ target`` on the stored curve (PPO's curve is stored whole)."""
    c = record["curve"]
    for s, t, g in zip(c["env_steps"], c["seconds"], c["loss_gap"]):
        if g is not None and g <= target:
            return s, t
    return None, None


def _first_reach_grid(record: dict[str, Any], target: float) -> tuple[int | None, float | None]:
    """First reach of the largest grid ε ≤ ``target`` (an upper bound on the true first reach);
    after the switch for a dynamic-target record (counted from the switch)."""
    r = record["after_switch"]["reach"] if record.get("after_switch") else record["reach"]
    for eps, s, t in zip(r["epsilon"], r["env_steps"], r["seconds"]):
        if eps <= target:
            return s, t
    return None, None


def _ratio(ppo: float, mbi: float | None) -> float | None:
    """PPO / MBI: 0 when MBI never got there (PPO infinitely better), ``None`` (= +inf in the
    statistics) when MBI was there at its start (needed nothing)."""
    if mbi is None:
        return 0.0
    return None if mbi == 0 else ppo / mbi


def compare_seed(ppo: dict[str, Any], mbi: dict[str, Any]) -> dict[str, Any] | None:
    """One seed of the headline; ``None`` when PPO's best gap was its untrained policy's."""
    target = ppo["best_gap"]
    if target is None:
        return None
    p_steps, p_secs = _first_reach(ppo, target)
    if not p_steps:
        return None
    m_steps, m_secs = _first_reach_grid(mbi, target)
    return {"target": target, "ppo_steps": p_steps, "ppo_seconds": p_secs, "mbi_steps": m_steps,
            "mbi_seconds": m_secs, "steps_ratio": _ratio(p_steps, m_steps), "seconds_ratio": _ratio(p_secs, m_secs),
            "steps_winner": "mbi" if m_steps is not None and m_steps < p_steps else "ppo",
            "seconds_winner": "mbi" if m_secs is not None and m_secs < p_secs else "ppo"}


def _winner(per_seed: list[dict[str, Any]], key: str) -> str:
    mbi = sum(c[key] == "mbi" for c in per_seed)
    ppo = len(per_seed) - mbi
    return "—" if not per_seed else "MBI" if mbi > ppo else "PPO" if ppo > mbi else "tie"


def headline(records: Sequence[dict[str, Any]], mbi_variants: Sequence[str] = HEADLINE_MBI) -> list[dict[str, Any]]:
    """One row per (scenario, PPO variant, MBI variant present): targets, steps, seconds, ratios
    (median [CI] over seeds), seeds won by each side and the majority winner (rules in the
    module docstring); also, per ε of the grid, whether PPO ever reached it."""
    by: dict[tuple[str, str], dict[int, dict]] = {}
    for r in records:
        by.setdefault((r["scenario"], r["contender"]), {})[r["seed"]] = r
    rows = []
    for (scenario, contender), per_seed in by.items():
        if not contender.startswith("ppo"):
            continue
        reached = {f"{eps:.0e}": any(_tta(rec, eps)["env_steps"] is not None for rec in per_seed.values())
                   for eps in EPSILONS}
        for mbi in mbi_variants:
            if (scenario, mbi) not in by:
                continue
            runs = by[(scenario, mbi)]
            seeds = [c for seed, rec in per_seed.items() if seed in runs
                     for c in [compare_seed(rec, runs[seed])] if c is not None]
            col = lambda k: [c[k] for c in seeds]  # noqa: E731
            rows.append({"scenario": scenario, "ppo": contender, "mbi": mbi, "seeds": len(per_seed),
                         "mbi_uses_oracle": mbi.endswith("-oracle"),
                         "tracking": bool(next(iter(runs.values())).get("after_switch")),
                         "ppo_budget_agent_steps": next(iter(per_seed.values()))["budget"].get("agent_steps"),
                         "ppo_best_gap": median_ci([rec["best_gap"] for rec in per_seed.values()]),
                         "ppo_env_steps": median_ci(col("ppo_steps")), "ppo_seconds": median_ci(col("ppo_seconds")),
                         "mbi_env_steps": median_ci(col("mbi_steps")), "mbi_seconds": median_ci(col("mbi_seconds")),
                         "steps_ratio": median_ci(col("steps_ratio")), "seconds_ratio": median_ci(col("seconds_ratio")),
                         "ppo_improved_seeds": len(seeds),
                         "mbi_never_reached_seeds": sum(c["mbi_steps"] is None for c in seeds),
                         "seeds_won_by_mbi_steps": sum(c["steps_winner"] == "mbi" for c in seeds),
                         "seeds_won_by_mbi_seconds": sum(c["seconds_winner"] == "mbi" for c in seeds),
                         "winner_steps": _winner(seeds, "steps_winner"),
                         "winner_seconds": _winner(seeds, "seconds_winner"),
                         "ppo_reached_epsilon": reached, "ppo_never_reached": [k for k, v in reached.items() if not v]})
    return rows
