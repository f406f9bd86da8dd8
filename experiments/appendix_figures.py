"""Appendix C figures: draw a plot spec (the dicts the experiments return under ``_plots``).

Spec kinds: ``line`` (``x`` and named ``series``; optional ``series2`` on a right-hand axis,
``hlines`` reference levels with ``hline_label``, ``vlines`` as ``(x, label)``, ``logx``/``logy``/
``logy2``), ``xy`` (``series`` of ``{"x", "y", "label", "alpha"}``; ``points`` as ``(x, y, label)``)
and ``bar`` (``labels``, ``values``, optional ``colors`` and ``legend`` as ``[(colour, text)]``).
Every series gets a legend entry or a stated reason (:mod:`experiments.figure_layout`), and the
legend goes where it covers no data point (:func:`experiments.figure_layout.place_legend`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .figure_layout import exclude, place_legend, reference

__all__ = ["build_plot", "draw_plot"]

_STYLES = ("-", "--", "-.", ":")


def _arr(v: Any) -> np.ndarray:
    """Values as floats (``None``, the JSON form of a non-finite number, becomes NaN)."""
    return np.array([np.nan if x is None else x for x in np.asarray(v, dtype=object).ravel()],
                    dtype=float).reshape(np.shape(v))


def _line(ax, spec: dict[str, Any]) -> None:
    x = _arr(spec["x"])
    for k, (label, ys) in enumerate(spec["series"].items()):
        ys = _arr(ys)
        ax.plot(x, ys, label=label, ls=_STYLES[k % len(_STYLES)], marker="o" if len(ys) < 30 else None,
                color=spec.get("color1") if len(spec["series"]) == 1 else None)
    for j, h in enumerate(spec.get("hlines", [])):
        line = ax.axhline(h, ls="--", lw=0.8, color="gray")
        if j == 0 and spec.get("hline_label"):
            reference(line, spec["hline_label"]).set_label(spec["hline_label"])
        else:
            reference(line, "level")
            exclude(line, f"one more level of the same reference ({spec.get('hline_label') or 'dashed grey'})")
    for x0, label in spec.get("vlines", []):
        reference(ax.axvline(x0, ls=":", lw=1.2, color="k", label=label), label)
    if "series2" in spec:
        ax2 = ax.twinx()
        for label, ys in spec["series2"].items():
            ax2.plot(x, _arr(ys), "-s", color="C3", label=label)
        ax2.set_ylabel(spec.get("ylabel2", ""), color="C3")
        ax2.tick_params(axis="y", colors="C3")
        if spec.get("logy2"):
            ax2.set_yscale("log")
        ax.set_ylabel(spec.get("ylabel", ""), color="C0")
        ax.tick_params(axis="y", colors="C0")


def _xy(ax, spec: dict[str, Any]) -> None:
    labelled = [s.get("label") for s in spec["series"] if s.get("label")]
    for s in spec["series"]:
        line, = ax.plot(_arr(s["x"]), _arr(s["y"]), alpha=s.get("alpha", 1.0), lw=1.2, label=s.get("label"))
        if not s.get("label"):
            exclude(line, f"one more of a family drawn alike ({labelled[0] if labelled else 'unlabelled'})")
    for x, y, label in spec.get("points", []):
        ax.plot([x], [y], "k*", ms=12, label=label, zorder=5)


def _bar(ax, spec: dict[str, Any]) -> None:
    values = spec["values"]
    colors = spec.get("colors") or ["C3", "C2", "C3", "C2"][:len(values)]
    bars = ax.bar(range(len(values)), values, color=colors)
    ax.set_xticks(range(len(spec["labels"])), spec["labels"], fontsize=8)
    ax.bar_label(bars, fmt="%.4f", fontsize=8)
    if spec.get("legend"):
        from matplotlib.patches import Patch
        handles = [Patch(color=c, label=t) for c, t in spec["legend"]]
        ax.set_ylim(0, 1.25 * max(values))
        place_legend(ax, handles, [h.get_label() for h in handles])


def build_plot(spec: dict[str, Any]):
    """The figure of one plot spec (Agg backend, legend placed; the caller saves or closes it)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    {"xy": _xy, "bar": _bar}.get(spec["kind"], _line)(ax, spec)
    if spec.get("logx"):
        ax.set_xscale("log")
    if spec.get("logy"):
        ax.set_yscale("log")
    ax.set_xlabel(spec.get("xlabel", ""))
    if "series2" not in spec:
        ax.set_ylabel(spec.get("ylabel", ""))
    ax.set_title(spec.get("title", ""))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if spec["kind"] != "bar" and any(a.get_legend_handles_labels()[0] for a in fig.axes):
        place_legend(ax)
        fig.tight_layout()
    return fig


def draw_plot(spec: dict[str, Any], path: Path) -> None:
    """Draw one plot spec to ``path`` (PNG, 110 dpi)."""
    import matplotlib.pyplot as plt

    fig = build_plot(spec)
    fig.savefig(path, dpi=110)
    plt.close(fig)
