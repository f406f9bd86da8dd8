"""Benchmark plots: loss gap vs agent-steps and vs seconds, log scales, one line per contender
(median over seeds) with its seed spread (min–max band). Gaps ≤ 1e-16 are drawn at 1e-16.

Every contender has one fixed colour, line style and marker (:data:`STYLE`) in every plot, the
legend sits outside the axes (it can cover no point), lines are drawn half-transparent with
distinct dashes and markers so that no curve hides another, markers sit at staggered x positions
(no two contenders share one, none piles up on a vertical jump, none sits on a star), classical
solvers are stars, a dynamic target's switch is a dotted vertical line, and a scenario without PPO
says why in its title."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .figure_layout import exclude, reference

__all__ = ["plot_scenario", "plot_all", "build_scenario_figure", "no_ppo_note", "GAP_FLOOR", "STYLE", "style_of"]

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


def _draw_contender(ax, runs: list[dict[str, Any]], name: str, xkey: str):
    """Draw one contender on ``ax``: classical solvers as stars at their final point, the others as
    the median line over seeds (markers placed later by :func:`_place_markers`) and a min–max band.
    Returns ``("line", Line2D)`` or ``("stars", PathCollection)``."""
    color, ls, marker = style_of(name)
    series = [_series(r, xkey) for r in runs if r.get("curve") and len(r["curve"].get(xkey, ())) > 0]
    if not series:
        return None
    if runs[0]["family"] == "classical":
        xs = np.array([max(s[0][-1], 1e-6 if xkey == "seconds" else 1) for s in series])
        ys = np.array([s[1][-1] for s in series])
        return "stars", ax.scatter(xs, ys, color=color, marker=marker, s=110, label=name, zorder=5, edgecolors="k",
                                   linewidths=0.5)
    grid = series[0][0]  # seeds share the schedule; the spread over seeds on the first run's x
    ys = np.vstack([np.interp(grid, s[0], s[1]) if len(s[0]) > 1 else np.full_like(grid, s[1][0]) for s in series])
    x = np.where(grid > 0, grid, np.nan)
    with np.errstate(all="ignore"):
        line, = ax.plot(x, np.nanmedian(ys, axis=0), color=color, ls=ls, marker=marker, markevery=[], ms=5, lw=1.6,
                        alpha=0.85, label=name, zorder=3)
        if len(series) > 1:
            exclude(ax.fill_between(x, np.nanmin(ys, axis=0), np.nanmax(ys, axis=0), color=color, alpha=0.12, lw=0),
                    f"min–max band over seeds of {name} (the title says so)")
    return "line", line


def _place_markers(ax, lines: list[Any], stars: list[Any], per_line: int = 6, clear_px: float = 12.0) -> None:
    """Markers at staggered x positions: line ``i`` of ``n`` puts its ``per_line`` markers at axes
    fractions ``(k + (i + ½)/n) / per_line`` of the (log) x range, one per position, so no two
    contenders' markers share an x, a vertical jump (C.15's switch) gets at most one marker, and a
    marker within ``clear_px`` pixels of a classical solver's star is dropped."""
    ax.autoscale_view()
    to_axes = ax.transAxes.inverted()
    width, height = ax.get_window_extent().width, ax.get_window_extent().height
    star_xy = [to_axes.transform(c.get_offset_transform().transform(c.get_offsets())) for c in stars]
    star_xy = np.concatenate(star_xy) if star_xy else np.zeros((0, 2))
    n = max(len(lines), 1)
    for i, line in enumerate(lines):
        with np.errstate(all="ignore"):
            frac = to_axes.transform(ax.transData.transform(np.asarray(line.get_xydata(), dtype=float)))
        ok = np.isfinite(frac).all(axis=1) & (frac[:, 1] >= 0) & (frac[:, 1] <= 1)
        keep = []
        for k in range(per_line):
            target = (k + (i + 0.5) / n) / per_line
            hits = np.flatnonzero(ok & (frac[:, 0] >= target))
            if not hits.size or frac[hits[0], 0] - target > 0.5 / (per_line * n):
                continue  # no point of this line near its own x position: no marker there
            j = int(hits[0])
            d = np.hypot((star_xy[:, 0] - frac[j, 0]) * width, (star_xy[:, 1] - frac[j, 1]) * height)
            if not (d < clear_px).any():
                keep.append(j)
        line.set_markevery(sorted(set(keep)))


def _switch_step(recs: Sequence[dict[str, Any]]) -> tuple[int, int] | None:
    """``(switch step, agents)`` of a dynamic-target scenario's records, else None."""
    for r in recs:
        sw = r.get("after_switch") or {}
        if sw.get("switch_step"):
            return int(sw["switch_step"]), int(r["n_agents"])
    return None


def no_ppo_note(records: Sequence[dict[str, Any]], scenario: str, config: dict[str, Any] | None = None) -> str:
    """Why ``scenario``'s plot has no PPO curve ('' when it has one), from the run's own records:
    the scenarios where this run trained PPO, and its mode."""
    if any(r["scenario"] == scenario and r["family"] == "ppo" for r in records):
        return ""
    with_ppo = list(dict.fromkeys(r["scenario"] for r in records if r["family"] == "ppo"))
    mode = (config or {}).get("mode")
    run = f"this {mode}-mode run" if mode else "this run"
    where = f"only on {', '.join(with_ppo)}" if with_ppo else "on no scenario"
    return (f"No PPO curve: {run} trained PPO {where} (the mode's budgets, "
            f"experiments/benchmark/scenarios.py MODES; see docs/figures.md)")


def build_scenario_figure(records: Sequence[dict[str, Any]], scenario: str, config: dict[str, Any] | None = None):
    """The figure of one scenario: two panels (gap vs agent-steps, gap vs seconds), the legend below
    them (outside the axes: it covers no point), a note when the run has no PPO here, and the target
    switch marked on a dynamic scenario."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [r for r in records if r["scenario"] == scenario]
    contenders = list(dict.fromkeys(r["contender"] for r in recs))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    drawn: dict[int, dict[str, list]] = {0: {"line": [], "stars": []}, 1: {"line": [], "stars": []}}
    for name in contenders:
        runs = [r for r in recs if r["contender"] == name]
        for k, (ax, xkey) in enumerate(zip(axes, ("env_steps", "seconds"))):
            got = _draw_contender(ax, runs, name, xkey)
            if got:
                drawn[k][got[0]].append(got[1])
    switch = _switch_step(recs)
    if switch:
        step, n = switch
        reference(axes[0].axvline(step * n, color="k", lw=0.8, ls=(0, (1, 3)), zorder=1,
                                  label=f"target switch (step {step} = {step * n} agent-steps)"), "target switch")
    for ax, label in zip(axes, ("agent-steps (joint steps × N; PPO: training)", "wall-clock seconds")):
        ax.set_xscale("log"), ax.set_yscale("log")
        ax.set_xlabel(label), ax.set_ylabel("loss gap L − L*")
        ax.grid(True, which="major", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    note = no_ppo_note(records, scenario, config)
    title = f"{scenario}: median over seeds, band = min–max over seeds (gap floor {GAP_FLOOR:g})"
    fig.suptitle(title + ("\n" + note if note else ""), fontsize=11 if note else 12)
    rows = -(-len(labels) // 6)
    fig.tight_layout(rect=(0, 0.04 + 0.045 * rows, 1, 1))
    for k, ax in enumerate(axes):
        _place_markers(ax, drawn[k]["line"], drawn[k]["stars"])
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8, frameon=False)
    return fig


def plot_scenario(records: Sequence[dict[str, Any]], scenario: str, path: str | Path,
                  config: dict[str, Any] | None = None) -> Path:
    """One PNG for ``scenario`` (see :func:`build_scenario_figure`)."""
    import matplotlib.pyplot as plt

    fig = build_scenario_figure(records, scenario, config)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(records: Sequence[dict[str, Any]], out_dir: str | Path, config: dict[str, Any] | None = None) -> list[Path]:
    """``benchmark_<scenario>.png`` for every scenario in ``records`` (``config``: the payload's
    config, for the run's mode in the no-PPO note)."""
    out_dir = Path(out_dir)
    scenarios = list(dict.fromkeys(r["scenario"] for r in records))
    return [plot_scenario(records, s, out_dir / f"benchmark_{s.replace('.', '')}.png", config) for s in scenarios]
