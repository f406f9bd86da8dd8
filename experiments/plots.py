"""Benchmark plots: loss gap vs agent-steps and vs seconds, log scales, one line per contender
(median over seeds) with its seed spread (min–max band). Gaps ≤ 1e-16 are drawn at 1e-16.

Every contender has one fixed colour, line style and marker (:data:`STYLE`) in every plot, the
legend sits outside the axes (it can cover no point), lines are drawn half-transparent with
distinct dashes and markers so that no curve hides another, and classical solvers are stars."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["plot_scenario", "plot_all", "GAP_FLOOR", "STYLE", "style_of"]

GAP_FLOOR = 1e-16

#: contender → (colour, line style, marker): fixed across all plots (Okabe–Ito / tab palette)
STYLE: dict[str, tuple[str, Any, str]] = {
    "mbi-gradient-paper": ("#0072B2", "-", "o"),
    "mbi-gradient-linesearch": ("#009E73", (0, (5, 2)), "s"),
    "mbi-gradient-adaptive": ("#56B4E9", (0, (1, 1)), "^"),
    "mbi-gradient-oracle": ("#D55E00", "-", "D"),
    "mbi-momentum-oracle": ("#CC79A7", (0, (3, 1, 1, 1)), "v"),
    "mbi-satisficing-oracle": ("#E69F00", (0, (6, 2, 1, 2)), "P"),
    "ppo-oneshot-team": ("#000000", "-", "x"),
    "ppo-oneshot-difference": ("#7f7f7f", (0, (4, 2)), "+"),
    "ppo-iterative-team": ("#8c564b", (0, (2, 2)), "1"),
    "centralized": ("#d62728", "", "*"),
    "nash": ("#9467bd", "", "*"),
}


def style_of(name: str) -> tuple[str, Any, str]:
    """A contender's fixed style; unknown names get a grey dotted line."""
    return STYLE.get(name, ("#444444", ":", "."))


def _series(record: dict[str, Any], xkey: str) -> tuple[np.ndarray, np.ndarray]:
    c = record["curve"]
    x = np.array(c[xkey], dtype=float)
    y = np.array([np.nan if g is None else max(g, GAP_FLOOR) for g in c["loss_gap"]], dtype=float)
    return x, y


def _draw_contender(ax, runs: list[dict[str, Any]], name: str, xkey: str) -> None:
    color, ls, marker = style_of(name)
    series = [_series(r, xkey) for r in runs]
    if runs[0]["family"] == "classical":
        xs = np.array([max(s[0][-1], 1e-6 if xkey == "seconds" else 1) for s in series])
        ys = np.array([s[1][-1] for s in series])
        ax.scatter(xs, ys, color=color, marker=marker, s=110, label=name, zorder=5, edgecolors="k", linewidths=0.5)
        return
    grid = series[0][0]  # seeds share the schedule; the spread over seeds on the first run's x
    ys = np.vstack([np.interp(grid, s[0], s[1]) if len(s[0]) > 1 else np.full_like(grid, s[1][0]) for s in series])
    x = np.where(grid > 0, grid, np.nan)
    with np.errstate(all="ignore"):
        ax.plot(x, np.nanmedian(ys, axis=0), color=color, ls=ls, marker=marker, markevery=0.1, ms=5, lw=1.6,
                alpha=0.85, label=name, zorder=3)
        if len(series) > 1:
            ax.fill_between(x, np.nanmin(ys, axis=0), np.nanmax(ys, axis=0), color=color, alpha=0.12, lw=0)


def plot_scenario(records: Sequence[dict[str, Any]], scenario: str, path: str | Path) -> Path:
    """One PNG for ``scenario``: two panels (gap vs agent-steps, gap vs seconds), legend outside."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [r for r in records if r["scenario"] == scenario]
    contenders = list(dict.fromkeys(r["contender"] for r in recs))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for name in contenders:
        runs = [r for r in recs if r["contender"] == name]
        for ax, xkey in zip(axes, ("env_steps", "seconds")):
            _draw_contender(ax, runs, name, xkey)
    for ax, label in zip(axes, ("agent-steps (joint steps × N; PPO: training)", "wall-clock seconds")):
        ax.set_xscale("log"), ax.set_yscale("log")
        ax.set_xlabel(label), ax.set_ylabel("loss gap L − L*")
        ax.grid(True, which="major", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8, frameon=False)
    fig.suptitle(f"{scenario}: median over seeds, band = min–max over seeds (gap floor {GAP_FLOOR:g})")
    fig.tight_layout(rect=(0, 0.1 if len(labels) <= 6 else 0.15, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(records: Sequence[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """``benchmark_<scenario>.png`` for every scenario in ``records``."""
    out_dir = Path(out_dir)
    scenarios = list(dict.fromkeys(r["scenario"] for r in records))
    return [plot_scenario(records, s, out_dir / f"benchmark_{s.replace('.', '')}.png") for s in scenarios]
