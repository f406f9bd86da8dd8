"""What a scenario module hands the generic :class:`~mbi_envs.env.MechanismEnv`.

A scenario is a mechanism :class:`~mechanism.Problem` plus everything an environment needs that
the problem does not say: a finite action box, a seeded start distribution, a default horizon,
optionally a schedule of problems over time (a target that changes), a per-step effort cost and
a reference optimum, and a bound on the incentives (finite observation bounds). Scenario modules
(``mbi_envs/scenarios/*_v0.py``) are small builders of this one dataclass; all environment logic
lives in the generic env. Its callables are small classes rather than closures, so that envs
pickle; :func:`mbi_envs.registry.pettingzoo_constructors` gives each module PettingZoo's
``parallel_env``, ``env`` and ``raw_env``. This module imports nothing of :mod:`mbi_envs`
(the bottom layer of the package: env, registry and scenarios import it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from mechanism import InvalidParameterError, Optimum, Problem, global_minimum
from mechanism.errors import require_int_at_least

__all__ = ["Scenario", "uniform_start", "fixed_start", "symmetric_box", "global_reference",
           "closed_form_reference", "UniformStart", "FixedStart", "GlobalReference", "SwitchAt",
           "aggregative_incentive_bound", "quadratic_incentive_bound"]

StartFn = Callable[[np.random.Generator], np.ndarray]
EffortFn = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
ReferenceFn = Callable[[Problem], "Optimum | None"]
BoundFn = Callable[[Problem, np.ndarray, np.ndarray], np.ndarray]
PlannerUpdateFn = Callable[[int, Problem, np.ndarray], Problem]
InfoFn = Callable[[Problem, np.ndarray], dict]


def closed_form_reference(problem: Problem) -> Optimum | None:
    """The problem's own closed-form optimum under the TRUE types (``None`` if unknown)."""
    return problem.optimum("true")


@dataclass
class Scenario:
    """A problem with an environment's extras.

    Attributes:
        name: the registered env id (e.g. ``"symmetric_parallel_v0"``).
        paper: which Appendix C experiments it presets (e.g. ``"C.2, C.6-C.9"``).
        problem: the problem in force at reset (step 0).
        action_low, action_high: a finite action box, shape ``(N, d)``; the env's feasible set is
            this box intersected with the problem's bounds.
        start: ``rng -> x0`` (shape ``(N, d)``), the iterative mode's start distribution.
        max_steps: default horizon of the iterative mode.
        problem_at: ``t -> Problem`` in force after step ``t`` (a changing target); ``None``: fixed.
        effort: ``(t, X_prev, X_new) -> (N,)`` effort cost each agent pays for step ``t``
            (iterative mode only); ``None``: no effort cost.
        reference: ``problem -> Optimum | None`` under the TRUE types.
        extra_features, extra_feature_names: private features beyond the problem's own, ``(N, k)``.
        incentive_bound: ``(problem, low, high) -> (N, d)``, a bound ``B`` with ``|G_i| ≤ B_i``
            for every joint action in the box ``[low, high]`` (the env's feasible box) under the
            Planner's belief; ``None``: no finite bound known (the observation space says ±inf).
        planner_update: ``(t, problem, X_new) -> problem``, the Planner's own move after the agents'
            step ``t`` (e.g. a multiplier update), given the problem in force and the new joint
            action ``(N, d)``; iterative mode only; ``None``: the Planner only evaluates.
        extra_infos: ``(problem, X) -> dict`` of extra infos shared by every agent (e.g. a price).
    """

    name: str
    paper: str
    problem: Problem
    action_low: np.ndarray
    action_high: np.ndarray
    start: StartFn
    max_steps: int
    problem_at: Callable[[int], Problem] | None = None
    effort: EffortFn | None = None
    reference: ReferenceFn = closed_form_reference
    extra_features: np.ndarray | None = None
    extra_feature_names: tuple[str, ...] = field(default_factory=tuple)
    incentive_bound: BoundFn | None = None
    planner_update: PlannerUpdateFn | None = None
    extra_infos: InfoFn | None = None

    def __post_init__(self) -> None:
        shape = (self.problem.n_agents, self.problem.action_dim)
        self.action_low = np.broadcast_to(np.asarray(self.action_low, np.float64), shape).copy()
        self.action_high = np.broadcast_to(np.asarray(self.action_high, np.float64), shape).copy()
        if not (np.isfinite(self.action_low).all() and np.isfinite(self.action_high).all()) or \
                (self.action_low >= self.action_high).any():
            raise InvalidParameterError(f"scenario {self.name!r}: action box must be finite with low < high")
        self.max_steps = require_int_at_least("max_steps", self.max_steps, 1)
        if self.extra_features is None:
            self.extra_features = np.zeros((shape[0], 0))

    def features(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """All private features ``(N, k)`` and their names (the problem's, then the scenario's)."""
        own = self.problem.features.numpy()
        return (np.concatenate([own, self.extra_features], axis=1),
                tuple(self.problem.feature_names) + tuple(self.extra_feature_names))

    def problems(self) -> list[Problem]:
        """Every problem the scenario can put in force (the reset problem and a schedule's others)."""
        scheduled = getattr(self.problem_at, "problems", ())
        return [self.problem] + [p for p in scheduled if p is not self.problem]

    def problem_for_step(self, t: int) -> Problem:
        """The problem in force after step ``t`` (``t = 0`` at reset)."""
        return self.problem if self.problem_at is None else self.problem_at(t)


@dataclass(frozen=True)
class UniformStart:
    """Start drawn i.i.d. from ``U[low, high]`` of shape ``shape`` with the env's seeded generator
    (a plain class rather than a closure so that envs pickle)."""

    low: float
    high: float
    shape: tuple[int, int]

    def __call__(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=self.shape)


@dataclass(frozen=True, eq=False)
class FixedStart:
    """A deterministic start ``x`` (already broadcast to ``(N, d)``); returns a copy each call."""

    x: np.ndarray

    def __call__(self, rng: np.random.Generator | None) -> np.ndarray:
        return self.x.copy()


def uniform_start(low: float, high: float, shape: tuple[int, int]) -> StartFn:
    """Start drawn i.i.d. from ``U[low, high]`` with the env's seeded generator."""
    if not (np.isfinite(low) and np.isfinite(high) and low <= high):
        raise InvalidParameterError(f"start range must be finite with low <= high, got low={low!r}, high={high!r}")
    return UniformStart(float(low), float(high), tuple(shape))


def fixed_start(x0: Any, shape: tuple[int, int], name: str = "x0") -> StartFn:
    """A deterministic start ``x0`` (scalar or array broadcast to ``shape``)."""
    try:
        x = np.broadcast_to(np.asarray(x0, dtype=np.float64).reshape(-1, 1) if np.ndim(x0) == 1
                            else np.asarray(x0, dtype=np.float64), shape).copy()
    except (ValueError, TypeError):
        raise InvalidParameterError(f"{name} must broadcast to shape {shape}, got {x0!r}") from None
    if not np.isfinite(x).all():
        raise InvalidParameterError(f"{name} must be finite, got {x0!r}")
    return FixedStart(x)


def symmetric_box(*scales: float, minimum: float = 10.0) -> tuple[float, float]:
    """``(-s, s)`` with ``s = max(minimum, 2·|scale| for each scale)``: an action box for unbounded problems."""
    s = max([minimum] + [2.0 * abs(float(v)) for v in scales])
    return -s, s


_GLOBAL_CACHE: dict[tuple, Optimum] = {}


@dataclass(frozen=True)
class GlobalReference:
    """A reference from :func:`mechanism.global_minimum` (multi-start L-BFGS-B, seeded Sobol
    starts) under the TRUE types, for problems without a closed form. With a ``key`` (the
    scenario's parameters) the result is cached for the process."""

    search_box: tuple[float, float]
    n_starts: int = 64
    key: tuple | None = None

    def __call__(self, problem: Problem) -> Optimum:
        cache_key = None if self.key is None else (self.key, self.search_box, self.n_starts)
        if cache_key in _GLOBAL_CACHE:
            return _GLOBAL_CACHE[cache_key]
        res = global_minimum(problem, search_box=self.search_box, n_starts=self.n_starts, types="true")
        opt = Optimum(torch.as_tensor(res.x), float(res.loss))
        if cache_key is not None:
            _GLOBAL_CACHE[cache_key] = opt
        return opt


def global_reference(search_box: tuple[float, float], n_starts: int = 64, key: tuple | None = None
                     ) -> ReferenceFn:
    """A :class:`GlobalReference` (see there): the global minimum under the TRUE types."""
    return GlobalReference(tuple(float(v) for v in search_box), int(n_starts), key)


@dataclass(frozen=True, eq=False)
class SwitchAt:
    """A problem schedule ``t -> before if t < step else after`` (a changing target)."""

    before: Problem
    after: Problem
    step: int

    def __call__(self, t: int) -> Problem:
        return self.after if t >= self.step else self.before

    @property
    def problems(self) -> tuple[Problem, Problem]:
        """Both problems of the schedule."""
        return self.before, self.after


def _box_radius(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (low + high) / 2.0, (high - low) / 2.0


def aggregative_incentive_bound(problem: Problem, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Exact ``max |G_i|`` over the box for an :func:`~mechanism.aggregative_problem`.

    ``G_i = −2(Σ_j x_j + c − Y) − 2λ_i x_i`` (belief λ) is affine in ``x``, so with box centre
    ``m`` and half-widths ``r``: ``max |G_i| = |2(Σm + c − Y) + 2λ_i m_i| + 2Σ_j r_j + 2λ_i r_i``.
    """
    data = problem.data("belief")
    lam = data["lam"].numpy().reshape(-1, 1)
    m, r = _box_radius(low, high)
    residual = m.sum() + float(data["offset"]) - float(data["Y"])
    return np.abs(2.0 * residual + 2.0 * lam * m) + 2.0 * r.sum() + 2.0 * lam * r


def quadratic_incentive_bound(problem: Problem, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Exact ``max |G_i|`` over the box for a problem whose loss is quadratic (constant Hessian
    ``H``; dense, so for small N): ``G = −(∇L(m) + H(x − m))`` gives
    ``max |G_i| = |∇L(m)_i| + Σ_j |H_ij| r_j`` with box centre ``m`` and half-widths ``r``."""
    from mechanism import incentives

    m, r = _box_radius(low, high)
    shape = (problem.n_agents, problem.action_dim)
    grad = -incentives(problem, torch.from_numpy(m).reshape(1, *shape), types="belief").G[0].numpy()
    H = problem.hessian(torch.from_numpy(m).reshape(shape), types="belief").numpy().reshape(m.size, m.size)
    return (np.abs(grad.reshape(-1)) + np.abs(H) @ r.reshape(-1)).reshape(shape)
