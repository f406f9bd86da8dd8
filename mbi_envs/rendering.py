"""Rendering of a :class:`~mbi_envs.env.MechanismEnv`: a text table and a matplotlib image.

The env imports this module (lazily, in ``render``); this module does not import the env: it
reads the env's public attributes only (``env`` is annotated ``Any``), so the two cannot form
an import circle.
"""
from __future__ import annotations

from typing import Any

import numpy as np


__all__ = ["render_ansi", "render_rgb"]

MAX_ROWS = 20


def _header(env: Any) -> str:
    loss, opt = env.global_loss, env.optimal_loss
    text = f"{env.scenario.name}  mode={env.mode}  t={env.t}/{env.max_steps}"
    if loss is not None:
        text += f"  L={loss:.12g}"
    if opt is not None:
        text += f"  L*={opt:.12g}" + ("" if loss is None else f"  gap={loss - opt:.3e}")
    return text


def render_ansi(env: Any) -> str:
    """A text table: one row per agent (the first 20) with its action, incentive and features."""
    lines = [_header(env)]
    X = env.X
    if X is None:
        return lines[0] + "\n(no actions submitted yet)"
    G = env._state.G
    feats, names = env.scenario.features()
    lines.append(f"{'agent':>10} {'x':>16} {'G':>12} " + " ".join(f"{n:>10}" for n in names))
    for i in range(min(env.n_agents, MAX_ROWS)):
        row = f"{env.possible_agents[i]:>10} {np.array2string(X[i], precision=8):>16} "
        row += f"{np.array2string(G[i], precision=3):>12} " + " ".join(f"{v:>10.4g}" for v in feats[i])
        lines.append(row)
    if env.n_agents > MAX_ROWS:
        lines.append(f"... ({env.n_agents - MAX_ROWS} more agents)")
    return "\n".join(lines)


def render_rgb(env: Any) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 image: agents' actions (with the optimum) and the loss so far."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(8, 3), dpi=80)
    canvas = FigureCanvasAgg(fig)
    ax_x, ax_l = fig.subplots(1, 2)
    X = env.X
    if X is not None:
        shown = X[:MAX_ROWS * 5, 0]
        ax_x.bar(np.arange(shown.size), shown, color="tab:blue", label="x_i")
        opt = env.optimum
        if opt is not None:
            ax_x.plot(np.arange(shown.size), opt.x.numpy()[:shown.size, 0], "r_", markersize=12, label="x*")
        ax_x.legend(loc="best", fontsize=7)
    ax_x.set_title("actions", fontsize=9)
    history = np.asarray(getattr(env, "_loss_history", []), dtype=np.float64)
    if history.size:
        ref = env.optimal_loss
        values = history - ref if ref is not None else history
        ax_l.plot(np.arange(history.size), np.maximum(np.abs(values), 1e-300))
        ax_l.set_yscale("log")
        ax_l.set_title("loss gap |L - L*|" if ref is not None else "loss |L|", fontsize=9)
    ax_l.set_xlabel("step", fontsize=8)
    fig.suptitle(_header(env), fontsize=8)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
