"""The generic PettingZoo parallel environment over any mechanism :class:`~mechanism.Problem`."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

from mechanism import InvalidParameterError, NonFiniteError, Optimum, Problem, ShapeMismatchError
from mechanism.errors import require_finite_number, require_int_at_least

from . import dynamics, global_state
from .checks import check_seed, require_number_in
from .action_modes import ACTION_SPACES, bound_columns, bound_names, from_unit
from .scenario import Scenario

__all__ = ["MechanismEnv", "MODES", "REWARD_MODES", "ACTION_SPACES"]

MODES = ("iterative", "one_shot")
REWARD_MODES = ("team", "private", "difference")


@dataclass
class _State:
    """Everything the env derives from one joint action (float64 throughout)."""

    X: np.ndarray            # (N, d) joint action
    G: np.ndarray            # (N, d) incentives -dL/dX under the planner's belief
    loss: float              # global loss under the TRUE types
    private: np.ndarray | None   # (N,) private losses C_i + share * L_system (true types)
    marginal: np.ndarray | None  # (N,) L(default_i, x_-i) - L(x) (true types)


class MechanismEnv(ParallelEnv):
    """A coordination problem of the MBI paper as a PettingZoo ``ParallelEnv``.

    Agents ``"agent_0" ... "agent_{N-1}"`` each control ``x_i`` (shape ``(d,)``) of a mechanism
    :class:`~mechanism.Problem` whose global loss is ``L(X) = L_system(X) + Σ_i C_i(x_i)``.

    **Modes.** ``"iterative"``: a repeated game, one step = one Planner iteration; the episode is
    truncated after ``max_steps`` steps. ``"one_shot"``: horizon 1, every agent submits ``x_i`` once
    and the episode terminates.

    **Actions** (``action_space="native"``, the default) are absolute proposals ``x_i`` in
    ``Box(low_i, high_i, (d,), float64)``, where the box is the problem's bounds intersected with
    the scenario's finite action box. Proposals outside it are projected (clipped) onto it.
    ``action_space="normalized"``: every agent acts in ``Box(-1, 1, (d,), float64)``, mapped
    affinely onto its own box (``x_i = low_i + (a + 1)/2 (high_i - low_i)``, ``a`` clipped to
    ``[-1, 1]``; :mod:`mbi_envs.action_modes`), and every observation ends with the agent's box
    ``[low_i, high_i]``: one action space for tools that share a policy over agents whose boxes
    differ. NaN/inf, a wrong shape, an unknown agent id or a missing live agent raise
    ``ValueError`` before any state changes.

    **Observations** (``Box`` float64; layout in :attr:`observation_layout`):
    iterative ``[x_i (d), G_i (d), private features (k), agent_index/(N-1 or 1), t/T]``;
    one-shot ``[private features (k), agent_index/(N-1 or 1)]``. ``G_i = −∂L/∂x_i`` is the DPM
    incentive under the Planner's *belief* at the current joint action; private features are the
    agent's own types (e.g. its true ``λ_i``). Bounds are finite where the scenario's physics gives
    them, and the same for every agent: ``x`` in the agents' action boxes, ``|G| ≤ max_j B_j``
    (``B_j`` the exact maximum of ``|G_j|`` over the feasible box for the quadratic families; see
    ``Scenario.incentive_bound``), features in ``[min(0, min_j f_j), max(0, max_j f_j)]``, index
    and progress in ``[0, 1]``; the normalized mode's box columns in the range of the agents' boxes. For float32 /
    normalised spaces (SB3, SuperSuit) use :func:`mbi_envs.wrappers.float32_view`.

    **Horizon.** ``max_steps`` (PettingZoo's ``max_cycles``) applies to the iterative mode; with
    ``mode="one_shot"`` any value other than ``None`` or 1 raises ``ValueError``.

    **Rewards** (losses under the TRUE types; ``e_i(t)`` is the scenario's effort cost, if any):

    * ``"team"``: iterative ``L_{t−1} − L_t − Σ_j e_j(t)`` to every agent (return ``L_0 − L_T`` without
      effort costs); one-shot ``−L(x)``.
    * ``"private"``: with ``P_i(X) = C_i(x_i) + s·L_system(X)`` (``s = private_share ∈ [0, 1]``,
      default 0: agent i bears the share ``s`` of the system loss; other values raise ``ValueError``),
      iterative ``P_i(X_{t−1}) − P_i(X_t) − e_i(t)``; one-shot ``−P_i(x)``. What uncoordinated agents maximise.
    * ``"difference"`` (Clarke-style marginal contribution): ``M_i(X) = L(d_i, x_{−i}) − L(X)`` with
      ``d_i`` the projection of 0 onto agent i's action box; iterative ``M_i(X_t) − M_i(X_{t−1}) − e_i(t)``
      (the decrease of ``L(X) − L(d_i, x_{−i})``); one-shot ``M_i(x)``.

    **Infos** per agent: ``"incentive"`` (``G_i``), ``"global_loss"`` (true types), ``"step"``, and
    where a reference is known ``"optimal_loss"`` and ``"loss_gap"``. Every registered scenario
    knows its reference at every parameter value its ``build`` accepts (parameters that would
    leave it unknown, such as a negative target ``Y`` under ``x ≥ 0``, are refused with a
    ``ValueError``), so these two keys are always there for them; a user's :class:`Scenario` whose
    ``reference`` returns ``None`` gets neither key, never a NaN, and ``env.optimal_loss is None``
    says so (``evaluate`` then reports ``loss_gap=None``); with an effort cost
    ``"effort_cost"`` (agent i's cumulative effort), and ``"submitted"``: whether a joint action
    exists yet. Reset infos carry the same keys and shapes as step infos; in one-shot mode, before
    the submission, ``submitted`` is ``False`` and ``incentive``, ``global_loss``, ``loss_gap``
    and the scenario's extra infos are 0 (placeholders, not NaN: PettingZoo's seed tests compare
    infos with ``data_equivalence``, where NaN ≠ NaN).

    **Global state** (``state()``, ``state_space``; :mod:`mbi_envs.global_state`): every agent's
    action and incentive, the Planner's public data and the progress, one flat float64 vector.

    Attributes: ``problem`` (the problem in force now), ``mode``, ``reward_mode``, ``action_mode``
    (the ``action_space`` option), ``max_steps``, ``possible_agents``, ``agents``, ``render_mode``,
    ``metadata``, ``observation_layout``, ``state_space``, ``state_layout``.
    """

    metadata = {"name": "mechanism_env_v0", "render_modes": ["human", "ansi", "rgb_array"],
                "is_parallelizable": True, "render_fps": 4}

    def __init__(self, scenario: Scenario, *, mode: str = "iterative", reward_mode: str = "team",
                 max_steps: int | None = None, render_mode: str | None = None,
                 private_share: float = 0.0, action_space: str = "native") -> None:
        if not isinstance(scenario, Scenario):
            raise InvalidParameterError(f"scenario must be an mbi_envs.Scenario (e.g. a scenario module's build()); "
                                        f"got {scenario!r} (for an env id use mbi_envs.make)")
        if action_space not in ACTION_SPACES:
            raise InvalidParameterError(f"action_space must be one of {ACTION_SPACES}, got {action_space!r}")
        if mode not in MODES:
            raise InvalidParameterError(f"mode must be one of {MODES}, got {mode!r}")
        if reward_mode not in REWARD_MODES:
            raise InvalidParameterError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise InvalidParameterError(f"render_mode must be None or one of "
                                        f"{self.metadata['render_modes']}, got {render_mode!r}")
        self.scenario, self.mode, self.reward_mode, self.action_mode = scenario, mode, reward_mode, action_space
        self.max_steps = max_steps
        self.private_share = require_number_in(
            "private_share", private_share, 0.0, 1.0,
            " (the weight s of the system loss in P_i = C_i + s*L_system: s < 0 would reward agents for "
            "raising the system loss, s > 1 counts it more than once)")
        self.render_mode = render_mode
        self.metadata = {**type(self).metadata, "name": scenario.name}
        self.problem: Problem = scenario.problem
        self.n_agents, self.action_dim = self.problem.n_agents, self.problem.action_dim
        self.possible_agents = [f"agent_{i}" for i in range(self.n_agents)]
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self.agents: list[str] = []
        self._low, self._high = self._feasible_box(scenario)
        self._default = np.clip(np.zeros_like(self._low), self._low, self._high)
        self._features, feature_names = scenario.features()
        self._agent_pos = np.arange(self.n_agents, dtype=np.float64) / max(self.n_agents - 1, 1)
        self._bounds, self._bounds_low, self._bounds_high = bound_columns(self._low, self._high)
        self.observation_layout = self._layout(feature_names)
        self._g_bound = self._incentive_bound()
        self._action_spaces = {a: self._make_action_space(i) for i, a in enumerate(self.possible_agents)}
        self._observation_spaces = {a: self._make_obs_space(i) for i, a in enumerate(self.possible_agents)}
        self._references: dict[int, tuple[Problem, Optimum | None]] = {}
        self._rng = np.random.default_rng()
        self._state: _State | None = None
        self._t = 0
        extra = None if scenario.extra_infos is None else scenario.extra_infos(self.problem, self._default)
        self._n_public = global_state.public_data(extra).size
        self.state_layout = global_state.state_names(self.n_agents, self.action_dim, extra)
        self.state_space = global_state.state_space(self._low, self._high, self._g_bound, self._n_public)

    # ------------------------------------------------------------------ horizon
    @property
    def max_steps(self) -> int:
        """The horizon: iterative episodes are truncated after ``max_steps`` steps; one-shot
        episodes always have exactly one step (``max_steps == 1``)."""
        return self._max_steps

    @max_steps.setter
    def max_steps(self, value: int | None) -> None:
        if self.mode == "one_shot":
            if value is not None and value != 1:
                raise InvalidParameterError(
                    f"max_steps={value!r} is not allowed with mode='one_shot': a one-shot episode has "
                    "exactly one step (use mode='iterative' for a horizon, or leave max_steps unset)")
            self._max_steps = 1
            return
        self._max_steps = (self.scenario.max_steps if value is None
                           else require_int_at_least("max_steps", value, 1))

    # ------------------------------------------------------------------ spaces
    def _feasible_box(self, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
        low = np.maximum(self.problem.lower.numpy(), scenario.action_low)
        high = np.minimum(self.problem.upper.numpy(), scenario.action_high)
        if (low >= high).any():
            raise InvalidParameterError(f"scenario {scenario.name!r}: the action box does not meet the "
                                        "problem's bounds")
        return low, high

    def _layout(self, feature_names: tuple[str, ...]) -> list[str]:
        dims = [""] if self.action_dim == 1 else [f"[{j}]" for j in range(self.action_dim)]
        head = ([f"x{s}" for s in dims] + [f"G{s}" for s in dims]) if self.mode == "iterative" else []
        tail = ["agent_index", "progress"] if self.mode == "iterative" else ["agent_index"]
        box = bound_names(self.action_dim) if self.action_mode == "normalized" else []
        return head + list(feature_names) + tail + box

    def _make_action_space(self, i: int) -> spaces.Box:
        if self.action_mode == "normalized":
            return spaces.Box(-1.0, 1.0, (self.action_dim,), dtype=np.float64)
        return spaces.Box(self._low[i], self._high[i], dtype=np.float64)

    def _incentive_bound(self) -> np.ndarray:
        """``B`` with ``|G_i| ≤ B_i`` over the feasible box for every problem the scenario can put
        in force (the scenario's physics), or ``+inf`` where the scenario gives none."""
        bound_fn = self.scenario.incentive_bound
        if bound_fn is None:
            return np.full((self.n_agents, self.action_dim), np.inf)
        bounds = [np.asarray(bound_fn(p, self._low, self._high), dtype=np.float64)
                  for p in self.scenario.problems()]
        # widened by a relative 1e-9 so that rounding in autograd's G never leaves the box
        return (np.max(bounds, axis=0) * (1.0 + 1e-9)).reshape(self.n_agents, self.action_dim)

    def _feature_box(self) -> tuple[np.ndarray, np.ndarray]:
        """Per feature ``[min(0, min_j f_j), max(0, max_j f_j)]`` over this instance's agents
        (features are constant types), widened to ``[0, 1]`` where both ends are 0."""
        f = self._features
        if f.shape[1] == 0:
            return np.zeros(0), np.zeros(0)
        low, high = np.minimum(f.min(axis=0), 0.0), np.maximum(f.max(axis=0), 0.0)
        return low, np.where(low == high, low + 1.0, high)

    def _make_obs_space(self, i: int) -> spaces.Box:
        """Finite where the physics gives bounds: ``x`` in the agents' action boxes, ``|G| ≤ max_j B_j``
        (:meth:`_incentive_bound`), features in :meth:`_feature_box`, index and progress in [0, 1].
        The same box for every agent: SuperSuit's vector conversion and a shared policy need that."""
        f_low, f_high = self._feature_box()
        if self.mode == "iterative":
            g = self._g_bound.max(axis=0)
            low = np.concatenate([self._low.min(axis=0), -g, f_low, [0.0, 0.0]])
            high = np.concatenate([self._high.max(axis=0), g, f_high, [1.0, 1.0]])
        else:
            low, high = np.concatenate([f_low, [0.0]]), np.concatenate([f_high, [1.0]])
        if self.action_mode == "normalized":
            low, high = np.concatenate([low, self._bounds_low]), np.concatenate([high, self._bounds_high])
        return spaces.Box(low, high, dtype=np.float64)

    def observation_space(self, agent: str) -> spaces.Box:
        """Agent ``agent``'s observation space (the same object on every call)."""
        return self._observation_spaces[self._agent_id(agent)]

    def action_space(self, agent: str) -> spaces.Box:
        """Agent ``agent``'s action space (the same object on every call): its own box, or
        ``Box(-1, 1)`` with ``action_space="normalized"``."""
        return self._action_spaces[self._agent_id(agent)]

    def _agent_id(self, agent: Any) -> str:
        if agent not in self._index:
            raise InvalidParameterError(f"unknown agent id {agent!r}; agents are 'agent_0' ... "
                                        f"'agent_{self.n_agents - 1}'")
        return agent

    # ------------------------------------------------------------------ public state
    @property
    def action_low(self) -> np.ndarray:
        """Lower corner of the feasible action box, ``(N, d)`` (a copy; native units in both action modes)."""
        return self._low.copy()

    @property
    def action_high(self) -> np.ndarray:
        """Upper corner of the feasible action box, ``(N, d)`` (a copy)."""
        return self._high.copy()

    @property
    def X(self) -> np.ndarray | None:
        """The current joint action ``(N, d)`` (a copy; ``None`` before the one-shot submission)."""
        return None if self._state is None else self._state.X.copy()

    @property
    def t(self) -> int:
        """Steps taken in the current episode."""
        return self._t

    @property
    def global_loss(self) -> float | None:
        """The global loss of the current joint action under the TRUE types."""
        return None if self._state is None else self._state.loss

    @property
    def optimum(self) -> Optimum | None:
        """The reference optimum of the problem in force now, under the TRUE types (or ``None``)."""
        key = id(self.problem)
        if key not in self._references or self._references[key][0] is not self.problem:
            self._references[key] = (self.problem, self.scenario.reference(self.problem))
        return self._references[key][1]

    @property
    def optimal_loss(self) -> float | None:
        """The reference optimal loss (TRUE types) of the problem in force now, or ``None``."""
        opt = self.optimum
        return None if opt is None else float(opt.loss)

    # ------------------------------------------------------------------ dynamics
    def reset(self, seed: int | None = None, options: Mapping[str, Any] | None = None):
        """Start an episode. ``seed`` (``None`` or an integer ``>= 0``, numpy integers accepted;
        anything else raises ``ValueError`` before any state changes) reseeds the start
        distribution (same seed, same episode); ``options={"x0": array}`` fixes the start
        (iterative mode only: with ``mode="one_shot"`` it raises ``ValueError``; projected onto the
        feasible box like an action); other option keys are ignored."""
        seed = check_seed(seed)
        if options is not None and not isinstance(options, Mapping):
            raise InvalidParameterError(f"options must be None or a dict, got {options!r}")
        x0 = None if not options or options.get("x0") is None else self._check_x0(options["x0"])
        if x0 is not None and self.mode == "one_shot":
            raise InvalidParameterError(f"options['x0'] sets the start of an iterative episode; a one-shot env "
                                        f"(mode='one_shot') has none, got options['x0']={options['x0']!r}")
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._t = 0
        self.problem = self.scenario.problem_for_step(0)
        self.agents = list(self.possible_agents)
        self._effort = np.zeros(self.n_agents)
        self._loss_history: list[float] = []
        if self.mode == "one_shot":
            self._state = None
            return self._observations(), self._infos()
        start = self.scenario.start(self._rng) if x0 is None else x0
        self._state = self._evaluate(self.problem, np.clip(start, self._low, self._high))
        self._loss_history.append(self._state.loss)
        return self._observations(), self._infos()

    def step(self, actions: Mapping[str, Any]):
        """Apply every live agent's proposal; returns ``(obs, rewards, terminations, truncations, infos)``."""
        if not self.agents:
            raise InvalidParameterError("step() called on a finished (or never reset) episode; call reset() first")
        X_new = self._parse_actions(actions)
        t = self._t + 1
        problem = self.scenario.problem_for_step(t)
        if self.scenario.planner_update is not None and self.mode == "iterative":
            problem = self.scenario.planner_update(t, self.problem, X_new)
        new = self._evaluate(problem, X_new)
        effort = self._step_effort(t, X_new)
        rewards = self._rewards(self._state, new, effort)
        self._t, self.problem, self._state = t, problem, new
        self._effort += effort
        self._loss_history.append(new.loss)
        done = self.mode == "one_shot" or t >= self.max_steps
        obs, infos = self._observations(), self._infos()
        agents = self.agents
        terminations = {a: self.mode == "one_shot" for a in agents}
        truncations = {a: self.mode == "iterative" and done for a in agents}
        reward_dict = {a: float(rewards[self._index[a]]) for a in agents}
        if done:
            self.agents = []
        return obs, reward_dict, terminations, truncations, infos

    def _check_x0(self, x0: Any) -> np.ndarray:
        x = np.asarray(x0, dtype=np.float64)
        shape = (self.n_agents, self.action_dim)
        if x.shape == (self.n_agents,) and self.action_dim == 1:
            x = x.reshape(shape)
        if x.shape != shape or not np.isfinite(x).all():
            raise InvalidParameterError(f"options['x0'] must be finite with shape {shape}, got {x0!r}")
        return x

    def _parse_actions(self, actions: Mapping[str, Any]) -> np.ndarray:
        """Validate every proposal (no state change on error) and return the projected ``(N, d)``."""
        if not isinstance(actions, Mapping):
            raise InvalidParameterError(f"actions must be a dict agent -> action, got {type(actions).__name__}")
        unknown = [a for a in actions if a not in self._index]
        if unknown:
            raise InvalidParameterError(f"unknown agent id(s) in actions: {unknown[:5]!r}")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise InvalidParameterError(f"actions missing for live agent(s): {missing[:5]!r}")
        try:
            X = np.asarray([actions[a] for a in self.agents], dtype=np.float64)
        except (TypeError, ValueError):
            X = None
        if X is not None and X.ndim == 1 and self.action_dim == 1:
            X = X[:, None]
        if X is None or X.shape != (self.n_agents, self.action_dim):
            bad = next((a for a in self.agents if np.shape(actions[a]) not in ((self.action_dim,), ())
                        or np.size(actions[a]) != self.action_dim), self.agents[0])
            raise ShapeMismatchError(f"action of {bad!r} must have shape ({self.action_dim},), got "
                                     f"{np.shape(actions[bad])}")
        if not np.isfinite(X).all():
            bad = self.agents[int(np.nonzero(~np.isfinite(X).all(axis=1))[0][0])]
            raise NonFiniteError(f"action of {bad!r} must be finite, got {actions[bad]!r}")
        if self.action_mode == "normalized":
            return from_unit(X, self._low, self._high)
        return np.clip(X, self._low, self._high)

    def _evaluate(self, problem: Problem, X: np.ndarray) -> _State:
        # The formulas live in mbi_envs.dynamics, shared with the batched env (B = 1 here).
        ev = dynamics.evaluate_joint_actions(problem, torch.from_numpy(X)[None], reward_mode=self.reward_mode,
                                             private_share=self.private_share,
                                             default=torch.from_numpy(self._default))
        private = None if ev.private is None else ev.private[0].numpy()
        marginal = None if ev.marginal is None else ev.marginal[0].numpy()
        return _State(X, ev.G[0].numpy(), float(ev.loss[0]), private, marginal)

    def _step_effort(self, t: int, X_new: np.ndarray) -> np.ndarray:
        if self.scenario.effort is None or self.mode == "one_shot":
            return np.zeros(self.n_agents)
        return np.asarray(self.scenario.effort(t, self._state.X, X_new), dtype=np.float64).reshape(self.n_agents)

    def _rewards(self, old: _State | None, new: _State, effort: np.ndarray) -> np.ndarray:
        """Per-agent rewards (see the class docstring); ``old`` is ``None`` in one-shot mode."""
        value = dynamics.step_rewards(self.reward_mode, old, new, effort)  # shared with the batched env
        return np.full(self.n_agents, value) if self.reward_mode == "team" else value

    # ------------------------------------------------------------------ observations and infos
    def _observations(self) -> dict[str, np.ndarray]:
        if self.mode == "one_shot":
            rows = np.concatenate([self._features, self._agent_pos[:, None]], axis=1)
        else:
            s = self._state
            progress = np.full((self.n_agents, 1), self._t / self.max_steps)
            rows = np.concatenate([s.X, s.G, self._features, self._agent_pos[:, None], progress], axis=1)
        if self.action_mode == "normalized":
            rows = np.concatenate([rows, self._bounds], axis=1)
        return dict(zip(self.agents, rows))

    def _reference_info(self) -> dict[str, float]:
        opt = self.optimal_loss
        if opt is None:
            return {}
        info = {"optimal_loss": opt}
        if self._state is not None:
            info["loss_gap"] = self._state.loss - opt
        return info

    def _infos(self) -> dict[str, dict[str, Any]]:
        """Per-agent infos; the same keys at reset and at every step (TorchRL builds its info spec
        from the reset infos). Before the one-shot submission there is no joint action yet:
        ``submitted`` is ``False`` and ``incentive``, ``global_loss`` and ``loss_gap`` are 0 then
        (finite placeholders: PettingZoo's seed tests compare infos, and NaN ≠ NaN)."""
        s = self._state
        if s is None:
            zero = np.zeros((self.n_agents, self.action_dim))
            loss, G, X, gap = 0.0, zero, None, {"loss_gap": 0.0}
        else:
            loss, G, X, gap = s.loss, s.G, s.X, {}
        ref = self._reference_info()
        common = {"global_loss": loss, "step": self._t, "submitted": s is not None, **ref, **(gap if ref else {})}
        if self.scenario.extra_infos is not None:
            common.update(self._extra_infos(X))
        if self.scenario.effort is None:
            return {a: dict(common, incentive=g) for a, g in zip(self.agents, G)}
        return {a: {"incentive": g, **common, "effort_cost": float(e)}
                for a, g, e in zip(self.agents, G, self._effort)}

    def _extra_infos(self, X: np.ndarray | None) -> dict[str, Any]:
        """The scenario's extra infos at ``X``; before the one-shot submission (``X`` is ``None``)
        the same keys with 0 values (evaluated at the default action only to learn the keys)."""
        extra = self.scenario.extra_infos(self.problem, self._default if X is None else X)
        if X is not None:
            return extra
        return {k: np.zeros(np.shape(v)) if np.ndim(v) else 0.0 for k, v in extra.items()}

    # ------------------------------------------------------------------ global state
    def state(self) -> np.ndarray:
        """The global state ``[X (N·d), G (N·d), public (p), t/T]`` (float64, inside
        ``state_space``; names in ``state_layout``; see :mod:`mbi_envs.global_state`)."""
        s = self._state
        if s is None:  # before the one-shot submission (or before the first reset)
            return global_state.state_vector(self._default, np.zeros_like(self._default),
                                             np.zeros(self._n_public), 0.0)
        extra = None if self.scenario.extra_infos is None else self.scenario.extra_infos(self.problem, s.X)
        return global_state.state_vector(s.X, s.G, global_state.public_data(extra), self._t / self.max_steps)

    # ------------------------------------------------------------------ rendering
    def render(self, mode: str | None = None):
        """``"human"``: prints the text table to stdout and returns ``None`` (works headless, no
        window); ``"ansi"``: returns the text table; ``"rgb_array"``: an ``(H, W, 3)`` uint8 image of
        the actions and the loss so far. ``mode`` (optional, for callers such as RLlib's PettingZoo
        wrapper that pass one) renders this call in that mode; by default ``render_mode``. Returns
        ``None`` (with a warning) when both are ``None``; an undeclared ``mode`` raises ``ValueError``."""
        if mode is not None and mode not in self.metadata["render_modes"]:
            raise InvalidParameterError(f"render mode must be None or one of {self.metadata['render_modes']}, "
                                        f"got {mode!r}")
        mode = self.render_mode if mode is None else mode
        if mode is None:
            warnings.warn("render() called with render_mode=None; pass render_mode='human', 'ansi' or 'rgb_array'")
            return None
        from . import rendering

        if mode == "human":
            print(rendering.render_ansi(self), flush=True)
            return None
        return rendering.render_ansi(self) if mode == "ansi" else rendering.render_rgb(self)

    def close(self) -> None:
        """Nothing to release (figures are closed after each render)."""

    def __repr__(self) -> str:
        box = "" if self.action_mode == "native" else f", action_space={self.action_mode!r}"
        return (f"MechanismEnv({self.scenario.name!r}, N={self.n_agents}, mode={self.mode!r}, "
                f"reward_mode={self.reward_mode!r}, max_steps={self.max_steps}{box})")
