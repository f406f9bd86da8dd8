"""Type reporting (a direct-revelation game; the learning adversary of the IC audit).

This is a one-shot Bayesian game, not a production game: agents do not choose quantities, they
*report their private cost type* to the Planner, who allocates by the DPM under the reports and
pays by a chosen rule (:mod:`mechanism.design`).

**Loss.** C.4's aggregative problem ``L = (Σx − Y)² + Σ λ_i x_i²`` (``Y = 7.461``, ``N = 5`` by
default). At each reset the true types ``λ_i`` are drawn i.i.d. from the prior
``Uniform(prior_low, prior_high)`` (seeded by ``reset(seed=...)``); agent i observes only its own.

**Action space.** ``Box(-2, 2, (1,), float64)`` per agent: ``a_i = log2(report_i / λ_i)``, so
``a = 0`` is truth-telling; the report ``λ_i · 2^a`` is clipped to the report space
``[prior_low, prior_high]``.

**Observation.** ``Box`` float64 ``[λ_i, agent_index/(N−1)]``.

**Allocation and payment.** ``x* = argmin_X L(X; reports)`` (closed form); transfers by
``payment``: ``"none"`` (0), ``"dpm"`` (``p_i x*_i``, ``p_i = −∂L_system/∂x_i``), ``"vcg"``
(Clarke pivot), ``"agv"`` (expected externality under the same prior, ``agv_samples`` fixed draws),
``"groves_h0"`` (the paper's integrated DPM signal with ``Const = 0``).

**Reward.** Agent i's true utility ``u_i = t_i − λ_i x*_i²`` (quasi-linear; outside option 0).

**Infos** per agent: ``report``, ``truth``, ``report_ratio``, ``transfer``, ``allocation``,
``truthful_utility`` (its utility had it reported truthfully, the others' reports unchanged),
``gain`` (= reward − truthful_utility: the unilateral gain of its report), ``global_loss`` (true
social cost at the allocation), ``optimal_loss`` and ``loss_gap`` (efficiency loss).

**Episode.** One step, then every agent terminates.

**Arguments.** ``n_agents=5``, ``Y=7.461``, ``payment="dpm"``, ``prior_low=0.05``, ``prior_high=1.0``,
``agv_samples=256``, ``render_mode=None`` (``"ansi"`` supported). ``n_agents`` an integer ``>= 2``,
``Y > 0``, ``0 < prior_low < prior_high``, ``payment`` one of :data:`PAYMENTS`, ``agv_samples`` an
integer ``>= 1``; anything else raises ``ValueError`` naming the parameter.

**Version history.** v0: initial version.
"""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

from mechanism import InvalidParameterError, Optimum
from mechanism.errors import require_finite_number
from mechanism.design import (AGV, VCG, DPMLinearPrice, GrovesFamily, NoPayment, PaymentRule,
                                  aggregative_game, zero_h)
from mechanism.design.priors import IndependentPrior

from ..checks import check_seed, require_int

ENV_ID = "type_report_v0"
GYM_ID = None  # no centralized Gymnasium view: a reporting game has no team controller
PAPER = "C.4, C.17 (IC audit)"
PAYMENTS = ("none", "dpm", "vcg", "agv", "groves_h0")
C4_Y = 7.461
MAX_LOG2_RATIO = 2.0


def make_rule(payment: str, prior: IndependentPrior, agv_samples: int = 256, seed: int = 0) -> PaymentRule:
    """The payment rule named ``payment`` (one of :data:`PAYMENTS`)."""
    if payment == "none":
        return NoPayment()
    if payment == "dpm":
        return DPMLinearPrice()
    if payment == "vcg":
        return VCG()
    if payment == "agv":
        return AGV(prior, agv_samples, seed)
    if payment == "groves_h0":
        return GrovesFamily(zero_h, "groves_h0")
    raise InvalidParameterError(f"payment must be one of {PAYMENTS}, got {payment!r}")


class TypeReportEnv(ParallelEnv):
    """PettingZoo ``ParallelEnv`` of the type-reporting game (see the module docstring)."""

    metadata = {"name": ENV_ID, "render_modes": ["ansi"], "is_parallelizable": True, "render_fps": 1}

    def __init__(self, n_agents: int = 5, Y: float = C4_Y, payment: str = "dpm", prior_low: float = 0.05,
                 prior_high: float = 1.0, agv_samples: int = 256, render_mode: str | None = None) -> None:
        self.n_agents = require_int("n_agents", n_agents, 2)
        self.Y = require_finite_number("Y", Y)
        if self.Y <= 0:
            raise InvalidParameterError(f"Y must be > 0, got {Y!r}")
        lo, hi = require_finite_number("prior_low", prior_low), require_finite_number("prior_high", prior_high)
        if not 0 < lo < hi:
            raise InvalidParameterError(f"need 0 < prior_low < prior_high, got prior_low={prior_low!r}, "
                                        f"prior_high={prior_high!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise InvalidParameterError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.payment, self.render_mode, self.low, self.high = payment, render_mode, lo, hi
        self.prior = IndependentPrior.iid(torch.distributions.Uniform(torch.tensor(lo, dtype=torch.float64),
                                                                      torch.tensor(hi, dtype=torch.float64)),
                                          self.n_agents)
        self.rule = make_rule(payment, self.prior, require_int("agv_samples", agv_samples, 1))
        self.possible_agents = [f"agent_{i}" for i in range(self.n_agents)]
        self.agents: list[str] = []
        self._act = spaces.Box(-MAX_LOG2_RATIO, MAX_LOG2_RATIO, (1,), np.float64)
        self._obs = spaces.Box(np.array([lo, 0.0]), np.array([hi, 1.0]), dtype=np.float64)
        self._rng = np.random.default_rng()
        self.truth = np.full(self.n_agents, lo)
        # one game for the env's lifetime: the rules only read reports, costs use self.truth
        self.game = aggregative_game(self.truth, self.Y, report_low=lo, report_high=hi)
        self.X = np.zeros((self.n_agents, 1))
        self.global_loss: float | None = None
        self.optimal_loss: float | None = None
        self.optimum: Optimum | None = None
        self.last: dict[str, np.ndarray] | None = None

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs

    def action_space(self, agent: str) -> spaces.Box:
        return self._act

    def _observations(self) -> dict[str, np.ndarray]:
        pos = np.arange(self.n_agents) / (self.n_agents - 1)
        return {a: np.array([self.truth[i], pos[i]]) for i, a in enumerate(self.possible_agents)}

    def reset(self, seed: int | None = None, options: dict | None = None):
        """Draw the true types from the prior (seeded) and return each agent's own type. ``seed``
        is ``None`` or an integer ``>= 0`` (else ``ValueError`` before any state changes)."""
        seed = check_seed(seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.truth = self._rng.uniform(self.low, self.high, self.n_agents)
        if isinstance(self.rule, AGV) and sum(len(c) for c in self.rule._cache.values()) > 100_000:
            self.rule.clear_cache()
        self.agents = list(self.possible_agents)
        x = self.game.allocate(self.truth)[0]
        self.optimal_loss = float(self.game.social_cost(x[None], self.truth)[0])
        self.optimum = Optimum(torch.as_tensor(x), self.optimal_loss)
        self.X, self.global_loss, self.last = x, None, None
        return self._observations(), {a: {"optimal_loss": self.optimal_loss} for a in self.agents}

    def reports_from_actions(self, actions: dict[str, Any]) -> np.ndarray:
        """Validate the actions and map them to reports ``clip(λ_i · 2^a_i, low, high)``."""
        unknown = [a for a in actions if a not in self.possible_agents]
        if unknown:
            raise InvalidParameterError(f"unknown agent id(s) {unknown}; agents: {self.possible_agents}")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise InvalidParameterError(f"missing action(s) for live agent(s) {missing}")
        a = np.empty(self.n_agents)
        for i, agent in enumerate(self.possible_agents):
            v = np.asarray(actions[agent], dtype=np.float64).reshape(-1)
            if v.shape != (1,) or not np.isfinite(v).all():
                raise InvalidParameterError(f"action of {agent} must be one finite number, got {actions[agent]!r}")
            a[i] = np.clip(v[0], -MAX_LOG2_RATIO, MAX_LOG2_RATIO)
        return np.clip(self.truth * 2.0 ** a, self.low, self.high)

    def step(self, actions: dict[str, Any]):
        """Allocate under the reports, pay by the rule; rewards are true utilities; episode ends."""
        if not self.agents:
            raise InvalidParameterError("step() called on a finished episode; call reset() first")
        R = self.reports_from_actions(actions)
        g, rule = self.game, self.rule
        X = rule.allocate(g, R)
        t = rule.transfers(g, R, X)[0]
        u = t - g.costs(X, self.truth)[0]
        truthful = np.empty(self.n_agents)
        for i in range(self.n_agents):
            Ri = R.copy()
            Ri[i] = self.truth[i]
            Xi = rule.allocate(g, Ri)
            truthful[i] = rule.transfer(g, i, Ri[None], Xi)[0] - g.costs(Xi, self.truth)[0, i]
        self.X = X[0]
        self.global_loss = float(g.social_cost(X, self.truth)[0])
        self.last = {"reports": R, "transfers": t, "utilities": u, "truthful_utilities": truthful}
        infos = {a: {"report": float(R[i]), "truth": float(self.truth[i]), "report_ratio": float(R[i] / self.truth[i]),
                     "transfer": float(t[i]), "allocation": float(X[0, i, 0]), "truthful_utility": float(truthful[i]),
                     "gain": float(u[i] - truthful[i]), "global_loss": self.global_loss,
                     "optimal_loss": self.optimal_loss, "loss_gap": self.global_loss - self.optimal_loss}
                 for i, a in enumerate(self.possible_agents)}
        rewards = {a: float(u[i]) for i, a in enumerate(self.possible_agents)}
        terms = {a: True for a in self.possible_agents}
        truncs = {a: False for a in self.possible_agents}
        obs = self._observations()
        self.agents = []
        return obs, rewards, terms, truncs, infos

    def render(self) -> str | None:
        if self.render_mode is None:
            import warnings
            warnings.warn("render() called without render_mode; pass render_mode='ansi'")
            return None
        lines = [f"{ENV_ID} payment={self.payment} types={np.round(self.truth, 3).tolist()}"]
        if self.last is not None:
            for i, a in enumerate(self.possible_agents):
                lines.append(f"{a}: report={self.last['reports'][i]:.3f} transfer={self.last['transfers'][i]:.3f} "
                             f"utility={self.last['utilities'][i]:.3f}")
            lines.append(f"L={self.global_loss:.4f} (optimum {self.optimal_loss:.4f})")
        return "\n".join(lines)

    def close(self) -> None:
        pass


def parallel_env(**kwargs: Any) -> TypeReportEnv:
    """The PettingZoo ParallelEnv (keyword arguments as :class:`TypeReportEnv`)."""
    allowed = inspect.signature(TypeReportEnv.__init__).parameters
    unknown = sorted(k for k in kwargs if k not in allowed or k == "self")
    if unknown:
        raise InvalidParameterError(f"{ENV_ID}: unknown keyword argument(s) {unknown}; allowed: "
                                    f"{sorted(k for k in allowed if k != 'self')}")
    return TypeReportEnv(**kwargs)


def raw_env(**kwargs: Any):
    """The unwrapped AEC form (``parallel_to_aec_wrapper``)."""
    from pettingzoo.utils.conversions import parallel_to_aec_wrapper
    return parallel_to_aec_wrapper(parallel_env(**kwargs))


def env(**kwargs: Any):
    """The AEC form with PettingZoo's ``OrderEnforcingWrapper``."""
    from pettingzoo.utils.wrappers import OrderEnforcingWrapper
    return OrderEnforcingWrapper(raw_env(**kwargs))
