"""The incentive-compatibility audit of the payment rules on C.4's and C.17's problems, as
``scripts/ic_audit.py`` runs it: the search audits (:mod:`mechanism.design.ic_audit`), the DPM price in
a growing market, optionally PPO as a learning adversary per payment rule, then the JSON, the
Markdown report and the figures (:mod:`experiments.ic_audit_report`), and a printed summary."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

__all__ = ["combine_seeds", "run_audit", "print_labels"]


def combine_seeds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-seed adversary records and the across-seed mean/min/max of each headline number."""
    out: dict[str, Any] = {"seeds": runs}
    for key in ("report_truth_ratio", "unilateral_gain", "selfplay_gain", "efficiency_loss"):
        vals = [r[key]["mean"] for r in runs]
        out[key] = {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals), "n_seeds": len(vals)}
    out["train_seconds"] = sum(r["train_seconds"] for r in runs)
    out["total_timesteps"] = runs[0]["total_timesteps"]
    return out


def run_audit(out: str | Path, full: bool = False, seed: int = 0, ppo_steps: int = 0, ppo_seeds: Sequence[int] = (0,),
              ppo_payments: Sequence[str] = ("none", "dpm", "vcg", "agv"), plots: bool = True) -> dict[str, Any]:
    """Audit every payment rule (``full``: the larger budgets), with ``ppo_steps > 0`` also train PPO
    against each of ``ppo_payments`` on every seed of ``ppo_seeds``; write ``ic_audit.json``,
    ``ic_audit.md`` and (``plots``) ``utility_vs_report_<rule>.png`` into ``out``; print the labels."""
    import torch

    from mbi_envs.evaluation import json_safe
    from mechanism.design.ic_audit import AuditConfig, audit_c4, audit_c17, dpm_regret_vs_n

    from .ic_audit_report import plot_utilities, write_markdown

    torch.set_num_threads(1)
    out = Path(out)
    cfg = (AuditConfig.full if full else AuditConfig.quick)(seed=seed)
    began = time.perf_counter()
    results: dict[str, Any] = {"mode": "full" if full else "quick", "c4": audit_c4(cfg), "c17": audit_c17(cfg),
                               "large_market": dpm_regret_vs_n()}
    if ppo_steps > 0:
        from baselines.ppo_adversary import train_reporting_adversary
        results["learning_adversary"] = {p: combine_seeds([train_reporting_adversary(p, ppo_steps, seed=s)
                                                           for s in ppo_seeds])
                                         for p in ppo_payments}
    results["seconds"] = time.perf_counter() - began
    figures = plot_utilities(results["c4"], out) if plots else []
    results["figures"] = figures
    (out / "ic_audit.json").write_text(json.dumps(json_safe(results), indent=1, allow_nan=False), encoding="utf-8")
    write_markdown(results, out)
    print_labels(results)
    print(f"wrote {out}/ic_audit.json, ic_audit.md and {len(figures)} plots in {results['seconds']:.0f} s")
    return results


def print_labels(results: dict[str, Any]) -> None:
    """Every rule's label texts on C.4 and C.17 (each cut at 240 characters) and the two claim axes."""
    for key, title in (("c4", "C.4"), ("c17", "C.17")):
        print(f"{title}:")
        for name, rec in results[key]["rules"].items():
            for text in rec["verdict"]["text"].values():
                print(f"  {name:9s} {text if len(text) < 240 else text[:237] + '...'}")
    ax4, ax17 = results["c4"]["claim_axis"], results["c17"]["claim_axis"]
    print(f"C.4 claim (DPM price is IC): holds={ax4['holds']}; {ax4['dpm_dsic']}")
    print(f"C.17 claim (Bayesian MBI is BIC): holds={ax17['holds']}; {ax17['bayes_dpm_bic']}")
