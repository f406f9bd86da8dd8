"""Benchmark plots: loss gap vs agent-steps and vs seconds, log scales, one line per contender
(median over seeds) with its seed spread (min–max band). Gaps ≤ 1e-16 are drawn at 1e-16."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["plot_scenario", "plot_all", "GAP_FLOOR"]

GAP_FLOOR = 1e-16


def _series(record: dict[str, Any], xkey: str) -> tuple[np.ndarray, np.ndarray]:
    c = record["curve"]
    x = np.array(c[xkey], dtype=float)
    y = np.array([np.nan if g is None else max(g, GAP_FLOOR) for g in c["loss_gap"]], dtype=float)
    return x, y


def plot_scenario(records: Sequence[dict[str, Any]], scenario: str, path: str | Path) -> Path:
    """One PNG for ``scenario``: two panels (gap vs agent-steps, gap vs seconds)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [r for r in records if r["scenario"] == scenario]
    contenders = list(dict.fromkeys(r["contender"] for r in recs))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, name in enumerate(contenders):
        runs = [r for r in recs if r["contender"] == name]
        color = colors[k % len(colors)]
        for ax, xkey in zip(axes, ("env_steps", "seconds")):
            series = [_series(r, xkey) for r in runs]
            if runs[0]["family"] == "classical":
                xs = np.array([max(s[0][-1], 1e-6 if xkey == "seconds" else 1) for s in series])
                ys = np.array([s[1][-1] for s in series])
                ax.scatter(xs, ys, color=color, marker="*", s=80, label=name, zorder=3)
                continue
            # common grid: the first run's x (seeds share the schedule); spread over seeds on it
            grid = series[0][0]
            ys = np.vstack([np.interp(grid, s[0], s[1]) if len(s[0]) > 1 else np.full_like(grid, s[1][0])
                            for s in series])
            x = np.where(grid > 0, grid, np.nan)
            with np.errstate(all="ignore"):
                ax.plot(x, np.nanmedian(ys, axis=0), color=color, label=name, lw=1.5)
                if len(series) > 1:
                    ax.fill_between(x, np.nanmin(ys, axis=0), np.nanmax(ys, axis=0), color=color, alpha=0.2, lw=0)
    for ax, label in zip(axes, ("agent-steps (joint steps × N; PPO: training)", "wall-clock seconds")):
        ax.set_xscale("log"), ax.set_yscale("log")
        ax.set_xlabel(label), ax.set_ylabel("loss gap L − L*")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{scenario}: median over seeds, band = min–max over seeds (gap floor {GAP_FLOOR:g})")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(records: Sequence[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """``benchmark_<scenario>.png`` for every scenario in ``records``."""
    out_dir = Path(out_dir)
    scenarios = list(dict.fromkeys(r["scenario"] for r in records))
    return [plot_scenario(records, s, out_dir / f"benchmark_{s.replace('.', '')}.png") for s in scenarios]
