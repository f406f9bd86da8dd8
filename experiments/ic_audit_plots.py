"""IC-audit figures: each agent's utility gain from misreporting, and the best report found.

One figure per payment rule, two panels:

- left: ``u_i(report) − u_i(truth)`` against ``report / true type`` (others truthful), one line per
  agent; a linear y axis around the gains when some lie gains more than :data:`TOLERANCE`, else a
  symmetric-log y axis (linear within ±:data:`LINTHRESH`, logarithmic beyond), so that a rule
  whose curves all fall below zero (VCG, Groves: no profitable lie) shows how fast each agent
  loses by lying instead of a spike that leaves the axes;
- right: the best report the search found, one row per agent (so agents whose best report is the
  truth do not overlap in one dot), with its gain written beside it; a gain ≤ :data:`ROUNDING`
  is float rounding and says so.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .figure_layout import exclude, place_legend, reference

__all__ = ["build_utility_figure", "plot_utilities", "LINTHRESH", "ROUNDING", "TOLERANCE"]

#: half-width of the linear band of the symmetric-log y axis (gains in the problem's loss units)
LINTHRESH = 1e-6
#: gains at or below this are float rounding
ROUNDING = 1e-12
#: the audit's tolerance: a rule with no gain above it gets the symmetric-log axis
TOLERANCE = 1e-6


def build_utility_figure(rule: str, rec: dict[str, Any]):
    """The figure for one payment rule's audit record (``rec["ex_post"]`` per agent: ``reports``,
    ``utilities``, ``truthful_utility``, ``truth``, ``best_report``, ``gain``; ``rec["max_regret"]``)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agents = rec["ex_post"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1.6, 1.0]})
    lo, hi = 0.0, 0.0
    for e in agents:
        ratio = np.asarray(e["reports"], dtype=float) / e["truth"]
        gains = np.asarray(e["utilities"], dtype=float) - e["truthful_utility"]
        lo, hi = min(lo, float(gains.min())), max(hi, float(gains.max()), float(e["gain"]))
        ax.plot(ratio, gains, lw=1.4, label=f"agent {e['agent']} (λ={e['truth']:.2g})")
    reference(ax.axhline(0.0, color="k", lw=0.6), "zero gain")
    exclude(ax.lines[-1], "reference: zero gain (y axis label)")
    reference(ax.axvline(1.0, color="k", lw=0.6, ls=":"), "truthful report")
    exclude(ax.lines[-1], "reference: the truthful report (x axis label)")
    ax.set_xscale("log")
    ax.set_xlabel("report / true type (others truthful; dotted: truth)")
    if hi > TOLERANCE:  # a profitable lie: a linear axis around the gains (deep losses leave the axes)
        ax.set_ylim(-3 * hi, 1.4 * hi)
        ax.set_ylabel("u_i(report) − u_i(truth)")
    else:  # no gain above the tolerance: symlog, so that the losses from lying are visible
        ax.set_yscale("symlog", linthresh=LINTHRESH)
        span = max(abs(lo), 10 * LINTHRESH)
        ax.set_ylim(-1.5 * span, 1e-3 * span)
        ax.set_ylabel(f"u_i(report) − u_i(truth)\n(symlog: linear within ±{LINTHRESH:g})", fontsize=9)
    ax.grid(alpha=0.3)

    rows = np.arange(len(agents))
    colors = [ln.get_color() for ln in ax.lines[:len(agents)]]
    best = np.array([e["best_report"] / e["truth"] for e in agents])
    exclude(bx.scatter(best, rows, c=colors, s=40, zorder=3), "one row per agent, named by the y tick labels")
    reference(bx.axvline(1.0, color="k", lw=0.6, ls=":"), "truthful report")
    exclude(bx.lines[-1], "reference: the truthful report (x axis label)")
    pad = max(float(np.max(np.abs(best - 1.0))), 0.05)
    bx.set_xlim(max(0.0, 1 - 1.6 * pad), 1 + 1.6 * pad)
    for y, (b, e) in enumerate(zip(best, agents)):
        text = f"gain {e['gain']:.2g}" + (" (rounding)" if e["gain"] <= ROUNDING else "")
        right = b <= 1 + 0.4 * pad
        bx.annotate(text, (b, y), xytext=(8 if right else -8, 5), textcoords="offset points", fontsize=7,
                    ha="left" if right else "right")
    bx.set_yticks(rows, [f"agent {e['agent']}" for e in agents], fontsize=8)
    bx.set_ylim(-0.7, len(agents) - 0.3)
    bx.invert_yaxis()
    bx.set_xlabel("best report found / true type")
    bx.set_title("best report found by the search", fontsize=9)
    bx.grid(alpha=0.3, axis="x")
    fig.suptitle(f"{rule}: max ex-post regret {rec['max_regret']:.3g} (C.4 types; gains in loss units)")
    fig.tight_layout()
    place_legend(ax)
    fig.tight_layout()
    return fig


def plot_utilities(result: dict[str, Any], out: Path) -> list[str]:
    """``utility_vs_report_<rule>.png`` under ``out`` for every rule of ``result["rules"]``
    (C.4's audit record); returns the file names."""
    import matplotlib.pyplot as plt

    names = []
    for rule, rec in result["rules"].items():
        fig = build_utility_figure(rule, rec)
        name = f"utility_vs_report_{rule}.png"
        fig.savefig(Path(out) / name, dpi=110)
        plt.close(fig)
        names.append(name)
    return names
