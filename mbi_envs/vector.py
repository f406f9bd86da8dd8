"""Batched environments: ``B`` copies × ``N`` agents as tensors, on the CPU or a GPU.

>>> import mbi_envs
>>> venv = mbi_envs.make_vec("symmetric_parallel_v0", num_envs=8, n_agents=5)
>>> obs, info = venv.reset(seed=0)              # obs: (8, 5, obs_dim)
>>> obs, rew, term, trunc, info = venv.step(torch.zeros(8, 5, 1))   # rew: (8, 5)

:class:`VectorMechanismEnv` runs the same dynamics as :class:`~mbi_envs.env.MechanismEnv`: the
same scenario objects, the same evaluation and reward formulas (:mod:`mbi_envs.dynamics`), the
same observation layout, action box and references (taken from a template ``MechanismEnv``).
For identical actions and seeds every quantity equals the dict env's to 1e-12 in float64
(``tests/test_vector.py`` checks every registered id, both modes and all reward modes).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from gymnasium import spaces

from mechanism import InvalidParameterError, NonFiniteError, Problem, ShapeMismatchError
from mechanism.core.problem import resolve_device, resolve_dtype

from . import dynamics
from .checks import check_seed, check_seeds, require_bool, require_int
from .env import MechanismEnv
from .registry import COMMON_KWARGS, build_scenario, scenario_kwargs
from .scenario import Scenario

__all__ = ["VectorMechanismEnv", "make_vec"]


class VectorMechanismEnv:
    """``num_envs`` copies of a scenario's :class:`~mbi_envs.env.MechanismEnv`, stepped as tensors.

    **API** (``B = num_envs``, ``N`` agents, action dim ``d``, tensors on ``device`` in ``dtype``):

    * ``reset(seed=None) -> (obs (B, N, obs_dim), info)``; ``seed`` an int ``>= 0`` (copy ``b`` is
      seeded with ``seed + b``, like the dict env's ``reset(seed=seed + b)``) or a sequence of ``B``
      ints ``>= 0``; ``None`` continues each copy's generator. Anything else (a negative or float
      seed, a wrong count) raises ``ValueError`` naming ``seed`` before any state changes.
    * ``step(actions (B, N, d)) -> (obs, rewards (B, N), terminated (B,), truncated (B,), info)``.
      Actions are projected (clipped) onto the feasible box; a wrong shape or NaN/inf raises
      ``ValueError`` before any state changes.
    * ``info``: ``"incentive"`` ``(B, N, d)``, ``"global_loss"`` ``(B,)``, ``"step"`` (int), where a
      reference is known ``"optimal_loss"`` and ``"loss_gap"`` ``(B,)``, with an effort cost
      ``"effort_cost"`` ``(B, N)`` (cumulative), ``"submitted"`` (bool: ``False`` only at a
      one-shot reset, where the loss-derived entries are 0 placeholders).
    * **Auto-reset** (``autoreset=True``, the default): every copy starts and ends its episodes
      together (a fixed horizon: ``max_steps`` iterative, 1 one-shot), so when they end all copies
      are reset in the same call (their generators continue, as the dict env's ``reset()``
      without a seed): the returned ``obs`` is the new episodes' first observation,
      ``info["final_observation"]`` the last one of the finished episodes, and the rest of
      ``info`` describes the finished step. ``autoreset=False``: a finished env must be reset.

    Observations, rewards and infos are those of ``MechanismEnv`` (see its docstring), copy by
    copy; the scenario's extra infos (``Scenario.extra_infos``) are stacked over copies,
    ``info[key]`` of shape ``(B, ...)``. Effort costs (two 2-agent scenarios) are computed copy by
    copy with the scenario's numpy function; everything else is one batched tensor call per step.

    **Planner moves** (``Scenario.planner_update``, e.g. economic dispatch's multiplier): the
    update is applied copy by copy, as the dict env applies it, so copies can hold different
    problems; copies that share a problem object are still evaluated in one batched call
    (``problems`` lists each copy's; ``problem`` is copy 0's).

    Attributes: ``num_envs``, ``n_agents``, ``action_dim``, ``obs_dim``, ``mode``, ``reward_mode``,
    ``max_steps``, ``device``, ``dtype``, ``scenario``, ``observation_layout``,
    ``agent_observation_space``/``agent_action_space`` (agent 0's spaces),
    ``action_low``/``action_high`` ``(N, d)`` tensors, ``t``, ``X``, ``global_loss``.
    """

    def __init__(self, scenario: Scenario, num_envs: int, *, mode: str = "iterative",
                 reward_mode: str = "team", max_steps: int | None = None, private_share: float = 0.0,
                 device: Any = "cpu", dtype: Any = torch.float64, autoreset: bool = True,
                 validate_actions: bool = True) -> None:
        self.num_envs = require_int("num_envs", num_envs, 1)
        self.device, self.dtype = resolve_device(device), resolve_dtype(dtype)
        autoreset, validate_actions = require_bool("autoreset", autoreset), require_bool("validate_actions", validate_actions)
        # The template dict env validates the common arguments and supplies the spaces, layout,
        # feasible box, default actions, features and references: nothing of it is re-derived here.
        self.template = MechanismEnv(scenario, mode=mode, reward_mode=reward_mode, max_steps=max_steps,
                                     private_share=private_share)
        t = self.template
        self.scenario, self.mode, self.reward_mode = scenario, t.mode, t.reward_mode
        self.max_steps, self.private_share = t.max_steps, t.private_share
        self.n_agents, self.action_dim = t.n_agents, t.action_dim
        self.autoreset, self.validate_actions = autoreset, validate_actions
        self.observation_layout = list(t.observation_layout)
        self.obs_dim = len(self.observation_layout)
        self.agent_observation_space: spaces.Box = t.observation_space("agent_0")
        self.agent_action_space: spaces.Box = t.action_space("agent_0")
        self.action_low, self.action_high = self._tensor(t.action_low), self._tensor(t.action_high)
        self._default = self._tensor(t._default)
        self._agent_pos = self._tensor(t._agent_pos).reshape(1, -1, 1)
        self._features = self._tensor(t._features).unsqueeze(0)
        self._problems: dict[int, tuple[Problem, Problem, bool]] = {}
        self._rngs = [np.random.default_rng() for _ in range(self.num_envs)]
        self._state: dynamics.JointEvaluation | None = None
        self._t, self._running = 0, False
        self.problem: Problem = scenario.problem
        self.problems: list[Problem] = [scenario.problem] * self.num_envs
        self.render_mode = None  # rendering is the dict env's (MechanismEnv.render)

    # ------------------------------------------------------------------ helpers
    def _tensor(self, value: Any) -> torch.Tensor:
        return torch.as_tensor(np.asarray(value, dtype=np.float64)).to(self.device, self.dtype)

    def _on_device(self, problem: Problem) -> tuple[Problem, bool]:
        """``problem`` on this env's device/dtype, and whether its belief equals its true types
        (both cached per problem object, as the dict env caches references)."""
        key = id(problem)
        if key not in self._problems:
            if len(self._problems) >= 64:  # a schedule that builds a new problem per step: stay bounded
                self._problems.clear()
            moved = problem.to(self.device, self.dtype)
            self._problems[key] = (problem, moved, dynamics.types_coincide(problem))
        return self._problems[key][1], self._problems[key][2]

    def _optimal_loss(self, problem: Problem) -> float | None:
        self.template.problem = problem  # the template caches references per problem object
        return self.template.optimal_loss

    def seed(self, seed: int | Sequence[int] | None) -> None:
        """Reseed the copies' start generators now: an int (copy ``b`` gets ``seed + b``) or ``B`` ints."""
        self._seed(seed)

    def _seed(self, seed: int | Sequence[int] | None) -> None:
        """Check ``seed`` (``None``, an int ``>= 0`` or ``B`` ints ``>= 0``) and only then reseed."""
        if seed is None:
            return
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
            seeds = [check_seed(seed) + b for b in range(self.num_envs)]
        else:
            if isinstance(seed, (bool, np.bool_, float, str, bytes)) or not hasattr(seed, "__len__"):
                raise InvalidParameterError(f"seed must be None, an integer >= 0 or a sequence of "
                                            f"{self.num_envs} integers >= 0, got {seed!r}")
            seeds = check_seeds(list(seed), "seed", allow_none=False)
            if len(seeds) != self.num_envs:
                raise InvalidParameterError(f"seed must be an int or {self.num_envs} ints, got {len(seeds)} seeds: {seed!r}")
        self._rngs = [np.random.default_rng(s) for s in seeds]

    # ------------------------------------------------------------------ public state
    @property
    def t(self) -> int:
        """Steps taken in the current episodes (all copies are in step with each other)."""
        return self._t

    @property
    def X(self) -> torch.Tensor | None:
        """Current joint actions ``(B, N, d)`` (``None`` before a one-shot submission)."""
        return None if self._state is None else self._state.X.clone()

    @property
    def global_loss(self) -> torch.Tensor | None:
        """Global loss of every copy's joint action under the TRUE types, ``(B,)``."""
        return None if self._state is None else self._state.loss.clone()

    # ------------------------------------------------------------------ dynamics
    def reset(self, seed: int | Sequence[int] | None = None):
        """Start new episodes in every copy; returns ``(obs (B, N, obs_dim), info)``."""
        self._seed(seed)
        self._t, self._running = 0, True
        self.problem = self.scenario.problem_for_step(0)
        self.problems = [self.problem] * self.num_envs
        self._effort = torch.zeros(self.num_envs, self.n_agents, device=self.device, dtype=self.dtype)
        if self.mode == "one_shot":
            self._state = None
            return self._observations(), self._infos()
        starts = np.stack([self.scenario.start(rng) for rng in self._rngs])
        X = torch.minimum(torch.maximum(self._tensor(starts), self.action_low), self.action_high)
        self._state = self._evaluate(self.problem, X)
        return self._observations(), self._infos()

    def step(self, actions: Any):
        """Apply every copy's joint action ``(B, N, d)``; returns
        ``(obs, rewards (B, N), terminated (B,), truncated (B,), info)``."""
        if not self._running:
            raise InvalidParameterError("step() called on finished (or never reset) episodes; call reset() first")
        X_new = self._parse_actions(actions)
        t = self._t + 1
        if self.scenario.planner_update is not None and self.mode == "iterative":  # the dict env's rule, per copy
            X_np = X_new.cpu().double().numpy()
            problems = [self.scenario.planner_update(t, p, X_np[b]) for b, p in enumerate(self.problems)]
            new = self._evaluate_copies(problems, X_new)
        else:
            problems = [self.scenario.problem_for_step(t)] * self.num_envs
            new = self._evaluate(problems[0], X_new)
        effort = self._step_effort(t, X_new)
        value = dynamics.step_rewards(self.reward_mode, self._state, new, effort)
        rewards = value.unsqueeze(-1).expand(-1, self.n_agents) if self.reward_mode == "team" else value
        self._t, self.problem, self.problems, self._state = t, problems[0], problems, new
        self._effort = self._effort + effort
        done = self.mode == "one_shot" or t >= self.max_steps
        obs, info = self._observations(), self._infos()
        terminated = torch.full((self.num_envs,), self.mode == "one_shot", device=self.device)
        truncated = torch.full((self.num_envs,), self.mode == "iterative" and done, device=self.device)
        if done:
            self._running = False
            if self.autoreset:
                info["final_observation"] = obs
                obs, _ = self.reset()
        return obs, rewards, terminated, truncated, info

    def _parse_actions(self, actions: Any) -> torch.Tensor:
        """Validate ``(B, N, d)`` actions (``(B, N)`` when ``d = 1``; no state change on error) and
        return them projected onto the feasible box."""
        B, N, d = self.num_envs, self.n_agents, self.action_dim
        try:
            X = torch.as_tensor(actions).to(self.device, self.dtype)
        except (TypeError, ValueError, RuntimeError):
            raise ShapeMismatchError(f"actions must be an array of shape ({B}, {N}, {d}), got "
                                     f"{type(actions).__name__}") from None
        if X.shape == (B, N) and d == 1:
            X = X.unsqueeze(-1)
        if X.shape != (B, N, d):
            raise ShapeMismatchError(f"actions must have shape ({B}, {N}, {d}), got {tuple(X.shape)}")
        if self.validate_actions and not bool(torch.isfinite(X).all()):
            bad = torch.nonzero(~torch.isfinite(X))[0].tolist()
            raise NonFiniteError(f"actions must be finite; actions[{bad[0]}, {bad[1]}] = "
                                 f"{X[bad[0], bad[1]].tolist()}")
        return torch.minimum(torch.maximum(X, self.action_low), self.action_high)

    def _evaluate(self, problem: Problem, X: torch.Tensor) -> dynamics.JointEvaluation:
        moved, same_types = self._on_device(problem)
        return dynamics.evaluate_joint_actions(moved, X, reward_mode=self.reward_mode,
                                               private_share=self.private_share, default=self._default,
                                               same_types=same_types)

    def _evaluate_copies(self, problems: list[Problem], X: torch.Tensor) -> dynamics.JointEvaluation:
        """Evaluate copy ``b`` under ``problems[b]``: one batched call per distinct problem object."""
        groups: dict[int, list[int]] = {}
        for b, p in enumerate(problems):
            groups.setdefault(id(p), []).append(b)
        if len(groups) == 1:
            return self._evaluate(problems[0], X)
        parts = [(idx, self._evaluate(problems[idx[0]], X[idx])) for idx in groups.values()]
        fields = {}
        for name in ("G", "loss", "private", "marginal"):
            if getattr(parts[0][1], name) is None:
                fields[name] = None
                continue
            out = torch.empty((self.num_envs,) + getattr(parts[0][1], name).shape[1:], device=self.device, dtype=self.dtype)
            for idx, ev in parts:
                out[idx] = getattr(ev, name)
            fields[name] = out
        return dynamics.JointEvaluation(X, **fields)

    def _step_effort(self, t: int, X_new: torch.Tensor) -> torch.Tensor:
        """Effort paid in step ``t``, ``(B, N)``: the scenario's numpy function, copy by copy."""
        if self.scenario.effort is None or self.mode == "one_shot":
            return torch.zeros(self.num_envs, self.n_agents, device=self.device, dtype=self.dtype)
        prev, new = self._state.X.cpu().double().numpy(), X_new.cpu().double().numpy()
        rows = [np.asarray(self.scenario.effort(t, prev[b], new[b]), dtype=np.float64).reshape(self.n_agents)
                for b in range(self.num_envs)]
        return self._tensor(np.stack(rows))

    # ------------------------------------------------------------------ observations and infos
    def _observations(self) -> torch.Tensor:
        B, N = self.num_envs, self.n_agents
        pos = self._agent_pos.expand(B, N, 1)
        feats = self._features.expand(B, -1, -1)
        if self.mode == "one_shot":
            return torch.cat([feats, pos], dim=-1)
        s = self._state
        progress = torch.full((B, N, 1), self._t / self.max_steps, device=self.device, dtype=self.dtype)
        return torch.cat([s.X, s.G, feats, pos, progress], dim=-1)

    def _reference_info(self) -> dict[str, Any]:
        if self.problems[0] is self.problems[-1] and self.scenario.planner_update is None:  # one problem for all
            opt = self._optimal_loss(self.problem)
            opts = None if opt is None else torch.full((self.num_envs,), opt, device=self.device, dtype=self.dtype)
        else:
            cache: dict[int, float | None] = {}
            values = [cache[id(p)] if id(p) in cache else cache.setdefault(id(p), self._optimal_loss(p))
                      for p in self.problems]
            opts = None if None in values else torch.tensor(values, device=self.device, dtype=self.dtype)
        if opts is None:
            return {}
        info: dict[str, Any] = {"optimal_loss": opts}
        if self._state is not None:
            info["loss_gap"] = self._state.loss - info["optimal_loss"]
        return info

    def _infos(self) -> dict[str, Any]:
        """The step infos; before the one-shot submission the same keys, ``submitted`` ``False``
        and 0 where there is no joint action yet (as :class:`~mbi_envs.MechanismEnv`)."""
        s = self._state
        if s is None:
            B, N, d = self.num_envs, self.n_agents, self.action_dim
            zero = dict(device=self.device, dtype=self.dtype)
            info = {"incentive": torch.zeros((B, N, d), **zero), "global_loss": torch.zeros((B,), **zero),
                    "step": self._t, "submitted": False, **self._reference_info()}
            if "optimal_loss" in info:
                info["loss_gap"] = torch.zeros((B,), **zero)
        else:
            info = {"incentive": s.G, "global_loss": s.loss, "step": self._t, "submitted": True,
                    **self._reference_info()}
        if self.scenario.effort is not None:
            info["effort_cost"] = self._effort
        if self.scenario.extra_infos is not None:
            info.update(self._extra_infos())
        return info

    def _extra_infos(self) -> dict[str, torch.Tensor]:
        """The scenario's extra infos of every copy stacked, ``(B, ...)``; before the one-shot
        submission the same keys with 0 values (as the dict env)."""
        default = self.template._default
        X = None if self._state is None else self._state.X.cpu().double().numpy()
        rows = [self.scenario.extra_infos(p, default if X is None else X[b]) for b, p in enumerate(self.problems)]
        return {k: self._tensor(np.stack([np.asarray(r[k], dtype=np.float64) for r in rows]) * (X is not None))
                for k in rows[0]}

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return (f"VectorMechanismEnv({self.scenario.name!r}, B={self.num_envs}, N={self.n_agents}, "
                f"mode={self.mode!r}, reward_mode={self.reward_mode!r}, device={self.device}, "
                f"dtype={self.dtype})")


VECTOR_KWARGS = ("device", "dtype", "autoreset", "validate_actions")


def make_vec(env_id: str, num_envs: int = 1, **kwargs: Any) -> VectorMechanismEnv:
    """The batched form of :func:`mbi_envs.make`: ``num_envs`` copies of ``env_id`` as tensors.

    ``num_envs`` is an integer ``>= 1`` (numpy integers accepted; ``2.0`` and ``True`` raise
    ``ValueError``); ``device`` ``"cpu"``/``"cuda"``/``"cuda:k"`` or a ``torch.device``; ``dtype``
    ``torch.float32``/``torch.float64`` or ``"float32"``/``"float64"``; ``autoreset`` and
    ``validate_actions`` ``True``/``False``. Every one is checked before the scenario is built.

    Keyword arguments: the dict env's common ones (``mode``, ``reward_mode``, ``max_steps``,
    ``private_share``; ``render_mode`` is not supported), ``device``, ``dtype``, ``autoreset``,
    ``validate_actions`` and the scenario's own (e.g. ``n_agents``); any other raises ``ValueError``.
    """
    allowed = scenario_kwargs(env_id)
    require_int("num_envs", num_envs, 1)
    resolve_device(kwargs.get("device", "cpu")), resolve_dtype(kwargs.get("dtype", torch.float64))
    for name in ("autoreset", "validate_actions"):
        if name in kwargs:
            require_bool(name, kwargs[name])
    if kwargs.get("action_space", "native") != "native":  # before any work: a clear error
        raise InvalidParameterError(f"{env_id}: make_vec supports only action_space='native' (each agent's own "
                                    f"box, as tensors), got action_space={kwargs['action_space']!r}")
    kwargs.pop("action_space", None)
    common = [k for k in COMMON_KWARGS if k not in ("render_mode", "action_space")]
    unknown = sorted(k for k in kwargs if k not in allowed and k not in common and k not in VECTOR_KWARGS)
    if unknown:
        raise InvalidParameterError(f"{env_id}: unknown keyword argument(s) {unknown} for make_vec; allowed: "
                                    f"{sorted(common) + sorted(VECTOR_KWARGS) + sorted(allowed)}")
    scenario = build_scenario(env_id, **{k: v for k, v in kwargs.items() if k in allowed})
    rest = {k: v for k, v in kwargs.items() if k not in allowed}
    return VectorMechanismEnv(scenario, num_envs, **rest)
