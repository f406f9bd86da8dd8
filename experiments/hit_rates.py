"""Global-basin hit rates with enough starts to compare agent rules: Wilson intervals, a two-proportion test.

The question: does an agent rule (momentum, annealed Langevin, restart-when-stuck) end in the global
minimum's basin more often than plain gradient agents from the same random starts? 100 starts per
rule cannot tell a rate of 0.08 from 0.14 (their Wilson intervals overlap); with thousands it can.

:func:`hit_rate_table` runs every rule of :func:`experiments.landscapes.policies` from the same
``n`` uniform starts (seeds 0 … n−1, one batch per rule: the planner is vectorised over starts) on
the landscapes of :func:`experiments.landscapes.landscapes` (C.10 and the coupled Rastrigin),
and :func:`compare_to_baseline` judges each rule against plain gradient agents:

* **rate and interval**: hits / n and its Wilson 95% score interval;
* **the test**: two-sided Fisher exact test of equal hit rates (``scipy.stats.fisher_exact`` on the
  2×2 table), p-values Holm-adjusted over the comparisons of one table (family-wise α = 0.05).
  The rules run from the *same* starts, so the two samples are paired; the unpaired Fisher test is
  the decision test (as the issue asks) and the paired exact McNemar test on the discordant starts
  is reported beside it;
* **the effect**: the rate ratio rule / gradient with its 95% interval (Katz log method,
  ``scipy.stats.contingency.relative_risk``);
* **power**: the power of the same test (normal approximation on the arcsine scale, at the
  Bonferroni level α/m, which Holm never undercuts) to detect a rate ``EFFECT_RATIO`` (1.5) times the
  gradient rate.

The verdict (computed, never written by hand): ``helps`` / ``hurts`` when the Holm-adjusted
p < α (direction from the rates); otherwise ``no ×1.5 gain (powered)`` (no significant difference,
and the test had power ≥ ``POWER`` = 0.8 to detect a ×1.5 rate) or ``inconclusive (underpowered)``.
"Does not help" is never said from a test that could not have found a ×1.5 effect.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.stats
import torch
from scipy.stats.contingency import relative_risk

from .landscapes import landscapes, policies, starts

__all__ = ["ALPHA", "EFFECT_RATIO", "POWER", "wilson", "fisher_p", "mcnemar_p", "rate_ratio", "detection_power",
           "holm", "compare_to_baseline", "hit_rate_table", "markdown", "write_report"]

ALPHA = 0.05         # family-wise, Holm over the comparisons of one landscape
EFFECT_RATIO = 1.5   # the effect a "no effect" verdict must have had the power to detect
POWER = 0.8          # the power it must have had


def wilson(hits: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (scipy ``binomtest(...).proportion_ci``)."""
    ci = scipy.stats.binomtest(int(hits), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def fisher_p(hits: int, n: int, base_hits: int, base_n: int) -> float:
    """Two-sided Fisher exact p-value of equal proportions ``hits/n`` and ``base_hits/base_n``."""
    table = [[int(hits), int(n) - int(hits)], [int(base_hits), int(base_n) - int(base_hits)]]
    return float(scipy.stats.fisher_exact(table, alternative="two-sided").pvalue)


def mcnemar_p(only_rule: int, only_base: int) -> float:
    """Exact two-sided McNemar p-value from the discordant pairs (starts only one of the two hit)."""
    d = int(only_rule) + int(only_base)
    return 1.0 if d == 0 else float(scipy.stats.binomtest(int(only_rule), d, 0.5).pvalue)


def rate_ratio(hits: int, n: int, base_hits: int, base_n: int) -> dict[str, float | None]:
    """``(hits/n) / (base_hits/base_n)`` with its Katz 95% interval (``None`` where undefined: no hits)."""
    if base_hits == 0 or hits == 0:
        return {"ratio": None if base_hits == 0 else 0.0, "ratio_ci_low": None, "ratio_ci_high": None}
    rr = relative_risk(int(hits), int(n), int(base_hits), int(base_n))
    ci = rr.confidence_interval(0.95)
    return {"ratio": float(rr.relative_risk), "ratio_ci_low": float(ci.low), "ratio_ci_high": float(ci.high)}


def detection_power(base_rate: float, n: int, base_n: int, ratio: float = EFFECT_RATIO,
                    alpha: float = ALPHA) -> float:
    """Power of a two-sided level-``alpha`` two-proportion test to detect a rate ``ratio × base_rate``
    (Cohen's arcsine effect size h, normal approximation). A zero base rate gives power 0: no ratio
    of zero can be detected."""
    p0 = float(base_rate)
    p1 = min(1.0, ratio * p0)
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0)))
    scale = math.sqrt(n * base_n / (n + base_n))
    z = scipy.stats.norm.ppf(1 - alpha / 2)
    return float(scipy.stats.norm.cdf(h * scale - z) + scipy.stats.norm.cdf(-h * scale - z))


def holm(pvalues: list[float]) -> list[float]:
    """Holm step-down adjusted p-values (monotone, capped at 1), in the input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def compare_to_baseline(rows: list[dict[str, Any]], baseline: str = "gradient", alpha: float = ALPHA,
                        effect_ratio: float = EFFECT_RATIO, power: float = POWER) -> list[dict[str, Any]]:
    """Judge every row of one landscape against the ``baseline`` row (see the module docstring).

    ``rows``: dicts with ``rule``, ``hits``, ``n`` and, for a paired McNemar test, ``hit_mask`` (a
    boolean array over the same starts as the baseline's) or ``discordant`` = (only rule, only
    baseline). Returns one comparison dict per non-baseline row, with the verdict.
    """
    base = next(r for r in rows if r["rule"] == baseline)
    others = [r for r in rows if r["rule"] != baseline]
    m = max(1, len(others))
    raw = [fisher_p(r["hits"], r["n"], base["hits"], base["n"]) for r in others]
    out = []
    for r, p, p_adj in zip(others, raw, holm(raw)):
        disc = r.get("discordant")
        if disc is None and r.get("hit_mask") is not None and base.get("hit_mask") is not None:
            a, b = np.asarray(r["hit_mask"], bool), np.asarray(base["hit_mask"], bool)
            disc = (int((a & ~b).sum()), int((~a & b).sum()))
        pw = detection_power(base["hits"] / base["n"], r["n"], base["n"], effect_ratio, alpha / m)
        rate, base_rate = r["hits"] / r["n"], base["hits"] / base["n"]
        if p_adj < alpha:
            verdict = "helps" if rate > base_rate else "hurts"
        elif pw >= power:
            verdict = f"no ×{effect_ratio:g} gain (powered)"
        else:
            verdict = "inconclusive (underpowered)"
        out.append({"rule": r["rule"], "baseline": baseline, "n": r["n"], "baseline_n": base["n"],
                    "rate": rate, "baseline_rate": base_rate,
                    **rate_ratio(r["hits"], r["n"], base["hits"], base["n"]),
                    "test": "two-sided Fisher exact", "p_value": p, "p_holm": p_adj,
                    "paired_test": "exact McNemar (same starts)" if disc is not None else None,
                    "discordant_rule_only_baseline_only": None if disc is None else list(disc),
                    "p_mcnemar": None if disc is None else mcnemar_p(*disc),
                    "power_for_effect": pw, "effect_ratio": effect_ratio, "alpha": alpha,
                    "power_alpha": alpha / m, "verdict": verdict})
    return out


# ----------------------------------------------------------------------------- the run
def hit_rate_table(n_starts: dict[str, int], rules: list[str] | None = None, progress: bool = True,
                   log=print, iterations: int | None = None) -> dict[str, Any]:
    """Run every rule from ``n_starts[landscape]`` starts on each named landscape and compare (JSON-safe).

    Landscapes, rules, step sizes, budgets, tolerances and the start distribution are those of
    :mod:`experiments.landscapes`, so this table is
    that study at a larger n. PPO is not in it (each PPO "start" is a training run). ``rules``
    restricts the rules (gradient, the baseline, always runs); ``iterations`` overrides every
    landscape's budget (tests only: the committed table uses the study's budgets).
    """
    from mechanism import run_planner

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    began = time.perf_counter()
    out: dict[str, Any] = {"landscapes": {}, "alpha": ALPHA, "effect_ratio": EFFECT_RATIO, "power": POWER}
    try:
        specs = landscapes()
        for name, n in n_starts.items():
            spec = specs[name] if iterations is None else {**specs[name], "iters": int(iterations)}
            X0 = starts(spec, int(n))
            rows, masks = [], {}
            for label, policy in policies(spec).items():
                if rules is not None and label not in rules and label != "gradient":
                    continue
                t0 = time.perf_counter()
                res = run_planner(spec["problem"], policy, X0, max_iters=spec["iters"], eps=0.0, tau=0.0,
                                  record_actions=False, record_every=spec["iters"])
                gaps = res.loss.numpy() - spec["L_star"]
                mask = gaps <= spec["tol"]
                masks[label] = mask
                hits = int(mask.sum())
                lo, hi = wilson(hits, len(mask))
                rows.append({"rule": label, "n": int(len(mask)), "hits": hits, "rate": hits / len(mask),
                             "ci_low": lo, "ci_high": hi, "median_final_gap": float(np.median(gaps)),
                             "iterations": spec["iters"], "wall_seconds": time.perf_counter() - t0})
                if progress:
                    log(f"[hit_rates] {name} {label}: {hits}/{len(mask)} in {rows[-1]['wall_seconds']:.0f} s")
            for r in rows:
                r["hit_mask"] = masks[r["rule"]]
            comps = compare_to_baseline(rows)
            for r in rows:
                del r["hit_mask"]
            out["landscapes"][name] = {
                "starts": int(n), "start_low": _as_list(spec["start_low"]), "start_high": _as_list(spec["start_high"]),
                "start_seeds": f"0 … {int(n) - 1} (numpy default_rng(seed).uniform per start)",
                "L_star": spec["L_star"], "L_star_source": spec["L_star_source"], "tolerance": spec["tol"],
                "eta": float(spec["eta"]), "iterations": spec["iters"], "rows": rows, "comparisons": comps}
    finally:
        torch.set_num_threads(threads)
    out["wall_seconds"] = time.perf_counter() - began
    return out


def _as_list(v: Any) -> Any:
    return torch.as_tensor(v).reshape(-1).tolist() if isinstance(v, torch.Tensor) else v


def _f(v: Any, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def _p(v: float) -> str:
    return "< 1e-300" if v == 0.0 else f"{v:.2g}"


def markdown(result: dict[str, Any]) -> str:
    """The table per landscape: rule, starts, hits, rate, Wilson CI, ratio vs gradient, p-values,
    power, verdict (all from ``result``)."""
    lines = [f"# Global-basin hit rates ({result['wall_seconds']:.0f} s)", "",
             "Every rule runs from the same uniform starts (seeds 0 … n−1). Hit: final loss within the tolerance "
             "of the global minimum. Test: two-sided Fisher exact test against plain gradient agents, p Holm-adjusted "
             f"over the rules of one landscape (family-wise α = {result['alpha']}); McNemar: exact paired test on the "
             f"starts only one of the two rules hit. Power: to detect a rate ×{result['effect_ratio']:g} the gradient "
             "rate (arcsine normal approximation, level α/m). Verdict: `helps`/`hurts` if p(Holm) < α, else "
             f"`no ×{result['effect_ratio']:g} gain (powered)` if power ≥ {result['power']}, else `inconclusive "
             "(underpowered)`.", ""]
    for name, L in result["landscapes"].items():
        comps = {c["rule"]: c for c in L["comparisons"]}
        lines += [f"## {name} (L* = {L['L_star']:.4f}, {L['L_star_source']}; hit: L − L* ≤ {L['tolerance']:g}; "
                  f"η = {L['eta']:.4g}, {L['iterations']} iterations)", "",
                  "| rule | starts | hits | rate | Wilson 95% CI | rate / gradient (95% CI) | Fisher p | p (Holm) | "
                  "McNemar p | power for ×1.5 | verdict |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in L["rows"]:
            c = comps.get(r["rule"])
            head = (f"| {r['rule']} | {r['n']} | {r['hits']} | {r['rate']:.4f} | "
                    f"[{r['ci_low']:.4f}, {r['ci_high']:.4f}] | ")
            if c is None:
                lines.append(head + "1 (baseline) | — | — | — | — | baseline |")
                continue
            ratio = ("—" if c["ratio"] is None else
                     f"{c['ratio']:.2f}" + ("" if c["ratio_ci_low"] is None else
                                             f" [{c['ratio_ci_low']:.2f}, {c['ratio_ci_high']:.2f}]"))
            lines.append(head + f"{ratio} | {_p(c['p_value'])} | {_p(c['p_holm'])} | "
                         f"{'—' if c['p_mcnemar'] is None else _p(c['p_mcnemar'])} | "
                         f"{c['power_for_effect']:.3f} | {c['verdict']} |")
        lines.append("")
    return "\n".join(lines)


def write_report(result: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write ``hit_rates.json`` and ``hit_rates.md`` under ``out_dir``."""
    from mbi_envs.evaluation import json_safe
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "hit_rates.json", out / "hit_rates.md"]
    paths[0].write_text(json.dumps(json_safe(result), indent=1, allow_nan=False))
    paths[1].write_text(markdown(result))
    return paths
