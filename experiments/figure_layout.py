"""Legend placement and the figure check: every series labelled, no legend over a data point.

Conventions shared by every plotting module of the project:

- a plotted series (``Line2D`` or scatter ``PathCollection`` in an axes) either has a legend entry
  (its label is shown in a legend of its figure) or is deliberately left out with
  :func:`exclude`, which stores the reason in the artist's ``gid`` (``"nolegend: <reason>"``)
  (a min–max band, the markers of a line drawn separately, a reference line, one row per agent
  named by the tick labels);
- reference lines (``axhline`` / ``axvline`` / a guide) are not data: :func:`reference` marks them
  and the check does not ask the legend to avoid them;
- a legend lies inside its axes and covers no data point, or (when no corner of the axes is free)
  outside every axes, still inside the figure. :func:`place_legend` picks the first free spot.

:func:`figure_problems` returns what breaks these rules (an empty list for a good figure); the
tests (``tests/test_plots.py``) run it on every figure the project draws.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["exclude", "reference", "is_excluded", "is_reference", "data_points", "place_legend",
           "figure_problems", "series_artists", "LEGEND_SPOTS"]

_EXCLUDED = "nolegend:"
_REFERENCE = "reference:"

#: legend locations tried in order by :func:`place_legend` (inside the axes)
LEGEND_SPOTS = ("upper right", "upper left", "lower left", "lower right", "center right", "center left",
                "upper center", "lower center", "center")


def exclude(artist: Any, reason: str) -> Any:
    """Mark ``artist`` as deliberately without a legend entry, for ``reason`` (kept in its gid)."""
    if not reason.strip():
        raise ValueError("exclude: reason must say why the series has no legend entry")
    kept = (artist.get_gid() or "").split(_EXCLUDED)[0].strip(" |")
    artist.set_gid((kept + " | " if kept else "") + f"{_EXCLUDED} {reason.strip()}")
    artist.set_label("_" + reason.strip())
    return artist


def reference(artist: Any, what: str) -> Any:
    """Mark ``artist`` as a reference line (not data); it may keep a legend entry."""
    kept = (artist.get_gid() or "").strip()
    artist.set_gid(f"{_REFERENCE} {what.strip()}" + (" | " + kept if kept else ""))
    return artist


def is_excluded(artist: Any) -> bool:
    """Whether ``artist`` was left out of the legend with a stated reason (:func:`exclude`)."""
    gid = artist.get_gid() or ""
    return _EXCLUDED in gid and bool(gid.split(_EXCLUDED, 1)[1].split("|")[0].strip())


def is_reference(artist: Any) -> bool:
    """Whether ``artist`` is a reference line (:func:`reference`), not data."""
    return _REFERENCE in (artist.get_gid() or "")


def series_artists(ax: Any) -> list[Any]:
    """The plotted series of ``ax``: its visible lines and scatter collections."""
    from matplotlib.collections import PathCollection

    out = [ln for ln in ax.lines if ln.get_visible()]
    out += [c for c in ax.collections if isinstance(c, PathCollection) and c.get_visible()]
    return out


def _renderer(fig: Any) -> Any:
    return fig.canvas.get_renderer()


def _line_points(line: Any, fig: Any, step_px: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Display points of a line (its vertices, and points every ``step_px`` along its segments
    when it is drawn with a line style) and the radius of each in pixels (marker size)."""
    xy = np.asarray(line.get_xydata(), dtype=float)
    if xy.size == 0:
        return np.zeros((0, 2)), np.zeros(0)
    with np.errstate(all="ignore"):
        pts = line.get_transform().transform(xy)
    ok = np.isfinite(pts).all(axis=1)
    radius = 0.5 * line.get_markersize() * fig.dpi / 72.0 if line.get_marker() not in (None, "", "None", " ") else 0.0
    out = [pts[ok]]
    if line.get_linestyle() not in ("None", "", " ") and len(pts) > 1:
        a, b = pts[:-1], pts[1:]
        good = ok[:-1] & ok[1:]
        a, b = a[good], b[good]
        n = np.clip(np.ceil(np.hypot(*(b - a).T) / step_px).astype(int), 1, 2000)
        for k in np.unique(n):
            sel = n == k
            t = (np.arange(1, k) / k)[None, :, None]
            out.append((a[sel][:, None, :] + t * (b[sel] - a[sel])[:, None, :]).reshape(-1, 2))
    p = np.concatenate(out) if out else np.zeros((0, 2))
    return p, np.full(len(p), radius)


def _collection_points(coll: Any, fig: Any) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.asarray(coll.get_offsets(), dtype=float)
    if offsets.size == 0:
        return np.zeros((0, 2)), np.zeros(0)
    with np.errstate(all="ignore"):
        pts = coll.get_offset_transform().transform(offsets)
    sizes = np.asarray(coll.get_sizes(), dtype=float)
    r = 0.5 * np.sqrt(np.resize(sizes if sizes.size else np.array([36.0]), len(pts))) * fig.dpi / 72.0
    ok = np.isfinite(pts).all(axis=1)
    return pts[ok], r[ok]


def data_points(ax: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every visible data point of ``ax`` in display pixels, with its drawn radius: line vertices
    (and points along the drawn segments), scatter offsets; reference lines are left out, and so
    are points outside the axes (clipped, not drawn)."""
    from matplotlib.collections import PathCollection

    fig = ax.figure
    pts, rad = [np.zeros((0, 2))], [np.zeros(0)]
    for art in series_artists(ax):
        if is_reference(art):
            continue
        p, r = _collection_points(art, fig) if isinstance(art, PathCollection) else _line_points(art, fig)
        pts.append(p), rad.append(r)
    p, r = np.concatenate(pts), np.concatenate(rad)
    box = ax.get_window_extent(_renderer(fig))
    inside = (p[:, 0] >= box.x0 - 0.5) & (p[:, 0] <= box.x1 + 0.5) & (p[:, 1] >= box.y0 - 0.5) & (p[:, 1] <= box.y1 + 0.5)
    return p[inside], r[inside]


def _covered(bbox: Any, pts: np.ndarray, rad: np.ndarray, pad: float = 1.0) -> np.ndarray:
    return ((pts[:, 0] + rad >= bbox.x0 - pad) & (pts[:, 0] - rad <= bbox.x1 + pad)
            & (pts[:, 1] + rad >= bbox.y0 - pad) & (pts[:, 1] - rad <= bbox.y1 + pad))


def _axes_group(ax: Any) -> list[Any]:
    """``ax`` and its twins (axes that share its position and draw in the same box)."""
    fig = ax.figure
    pos = ax.get_position().bounds
    return [a for a in fig.axes if np.allclose(a.get_position().bounds, pos)]


def place_legend(ax: Any, handles: Sequence[Any] | None = None, labels: Sequence[str] | None = None,
                 spots: Iterable[str] = LEGEND_SPOTS, **kwargs: Any) -> Any:
    """A legend for ``ax`` (handles and labels of ``ax`` and its twins unless given) at the first of
    ``spots`` where it covers no data point of ``ax`` or of any twin; else outside, to the right of
    the axes (inside the figure). Returns the legend."""
    group = _axes_group(ax)
    if handles is None:
        handles, labels = [], []
        for a in group:
            h, lab = a.get_legend_handles_labels()
            handles += h
            labels += lab
    kwargs.setdefault("fontsize", 8)
    kwargs.setdefault("framealpha", 0.9)
    for a in group:
        if a is not ax and a.get_legend() is not None:
            a.get_legend().remove()
    fig = ax.figure
    renderer = _renderer(fig)
    points = [data_points(a) for a in group]
    pts = np.concatenate([p for p, _ in points])
    rad = np.concatenate([r for _, r in points])
    top = sorted(group, key=lambda a: a.get_zorder())[-1]  # drawn last: the legend lies above every twin's lines
    for loc in spots:
        leg = top.legend(handles, labels, loc=loc, **kwargs)
        box = leg.get_window_extent(renderer)
        if not _covered(box, pts, rad).any():
            return leg
        leg.remove()
    leg = top.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02 if len(group) == 1 else 1.14, 1.0),
                     borderaxespad=0.0, **kwargs)
    return leg


def _legends(fig: Any) -> list[tuple[Any, Any]]:
    """``(legend, axes or None)`` for every legend of ``fig``."""
    out = [(leg, None) for leg in fig.legends]
    out += [(a.get_legend(), a) for a in fig.axes if a.get_legend() is not None]
    return out


def figure_problems(fig: Any) -> list[str]:
    """What breaks the conventions above in ``fig`` (after drawing it): series without a legend
    entry and without a stated reason, a legend outside the figure, a legend overlapping an axes
    without lying inside it, a legend over a data point. Empty for a good figure."""
    fig.canvas.draw()
    renderer = _renderer(fig)
    problems: list[str] = []
    legends = _legends(fig)
    shown = {t.get_text() for leg, _ in legends for t in leg.get_texts()}
    for i, ax in enumerate(fig.axes):
        for art in series_artists(ax):
            if is_excluded(art):
                continue
            label = art.get_label()
            if not label or label.startswith("_") or label not in shown:
                problems.append(f"axes {i}: series {label!r} ({type(art).__name__}) has no legend entry "
                                f"and no stated reason (experiments.figure_layout.exclude)")
    fbox = fig.bbox
    for leg, owner in legends:
        box = leg.get_window_extent(renderer)
        name = f"legend ({', '.join(t.get_text() for t in leg.get_texts())[:60]})"
        if box.x0 < fbox.x0 - 1 or box.y0 < fbox.y0 - 1 or box.x1 > fbox.x1 + 1 or box.y1 > fbox.y1 + 1:
            problems.append(f"{name} is cut off: it reaches outside the figure")
        for i, ax in enumerate(fig.axes):
            abox = ax.get_window_extent(renderer)
            overlap = box.x0 < abox.x1 and box.x1 > abox.x0 and box.y0 < abox.y1 and box.y1 > abox.y0
            if not overlap:
                continue
            inside = box.x0 >= abox.x0 - 1 and box.x1 <= abox.x1 + 1 and box.y0 >= abox.y0 - 1 and box.y1 <= abox.y1 + 1
            if not inside:
                problems.append(f"{name} straddles the edge of axes {i}: it is neither inside nor outside it")
            pts, rad = data_points(ax)
            hit = _covered(box, pts, rad, pad=0.0)
            if hit.any():
                problems.append(f"{name} covers {int(hit.sum())} data point(s) of axes {i} "
                                f"(first at display {pts[hit][0].round(1).tolist()})")
    return problems
