"""One run = one :class:`RunRecord`: final metrics, time-to-accuracy and a stored curve.

The episode loop (:func:`env_episode`) is ``mbi_envs.evaluate``'s loop with a timestamp after
every step; :func:`record_from_episode` turns it into a record. ``setup_seconds`` and
``setup_evaluations`` (an oracle's Hessian, counted) are added to every point of the curve and
to the totals, so a contender's preparation is part of its cost.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from ..stats import finite_or_none
from .scenarios import EPSILONS, BenchScenario

__all__ = ["RunRecord", "time_to_accuracy", "fine_reach", "FINE_EPSILONS", "CURVE_POINTS", "env_episode",
           "record_from_episode", "relative", "best", "curve"]

CURVE_POINTS = 200  # stored curve points per run (log-spaced); time-to-accuracy uses every step
FINE_EPSILONS = tuple(10.0 ** (-k / 20) for k in range(-80, 321))  # 1e4 … 1e-16, 20 per decade


@dataclass
class RunRecord:
    """One contender on one scenario with one seed (the JSON schema is in docs/benchmark.md)."""

    scenario: str
    env_id: str
    contender: str
    family: str
    seed: int
    status: str
    budget: dict[str, Any]
    params: dict[str, Any]
    n_agents: int
    final_loss: float | None
    optimal_loss: float | None
    loss_gap: float | None
    relative_gap: float | None
    distance_to_optimum: float | None
    best_gap: float | None
    env_steps: int
    oracle_evaluations: int
    wall_seconds: float
    time_to_accuracy: list[dict[str, Any]]
    curve: dict[str, list[float | None]]
    reach: dict[str, list[float]] = field(default_factory=dict)
    after_switch: dict[str, Any] | None = None
    notes: str = ""


def time_to_accuracy(steps: Sequence[float], seconds: Sequence[float], gaps: Sequence[float | None],
                     epsilons: Iterable[float] = EPSILONS) -> list[dict[str, Any]]:
    """For each ε, the steps and seconds at the first point with ``gap ≤ ε`` (``None``: never)."""
    g = np.array([np.inf if finite_or_none(v) is None else v for v in gaps], dtype=float)
    out = []
    for eps in epsilons:
        hit = np.flatnonzero(g <= eps)
        if hit.size:
            i = int(hit[0])
            out.append({"epsilon": eps, "env_steps": int(steps[i]), "seconds": float(seconds[i])})
        else:
            out.append({"epsilon": eps, "env_steps": None, "seconds": None})
    return out


def _subsample(n: int, points: int = CURVE_POINTS, switch: int | None = None) -> np.ndarray:
    """Log-spaced indices (and, after a target switch, log-spaced again from the switch)."""
    if n <= points:
        return np.arange(n)
    idx = np.round(np.geomspace(1, n, points)).astype(int) - 1
    parts = [[0], idx, [n - 1]]
    if switch is not None and 0 < switch < n:
        parts += [[switch - 1], switch + np.round(np.geomspace(1, n - switch, points // 2)).astype(int) - 1]
    return np.unique(np.clip(np.concatenate(parts), 0, n - 1))


def curve(steps, seconds, gaps, subsample: bool = True, switch: int | None = None) -> dict[str, list]:
    idx = _subsample(len(steps), switch=switch) if subsample else np.arange(len(steps))
    return {"env_steps": [int(steps[i]) for i in idx], "seconds": [float(seconds[i]) for i in idx],
            "loss_gap": [finite_or_none(gaps[i]) for i in idx]}


def fine_reach(steps, seconds, gaps) -> dict[str, list]:
    """First reach of gap ≤ ε on a 20-per-decade ε grid (only the ε reached): lets the headline
    find when a run first reached any target to within a factor 10^0.05 of the target, without
    storing every step."""
    g = np.array([np.inf if finite_or_none(v) is None else v for v in gaps], dtype=float)
    running = np.minimum.accumulate(g)
    out = {"epsilon": [], "env_steps": [], "seconds": []}
    for eps in FINE_EPSILONS:
        i = int(np.searchsorted(-running, -eps, side="left"))  # running is non-increasing
        if i < len(running) and running[i] <= eps:
            out["epsilon"].append(eps), out["env_steps"].append(int(steps[i])), out["seconds"].append(float(seconds[i]))
    return out


def relative(gap: float | None, optimal: float | None) -> float | None:
    """``gap / |L*|``; ``None`` when ``|L*| < 1e-12`` (a relative gap to a zero optimum is undefined)."""
    if gap is None or optimal is None or abs(optimal) < 1e-12:
        return None
    return gap / abs(optimal)


def best(gaps) -> float | None:
    vals = [v for v in (finite_or_none(g) for g in gaps) if v is not None]
    return min(vals) if vals else None


# ----------------------------------------------------------------------------- contenders


def env_episode(env: Any, policy: Any, seed: int) -> dict[str, Any]:
    """``mbi_envs.evaluate``'s episode loop with a timestamp after every step."""
    obs, _ = env.reset(seed=seed)
    _ = env.optimal_loss  # the judge's reference (may run a global search): not the contender's time
    start = time.perf_counter()
    policy.reset(env, seed)
    gaps = [env.global_loss - env.optimal_loss]
    seconds = [time.perf_counter() - start]
    while env.agents:
        obs, _, _, _, _ = env.step(policy.act(obs))
        gaps.append(env.global_loss - env.optimal_loss)
        seconds.append(time.perf_counter() - start)
    opt = env.optimum
    dist = None if opt is None else float(np.linalg.norm(env.X - opt.x.numpy().reshape(env.X.shape)))
    return {"gaps": gaps, "seconds": seconds, "final_loss": env.global_loss, "optimal_loss": env.optimal_loss,
            "distance": dist, "steps": env.t}


def record_from_episode(scenario: BenchScenario, contender: Any, seed: int, ep: dict[str, Any], *,
                        n: int, params: dict[str, Any], oracle: int, status: str, setup_seconds: float = 0.0,
                        notes: str = "") -> RunRecord:
    """A record from an episode; ``setup_seconds`` (counted in every point's seconds) is the
    contender's preparation, e.g. an oracle step size's Hessian."""
    gaps = ep["gaps"]
    seconds = [s + setup_seconds for s in ep["seconds"]]
    steps = [k * n for k in range(len(gaps))]
    gap = ep["final_loss"] - ep["optimal_loss"]
    after = None
    s = scenario.switch_step
    if s is not None and len(gaps) > s:
        # state index s is the first scored under the new target; agents have not reacted yet
        rel_steps = [(k - s) * n for k in range(s, len(gaps))]
        rel_secs = [seconds[k] - seconds[s] for k in range(s, len(gaps))]
        after = {"switch_step": s, "gap_at_switch": finite_or_none(gaps[s]), "final_gap": finite_or_none(gap),
                 "time_to_accuracy": time_to_accuracy(rel_steps, rel_secs, gaps[s:]),
                 "reach": fine_reach(rel_steps, rel_secs, gaps[s:])}
        tta = time_to_accuracy(steps[:s], seconds[:s], gaps[:s])
        reach = fine_reach(steps[:s], seconds[:s], gaps[:s])
    else:
        tta = time_to_accuracy(steps, seconds, gaps)
        reach = fine_reach(steps, seconds, gaps)
    return RunRecord(
        scenario=scenario.key, env_id=scenario.env_id, contender=contender.name, family=contender.family,
        seed=int(seed), status=status, budget={"iterations": scenario.mbi_iterations}, params=params, n_agents=n,
        final_loss=ep["final_loss"], optimal_loss=ep["optimal_loss"], loss_gap=gap,
        relative_gap=relative(gap, ep["optimal_loss"]), distance_to_optimum=ep["distance"],
        best_gap=best(gaps), env_steps=int(ep["steps"] * n), oracle_evaluations=int(oracle),
        wall_seconds=float(seconds[-1]), time_to_accuracy=tta, curve=curve(steps, seconds, gaps, switch=s),
        reach=reach, after_switch=after, notes=notes)
