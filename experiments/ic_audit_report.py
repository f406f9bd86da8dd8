"""The IC audit's report: ``ic_audit.md`` (labels and regret tables, the DPM price in a growing
market, the learning adversary beside the search) and the utility-vs-report figures. The numbers
come from :func:`experiments.ic_audit_run.run_audit`'s results."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["plot_utilities", "adversary_table", "write_markdown"]


def plot_utilities(result: dict[str, Any], out: Path) -> list[str]:
    """One figure per rule (see :mod:`experiments.ic_audit_plots`); returns the file names."""
    from experiments.ic_audit_plots import plot_utilities as draw

    return draw(result, out)


def adversary_table(c4: dict[str, Any], learned: dict[str, Any]) -> str:
    """Search adversary vs learning adversary, per payment rule."""
    lines = ["| rule | search: max interim regret | search: E[ex-post regret] | search: best report/truth (C.4 types) "
             "| PPO: report/truth (seed mean [min, max]) | PPO: unilateral gain (seed mean [min, max]) "
             "| PPO: self-play efficiency loss |",
             "|" + "---|" * 7]
    for name, a in learned.items():
        s = c4["rules"].get(name, {})
        ratio = ", ".join(f"{v:.2f}" for v in s.get("report_truth_ratio", []))
        r, g = a["report_truth_ratio"], a["unilateral_gain"]
        lines.append(f"| {name} | {s.get('max_interim_regret', float('nan')):.3g} | "
                     f"{s.get('expected_ex_post_regret', {}).get('mean', float('nan')):.3g} | {ratio} | "
                     f"{r['mean']:.3f} [{r['min']:.3f}, {r['max']:.3f}] | "
                     f"{g['mean']:.3g} [{g['min']:.3g}, {g['max']:.3g}] | {a['efficiency_loss']['mean']:.3g} |")
    return "\n".join(lines)


def write_markdown(results: dict[str, Any], out: Path) -> None:
    """``out/ic_audit.md``: C.4's and C.17's label tables and claim axes, the DPM price as N grows,
    and (when trained) the learning adversary beside the search adversary."""
    from mechanism.design.ic_audit import markdown_table

    c4, c17 = results["c4"], results["c17"]
    parts = [f"# IC audit ({results['mode']}, {results['seconds']:.0f} s)", "",
             "Labels: `proved` (exact argument, preconditions checked; the search runs beside it as a check), "
             "`no_violation` (none found in K profiles by the named search, in the stated scope), `violated` "
             "(witness given), `untested`. Regrets are gains in the problem's loss units; tolerance "
             f"{c4['tolerance']:g}.", "",
             "## C.4: Y = 7.461, λ = (0.1, 0.5, 0.2, 0.4, 0.6); prior λ_i ~ U(0.05, 1) i.i.d.; reports in [0.05, 1]",
             "", markdown_table(c4), "", "Claim axis: " + json.dumps(c4["claim_axis"]), "",
             "## C.17: λ_1 ∈ {0.1, 0.3} (½ each), others (0.5, 0.2, 0.4, 0.6) known; exact expectations", "",
             markdown_table(c17), "", "Claim axis: " + json.dumps(c17["claim_axis"]), ""]
    parts += ["## DPM price in a growing market (symmetric, λ = 0.1, Y = 10; closed form, search-checked for N ≤ 10)", "",
              "| N | DPM ex-post regret | regret / truthful utility | best report / truth | search regret |",
              "|---|---|---|---|---|"]
    for r in results["large_market"]:
        parts.append(f"| {r['n_agents']} | {r['regret']:.3g} | {r['relative_regret']:.3g} | {r['best_report_ratio']:.4f} | "
                     f"{r['search_regret']:.3g} |" if "search_regret" in r else
                     f"| {r['n_agents']} | {r['regret']:.3g} | {r['relative_regret']:.3g} | {r['best_report_ratio']:.4f} | – |")
    parts.append("")
    if results.get("learning_adversary"):
        parts += ["## Learning adversary (PPO on type_report_v0) beside the search adversary", "",
                  adversary_table(c4, results["learning_adversary"]), ""]
    (out / "ic_audit.md").write_text("\n".join(parts), encoding="utf-8")
