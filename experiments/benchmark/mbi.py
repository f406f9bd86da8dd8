"""MBI contenders: incentive-driven agents through the env in iterative mode.

Names: ``mbi-gradient-paper`` (the paper's η), ``mbi-gradient-linesearch`` (Planner-side Armijo,
every extra loss evaluation counted), ``mbi-gradient-adaptive`` (agent-local adaptive steps),
all without an oracle; ``mbi-gradient-oracle``, ``mbi-momentum-oracle`` and
``mbi-satisficing-oracle`` use the exact-Hessian step (:func:`.step_rules.oracle_step`), whose
seconds and evaluations are added to their wall-clock and evaluation counts.

MBI runs through the environment (``mbi_envs.MBIPolicy``), not ``mechanism.run_planner``: the
trajectory is the same number for number (``tests/test_envs_mbi.py``), and the wall-clock then
includes the same PettingZoo per-agent interface PPO pays on every step.
"""
from __future__ import annotations

import math
from typing import Any

import mbi_envs
from mbi_envs.evaluation import json_safe
from mechanism import GradientAgents, MomentumAgents, SatisficingAgents

from .records import RunRecord, env_episode, record_from_episode
from .scenarios import BenchScenario
from .step_rules import (ADAPTIVE_DOWN, ADAPTIVE_UP, ARMIJO_C, STABLE_FRACTION, AdaptiveStepAgents,
                         ArmijoPlannerPolicy, oracle_step)

__all__ = ["Contender", "MBIContender", "NO_ORACLE", "ORACLE"]

NO_ORACLE = ("gradient-paper", "gradient-linesearch", "gradient-adaptive")
ORACLE = ("gradient-oracle", "momentum-oracle", "satisficing-oracle")


class Contender:
    """Anything with a ``name``, a ``family`` and ``run(scenario, seed) -> RunRecord``."""

    name: str = "contender"
    family: str = "other"

    def applies_to(self, scenario: BenchScenario) -> bool:
        return True

    def run(self, scenario: BenchScenario, seed: int) -> RunRecord:  # pragma: no cover - abstract
        raise NotImplementedError


class MBIContender(Contender):
    """Incentive-driven agents of one ``kind`` (see the module docstring)."""

    family = "mbi"
    KINDS = NO_ORACLE + ORACLE

    def __init__(self, kind: str, beta: float = 0.9, time_cost: float = 1e-12) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        self.kind, self.beta, self.time_cost = kind, beta, time_cost
        self.name = f"mbi-{kind}"
        self.uses_oracle = kind in ORACLE

    def _policy(self, scenario: BenchScenario, env: Any) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
        """``(policy, agents or None, params, oracle cost)``."""
        eta = scenario.paper_step
        if self.kind == "gradient-paper":
            agents = GradientAgents(eta)
            return mbi_envs.MBIPolicy(agents), agents, {"step_size": json_safe(eta), "rule": "paper's η"}, {}
        if self.kind == "gradient-adaptive":
            agents = AdaptiveStepAgents(eta)
            return mbi_envs.MBIPolicy(agents), agents, {"initial_step": json_safe(eta), "up": ADAPTIVE_UP,
                                                        "down": ADAPTIVE_DOWN, "rule": "agent-local sign rule"}, {}
        if self.kind == "gradient-linesearch":
            first = float(min(eta)) if isinstance(eta, (tuple, list)) else float(eta)
            return ArmijoPlannerPolicy(first), None, {"initial_step": first, "armijo_c": ARMIJO_C,
                                                      "rule": "Planner-side Armijo backtracking"}, {}
        step, cost = oracle_step(env)
        params = {"step_size": step, "stable_fraction": STABLE_FRACTION, "oracle": "exact Hessian, 2/λ_max",
                  "oracle_cost": cost}
        if self.kind == "gradient-oracle":
            agents = GradientAgents(step)
        elif self.kind == "momentum-oracle":
            agents, params["beta"] = MomentumAgents(step, beta=self.beta), self.beta
        else:
            agents, params["time_cost"] = SatisficingAgents(step, time_cost=self.time_cost), self.time_cost
        return mbi_envs.MBIPolicy(agents), agents, params, cost

    def run(self, scenario: BenchScenario, seed: int) -> RunRecord:
        env = scenario.make(mode="iterative", reward_mode="team", max_steps=scenario.mbi_iterations)
        env.reset(seed=seed)
        policy, agents, params, cost = self._policy(scenario, env)
        ep = env_episode(env, policy, seed)
        status = "budget_exhausted" if all(math.isfinite(g) for g in ep["gaps"]) else "diverged"
        evaluations = ep["steps"] + cost.get("gradient_equivalent_evaluations", 0)
        if isinstance(policy, ArmijoPlannerPolicy):
            evaluations += policy.extra_evaluations
            params["line_search_evaluations"] = policy.extra_evaluations
            params["final_step"] = policy.steps_used[-1] if policy.steps_used else None
        if isinstance(agents, AdaptiveStepAgents):
            params["final_step_range"] = [float(agents._eta.min()), float(agents._eta.max())]
        if isinstance(agents, SatisficingAgents):
            stop = agents.stop_time
            done = bool((stop >= 0).all())
            params["stop_time_max"] = int(stop.max()) if done else None
            status = "satisficed" if done else status
        return record_from_episode(scenario, self, seed, ep, n=env.n_agents, params=params, oracle=evaluations,
                                   status=status, setup_seconds=cost.get("seconds", 0.0),
                                   notes="oracle: exact-Hessian step, its seconds and evaluations included"
                                   if self.uses_oracle else "")
