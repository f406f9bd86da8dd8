"""Incentive-compatibility audit of the payment rules on C.4's and C.17's problems.

    python scripts/ic_audit.py --quick --out runs/ic_audit
    python scripts/ic_audit.py --quick --ppo-steps 40000 --ppo-seeds 0 1 2 --out runs/ic_audit

Prints, for every rule, its four labels (DSIC, BIC, ex-post IR, budget balance), each
``proved`` (with the argument), ``no violation in K profiles (search S, scope)`` or ``violated``
(with the witness). Writes DIR/ic_audit.json (one record per payment rule: the labels, regrets at
the truth and over profiles, expected ex-post regret with its CI, interim regret per agent class
and own type, budget, efficiency, closed-form checks; C.4's and C.17's claim axes),
DIR/ic_audit.md (the tables and labels) and
DIR/utility_vs_report_<rule>.png (each agent's true utility vs its reported type, others truthful).
With ``--ppo-steps N > 0`` PPO is trained as the learning adversary on ``type_report_v0`` for
each payment rule (``--ppo-payments``) and reported beside the search adversary.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small search/sampling budgets (default)")
    mode.add_argument("--full", action="store_true", help="larger budgets (several minutes)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ppo-steps", type=int, default=0, help="PPO agent-steps per payment rule (0: skip)")
    parser.add_argument("--ppo-seeds", type=int, nargs="*", default=[0], help="PPO seeds per payment rule")
    parser.add_argument("--ppo-payments", nargs="*", default=["none", "dpm", "vcg", "agv"],
                        help="payment rules PPO is trained against")
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args(argv)
    if args.ppo_steps < 0:
        parser.error(f"--ppo-steps must be >= 0, got {args.ppo_steps}")
    return args


def plot_utilities(result: dict[str, Any], out: Path) -> list[str]:
    """One figure per rule (see :mod:`experiments.ic_audit_plots`); returns the file names."""
    from experiments.ic_audit_plots import plot_utilities as draw

    return draw(result, out)


def combine_seeds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-seed adversary records and the across-seed mean/min/max of each headline number."""
    out: dict[str, Any] = {"seeds": runs}
    for key in ("report_truth_ratio", "unilateral_gain", "selfplay_gain", "efficiency_loss"):
        vals = [r[key]["mean"] for r in runs]
        out[key] = {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals), "n_seeds": len(vals)}
    out["train_seconds"] = sum(r["train_seconds"] for r in runs)
    out["total_timesteps"] = runs[0]["total_timesteps"]
    return out


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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(1)
    from experiments.jobs import cli_session

    def refuse(message: str) -> None:
        raise SystemExit(f"ic_audit.py: error: argument --out: {message}")

    with cli_session(args.out, refuse, resume_hint="rerun the same command (the audit is one job: it starts over)",
                     status=lambda: "nothing written (the audit writes its files at the end)") as out:
        return _run(args, Path(out))


def _run(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from mbi_envs.evaluation import json_safe
    from mechanism.design.ic_audit import AuditConfig, audit_c4, audit_c17, dpm_regret_vs_n

    cfg = (AuditConfig.full if args.full else AuditConfig.quick)(seed=args.seed)
    began = time.perf_counter()
    results: dict[str, Any] = {"mode": "full" if args.full else "quick", "c4": audit_c4(cfg), "c17": audit_c17(cfg),
                               "large_market": dpm_regret_vs_n()}
    if args.ppo_steps > 0:
        from baselines.ppo_adversary import train_reporting_adversary
        results["learning_adversary"] = {p: combine_seeds([train_reporting_adversary(p, args.ppo_steps, seed=s)
                                                           for s in args.ppo_seeds])
                                         for p in args.ppo_payments}
    results["seconds"] = time.perf_counter() - began
    figures = [] if args.no_plots else plot_utilities(results["c4"], out)
    results["figures"] = figures
    (out / "ic_audit.json").write_text(json.dumps(json_safe(results), indent=1, allow_nan=False), encoding="utf-8")
    write_markdown(results, out)
    for key, title in (("c4", "C.4"), ("c17", "C.17")):
        print(f"{title}:")
        for name, rec in results[key]["rules"].items():
            for text in rec["verdict"]["text"].values():
                print(f"  {name:9s} {text if len(text) < 240 else text[:237] + '...'}")
    ax4, ax17 = results["c4"]["claim_axis"], results["c17"]["claim_axis"]
    print(f"C.4 claim (DPM price is IC): holds={ax4['holds']}; {ax4['dpm_dsic']}")
    print(f"C.17 claim (Bayesian MBI is BIC): holds={ax17['holds']}; {ax17['bayes_dpm_bic']}")
    print(f"wrote {out}/ic_audit.json, ic_audit.md and {len(figures)} plots in {results['seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main()
