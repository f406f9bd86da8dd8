"""The benchmark's JSON payload and its Markdown report."""
from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any, Callable, Sequence

from mbi_envs.evaluation import json_safe

from .headline import headline, summarize
from .records import RunRecord
from .scenarios import EPSILONS, BenchScenario

__all__ = ["to_markdown", "build_payload", "refresh_payload", "merge_payloads", "headline_table", "headline_matrix", "ppo_configurations",
           "fmt", "cell"]

SCHEMA_VERSION = 2


def fmt(x: Any, digits: int = 3) -> str:
    """A number for a table: integers with thousands separators, else ``digits`` significant digits."""
    if x is None:
        return "—"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and 1 <= abs(x) < 1e15):
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def cell(stat: dict[str, Any], null: str = "never") -> str:
    """``median [CI]``; a ``None`` median reads ``null (k/n)`` (``never`` for time to accuracy, ``∞``
    for ratios); ``(k/n null)`` after a finite median counts the ``None`` entries."""
    if stat["median"] is None:
        return f"{null} ({stat['n_null']}/{stat['n']})" if stat["n_null"] else "—"
    s = fmt(stat["median"])
    if stat["ci_low"] is not None or stat["ci_high"] is not None:
        s += f" [{fmt(stat['ci_low'])}, {fmt(stat['ci_high'])}]"
    if stat["n_null"]:
        s += f" ({stat['n_null']}/{stat['n']} {null})"
    return s


def headline_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The headline as Markdown table lines (one row per scenario × PPO variant × MBI variant)."""
    lines = ["| scenario | PPO variant | MBI variant | PPO best gap | PPO agent-steps | MBI agent-steps | steps ratio "
             "| PPO s | MBI s | time ratio | fewer steps | less time | MBI never reached |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for h in rows:
        mbi = h["mbi"] + (" (oracle)" if h["mbi_uses_oracle"] else "") + (" (after switch)" if h.get("tracking") else "")
        if not h["ppo_improved_seeds"]:
            lines.append(f"| {h['scenario']} | {h['ppo']} | {mbi} | {cell(h['ppo_best_gap'])} | PPO never improved "
                         f"on its untrained policy (0/{h['seeds']} seeds): no comparison |||||||| — |")
            continue
        n = h["ppo_improved_seeds"]
        lines.append(f"| {h['scenario']} | {h['ppo']} | {mbi} | {cell(h['ppo_best_gap'])} | {cell(h['ppo_env_steps'])} "
                     f"| {cell(h['mbi_env_steps'])} | **{cell(h['steps_ratio'], '∞')}** | {cell(h['ppo_seconds'])} "
                     f"| {cell(h['mbi_seconds'])} | **{cell(h['seconds_ratio'], '∞')}** "
                     f"| {h['winner_steps']} ({h['seeds_won_by_mbi_steps']}/{n} MBI) "
                     f"| {h['winner_seconds']} ({h['seeds_won_by_mbi_seconds']}/{n} MBI) "
                     f"| {h['mbi_never_reached_seeds']}/{n} |")
    if not rows:
        lines.append("| (no PPO runs in this configuration) |||||||||||||")
    return lines


def _matrix_name(v: str) -> str:
    return v.replace("mbi-gradient-", "") + (" (oracle)" if v.endswith("-oracle") else "")


def _matrix_gap(first: dict[str, Any]) -> str:
    return cell(first["ppo_best_gap"]) + ("" if first["ppo_improved_seeds"] else
                                          f" (PPO never improved on its untrained policy, 0/{first['seeds']})")


def headline_matrix(rows: Sequence[dict[str, Any]], *, name: Callable[[str], str] = _matrix_name,
                    ratio: Callable[[dict[str, Any]], str] = lambda s: cell(s, "∞"),
                    gap: Callable[[dict[str, Any]], str] = _matrix_gap, align: str = "---|") -> list[str]:
    """The headline, compact: one line per (scenario, PPO variant), one column per MBI variant with
    the agent-steps ratio PPO / MBI (median over seeds) and who needed fewer agent-steps on the
    majority of seeds (MBI's seeds won / seeds compared). ``name`` labels an MBI variant, ``ratio``
    formats the ratio statistic, ``gap`` PPO's best gap from a row, ``align`` the ratio columns'
    Markdown alignment (README's compact form: medians only, right-aligned)."""
    variants = list(dict.fromkeys(h["mbi"] for h in rows))
    lines = ["| scenario | PPO variant | PPO best gap | " + " | ".join(name(v) for v in variants) + " |",
             "|---|---|---|" + align * len(variants)]
    groups: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for h in rows:
        groups.setdefault((h["scenario"], h["ppo"]), {})[h["mbi"]] = h
    for (scenario, ppo), by_mbi in groups.items():
        first = next(iter(by_mbi.values()))
        cells = []
        for v in variants:
            h = by_mbi.get(v)
            if h is None:
                cells.append("—")
            elif not h["ppo_improved_seeds"]:
                cells.append("no comparison")
            else:
                cells.append(f"{ratio(h['steps_ratio'])} {h['winner_steps']} "
                             f"({h['seeds_won_by_mbi_steps']}/{h['ppo_improved_seeds']})")
        tag = " (after switch)" if first.get("tracking") else ""
        lines.append(f"| {scenario}{tag} | {ppo.replace('ppo-', '')} | {gap(first)} | " + " | ".join(cells) + " |")
    return lines


def _ppo_wins(rows: Sequence[dict[str, Any]]) -> list[str]:
    wins = [h for h in rows if h["ppo_improved_seeds"] and "PPO" in (h["winner_steps"], h["winner_seconds"])]
    if not wins:
        return ["PPO won no row of the headline (by the majority of seeds, in agent-steps or seconds)."]
    out = ["Rows PPO wins (majority of seeds, agent-steps or seconds):", ""]
    out += [f"- {h['scenario']}, {h['ppo']} vs {h['mbi']}: fewer steps → {h['winner_steps']}, less time → "
            f"{h['winner_seconds']}; MBI never reached PPO's best gap on {h['mbi_never_reached_seeds']}/"
            f"{h['ppo_improved_seeds']} seeds" for h in wins]
    return out


def _scenario_section(scenario: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"### {scenario['key']}: {scenario['paper']} (`{scenario['env_id']}`, reference: "
             f"{scenario['reference']}, MBI/classical horizon {scenario['mbi_iterations']:,} steps"
             + (f", PPO {scenario['ppo_timesteps']:,} agent-steps" if scenario["ppo_timesteps"] else "") + ")", "",
             "| contender | final loss gap | relative gap | distance to x* | best gap | agent-steps "
             "| loss/grad evals | wall s |", "|---|---|---|---|---|---|---|---|"]
    for s in rows:
        m = s["metrics"]
        cells = [cell(m[k], null="—") for k in ("loss_gap", "relative_gap", "distance_to_optimum", "best_gap",
                                                "env_steps", "oracle_evaluations", "wall_seconds")]
        lines.append(f"| {s['contender']} | " + " | ".join(cells) + " |")
    eps_show = (1e-1, 1e-2, 1e-4, 1e-6, 1e-8, 1e-10)
    title = "after the switch (steps since the switch)" if scenario.get("switch_step") else ""
    lines += ["", f"Time to accuracy {title}: agent-steps / seconds to first reach gap ≤ ε.", "",
              "| contender | " + " | ".join(f"ε={e:.0e}" for e in eps_show) + " |", "|---|" + "---|" * len(eps_show)]
    for s in rows:
        tta = s["after_switch"]["time_to_accuracy"] if s.get("after_switch") else s["time_to_accuracy"]
        cells = []
        for e in eps_show:
            t = next(x for x in tta if math.isclose(x["epsilon"], e))
            cells.append(cell(t["env_steps"]) if t["env_steps"]["median"] is None
                         else f"{cell(t['env_steps'])} / {cell(t['seconds'])}")
        lines.append(f"| {s['contender']} | " + " | ".join(cells) + " |")
    if scenario.get("switch_step"):
        lines += ["", "Tracking error at the end (gap to the new optimum): " + "; ".join(
            f"{s['contender']} {cell(s['after_switch']['final_gap'])}" for s in rows if s.get("after_switch"))]
    return lines + [""]


_PPO_SHOWN = ("learning_rate", "lr_schedule", "batch_size", "n_steps", "n_envs", "ent_coef", "log_std_init")


def ppo_configurations(records: Sequence[dict[str, Any]]) -> list[str]:
    """The table of which hyperparameters each PPO row used and where they came from: one line per
    (scenario, PPO variant, configuration); seeds that share a configuration share a line."""
    rows: dict[tuple, list[int]] = {}
    for r in records:
        if r.get("family") != "ppo":
            continue
        p = r.get("params") or {}
        c = p.get("config") or {}
        shown = tuple(fmt(c.get(k), 2) if isinstance(c.get(k), float) else str(c.get(k)) for k in _PPO_SHOWN)
        rows.setdefault((r["scenario"], r["contender"], p.get("hyperparameters"), p.get("env_path"), shown),
                        []).append(int(r["seed"]))
    if not rows:
        return []
    lines = ["## PPO configurations", "",
             "Which hyperparameters each PPO row used and why: `results/ppo_tuned*.json: <family>/<mode>/<reward>` "
             "is the configuration the tuning sweep chose for that scenario family (docs/ppo.md: objective, budget, "
             "trials); `baselines.ppo_experiment.*_DEFAULTS` means that variant was not tuned. `batch` is SB3's "
             "minibatch size (the rollout is n_steps × n_envs × N agent-steps).", "",
             "| scenario | PPO variant | seeds | source | env path | " + " | ".join(
                 k.replace("learning_rate", "lr").replace("log_std_init", "log-std").replace("batch_size", "batch")
                 for k in _PPO_SHOWN) + " |", "|---|---|---|---|---|" + "---|" * len(_PPO_SHOWN)]
    for (scenario, contender, source, path, shown), seeds in rows.items():
        lines.append(f"| {scenario} | {contender} | {', '.join(map(str, sorted(seeds)))} | {source} | {path} | "
                     + " | ".join(shown) + " |")
    return lines + [""]


def _unfinished(cfg: dict[str, Any]) -> list[str]:
    """A resumable run's report says which planned runs have no record (docs/long_runs.md)."""
    missing = cfg.get("unfinished") or []
    if not missing:
        return []
    shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
    return [f"**Incomplete: {len(missing)} of {cfg.get('planned_runs')} planned runs have no record** "
            f"(not run yet, interrupted or failed): {shown}. Every table below covers only the runs that "
            "finished; rerun the same command with the same `--out` to finish the rest.", ""]


def to_markdown(payload: dict[str, Any]) -> str:
    """The human-readable report of a benchmark payload (see :func:`build_payload`)."""
    cfg = payload["config"]
    lines = ["# MBI vs PPO vs classical solvers: measured head-to-head", "",
             f"Mode `{cfg['mode']}`, budget factor {cfg['budget']}, seeds {cfg['seeds']}, "
             f"{len(payload['records'])} runs in {cfg['total_seconds']:.0f} s on {cfg['machine']}.", "",
             *_unfinished(cfg),
             "Cells: median over seeds [95% bootstrap CI of the median, scipy percentile method, 2000 resamples]; "
             "`never (k/n)`: k of n seeds never reached it within the budget; `—`: not applicable or undefined. "
             "Loss gap = L − L* under the true types (C.10: vs the global minimum). Agent-steps = joint steps × N. "
             "MBI variants marked (oracle) use the exact-Hessian step; its seconds and evaluations are counted.", "",
             "## Headline: every MBI variant against PPO, at the best gap PPO reached", "",
             "Per seed: PPO's best gap over its training curve is the target; agent-steps and seconds to first "
             "reach it for PPO (training so far) and for the MBI variant on the same seed (read on a 20-per-decade "
             "ε grid: conservative for MBI). Ratio = PPO / MBI (> 1: MBI needed less; 0: MBI never reached the "
             "target; ∞: MBI's start was already there). `fewer steps` / `less time`: "
             "the side that wins the majority of seeds (MBI loses a seed where it never reaches the target). "
             "`(after switch)`, dynamic target: PPO is scored at the end of its episode, after the switch; MBI's "
             "agent-steps and seconds count from its switch.", ""]
    lines += ["Compact: the agent-steps ratio PPO / MBI per MBI variant (median over seeds) and the majority "
              "winner (MBI's seeds won / seeds compared).", ""]
    lines += headline_matrix(payload["headline"]) + ["", "In full:", ""]
    lines += headline_table(payload["headline"]) + [""] + _ppo_wins(payload["headline"])
    lines += ["", *ppo_configurations(payload["records"])]
    lines += ["## Final metrics per scenario and contender", ""]
    for scenario in payload["scenarios"]:
        rows = [s for s in payload["summary"] if s["scenario"] == scenario["key"]]
        if rows:
            lines += _scenario_section(scenario, rows)
    return "\n".join(lines) + "\n"


def refresh_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Recompute ``summary`` and ``headline`` from a payload's ``records`` (e.g. an older JSON)."""
    return json_safe({**payload, "summary": summarize(payload["records"]), "headline": headline(payload["records"])})


def merge_payloads(payloads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One payload from runs of the same configuration split over processes (e.g. by scenario):
    records and scenarios are joined, ``total_seconds`` is the slowest part's (they ran side by
    side), and each part's config is kept under ``config["parts"]``. Refuses parts of different
    modes, budgets or seeds, and a (scenario, contender, seed) present twice."""
    if not payloads:
        raise ValueError("merge_payloads needs at least one payload")
    first = payloads[0]["config"]
    for p in payloads[1:]:
        for key in ("mode", "budget", "seeds"):
            if p["config"].get(key) != first.get(key):
                raise ValueError(f"cannot merge benchmark runs with different {key!r}: "
                                 f"{first.get(key)!r} vs {p['config'].get(key)!r}")
    records, seen = [], set()
    for p in payloads:
        for r in p["records"]:
            key = (r["scenario"], r["contender"], r["seed"])
            if key in seen:
                raise ValueError(f"run {key} appears in more than one part")
            seen.add(key)
            records.append(r)
    scenarios = list({s["key"]: s for p in payloads for s in p["scenarios"]}.values())
    config = {**first, "scenarios": [s["key"] for s in scenarios],
              "total_seconds": max(p["config"]["total_seconds"] for p in payloads),
              "planned_runs": sum(p["config"].get("planned_runs", 0) for p in payloads),
              "parts": [p["config"] for p in payloads]}
    return refresh_payload({**payloads[0], "config": config, "scenarios": scenarios, "records": records})


def build_payload(records: Sequence[RunRecord], scenario_list: Sequence[BenchScenario], config: dict[str, Any]
                  ) -> dict[str, Any]:
    """The JSON document: ``schema_version``, ``config``, ``scenarios``, ``records``, ``summary``, ``headline``."""
    recs = [json_safe(asdict(r)) for r in records]
    scen = [json_safe({**asdict(s), "n_agents": s.n_agents}) for s in scenario_list]
    return json_safe({"schema_version": SCHEMA_VERSION, "config": config, "epsilons": list(EPSILONS),
                      "scenarios": scen, "records": recs, "summary": summarize(recs), "headline": headline(recs)})
