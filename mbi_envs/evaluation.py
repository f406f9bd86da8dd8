"""One evaluation loop for every contender: :func:`evaluate`."""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch

from mechanism import InvalidParameterError
from mechanism.errors import require_int_at_least

from .checks import check_seeds
from .policies import Policy, check_policy_fits

__all__ = ["EpisodeRecord", "EvaluationResult", "evaluate", "json_safe"]

METRICS = ("final_loss", "optimal_loss", "loss_gap", "relative_gap", "distance_to_optimum",
           "env_steps", "wall_seconds")


@dataclass
class EpisodeRecord:
    """One episode: the final metrics and the per-step curves (index 0 = after reset).

    ``final_loss`` is the global loss under the TRUE types; ``loss_gap = final − optimal``;
    ``relative_gap = loss_gap / max(|optimal|, 1e-300)``; ``distance_to_optimum = ‖X − x*‖``;
    ``env_steps`` counts agent-steps (steps × N). Unknown values are ``None``.
    """

    seed: int | None
    final_loss: float
    optimal_loss: float | None
    loss_gap: float | None
    relative_gap: float | None
    distance_to_optimum: float | None
    env_steps: int
    steps: int
    wall_seconds: float
    loss_curve: list[float] = field(default_factory=list)
    gap_curve: list[float] | None = None


def json_safe(value: Any) -> Any:
    """A JSON-safe copy: containers recursed (tuples become lists, keys strings), numpy/torch
    values become Python numbers or lists, non-finite floats become ``None`` (never NaN/inf),
    paths and other objects become strings."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


@dataclass
class EvaluationResult:
    """Per-seed :class:`EpisodeRecord` s and aggregates (mean/std/min/max/median of each metric
    over the seeds where it is known)."""

    env_id: str
    policy: str
    records: list[EpisodeRecord]

    @property
    def aggregates(self) -> dict[str, dict[str, float | None]]:
        """``{metric: {"mean", "std", "min", "max", "median", "n"}}`` over the seeds."""
        out = {}
        for key in METRICS:
            vals = np.array([getattr(r, key) for r in self.records if getattr(r, key) is not None], dtype=float)
            vals = vals[np.isfinite(vals)]
            if vals.size == 0:
                out[key] = {"mean": None, "std": None, "min": None, "max": None, "median": None, "n": 0}
            else:
                out[key] = {"mean": float(vals.mean()), "std": float(vals.std()), "min": float(vals.min()),
                            "max": float(vals.max()), "median": float(np.median(vals)), "n": int(vals.size)}
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``None`` for unknown or non-finite values, never NaN."""
        return json_safe({"env_id": self.env_id, "policy": self.policy,
                           "records": [asdict(r) for r in self.records], "aggregates": self.aggregates})


def _distance(env: Any) -> float | None:
    opt = env.optimum
    return None if opt is None else float(np.linalg.norm(env.X - opt.x.numpy()))


def _episode(env: Any, policy: Policy, seed: int | None) -> EpisodeRecord:
    start = time.perf_counter()
    obs, _ = env.reset(seed=seed)
    policy.reset(env, seed)
    losses, gaps, steps = [], [], 0
    if env.global_loss is not None:
        losses.append(env.global_loss)
        gaps.append(None if env.optimal_loss is None else env.global_loss - env.optimal_loss)
    while env.agents:
        obs, _, _, _, _ = env.step(policy.act(obs))
        steps += 1
        losses.append(env.global_loss)
        gaps.append(None if env.optimal_loss is None else env.global_loss - env.optimal_loss)
    wall = time.perf_counter() - start
    final, opt = env.global_loss, env.optimal_loss
    gap = None if opt is None else final - opt
    return EpisodeRecord(seed, final, opt, gap, None if gap is None else gap / max(abs(opt), 1e-300),
                         _distance(env), steps * env.n_agents, steps, wall, losses,
                         None if any(g is None for g in gaps) else gaps)


def evaluate(env_or_factory: Any, policy: Policy, seeds: Iterable[int], max_steps: int | None = None
             ) -> EvaluationResult:
    """Run one episode per seed and return the same metrics for any contender.

    Args:
        env_or_factory: a :class:`~mbi_envs.MechanismEnv` (reused across seeds) or a zero-argument
            callable returning one (a fresh env per seed).
        policy: anything with ``reset(env, seed)`` and ``act(observations)``.
        seeds: one episode per seed (``env.reset(seed=s)``); each ``None`` or an integer ``>= 0``,
            all checked before the first episode.
        max_steps: if given, overrides the env's horizon (sets ``env.max_steps``; a one-shot env
            accepts only 1 and raises ``ValueError`` for any other value).

    Before each env is reset, the policy is checked against it
    (:func:`~mbi_envs.policies.check_policy_fits`): a policy with ``check_env(env)`` runs it (the
    SB3 adapter compares the model's observation and action spaces and, when the model records
    them, the env id and agent count it was trained on); one that exposes
    ``observation_space``, ``action_space``, ``n_agents`` or ``env_id`` is compared on those. A
    mismatch raises ``ValueError`` naming both sides, before the env changes.
    """
    seeds = check_seeds(seeds)
    if not seeds:
        raise InvalidParameterError("seeds must hold at least one seed, got []")
    if max_steps is not None:
        max_steps = require_int_at_least("max_steps", max_steps, 1)
    if not (hasattr(policy, "reset") and hasattr(policy, "act")):
        raise InvalidParameterError(f"policy must have reset(env, seed) and act(obs); got {type(policy).__name__}")
    factory: Callable[[], Any] = env_or_factory if not hasattr(env_or_factory, "step") else (lambda: env_or_factory)
    records, env_id = [], None
    for seed in seeds:
        env = factory()
        if not (hasattr(env, "step") and hasattr(env, "possible_agents")):
            raise InvalidParameterError(f"env_or_factory must be an env or a zero-argument callable returning "
                                        f"one; the factory returned {env!r}")
        env_id = env.metadata.get("name")
        check_policy_fits(policy, env)
        if max_steps is not None:
            env.max_steps = max_steps
        records.append(_episode(env, policy, seed))
    return EvaluationResult(str(env_id), type(policy).__name__, records)
