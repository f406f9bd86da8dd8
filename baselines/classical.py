"""Classical contenders as ``mbi_envs`` policies: the centralized optimizer and the uncoordinated Nash equilibrium.

Both compute a joint action from the environment's problem when reset, then submit it every
step (in one-shot mode, once). They use the agents' *true* types: the central optimizer is
the omniscient benchmark, and Nash agents best-respond to their own true costs.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from mbi_envs.checks import require_number_in
from mechanism import centralized_optimum, nash_equilibrium

__all__ = ["CentralizedPolicy", "NashPolicy"]


class _FixedActionPolicy:
    """Submits the joint action that :meth:`solve` computes for the env's problem.

    It solves at ``reset`` and again whenever the environment's problem changes (a dynamic
    target): ``evaluations`` counts the last solve's loss/gradient evaluations,
    ``total_evaluations`` all of them in the episode.
    """

    def __init__(self) -> None:
        self.x: np.ndarray | None = None
        self.evaluations = 0
        self.total_evaluations = 0

    def solve(self, problem: Any) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def reset(self, env: Any, seed: int | None = None) -> None:
        """Solve the environment's current problem."""
        self._env, self._agents = env, list(env.possible_agents)
        self.total_evaluations = 0
        self._solve_current()

    def _solve_current(self) -> None:
        self._problem = self._env.problem
        self.x = self.solve(self._problem).numpy()
        self.total_evaluations += self.evaluations

    def act(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The solved action of each agent (float64, the dtype of the action boxes)."""
        if self.x is None:
            raise RuntimeError("call reset(env, seed) before act()")
        if self._env.problem is not self._problem:
            self._solve_current()
        return {a: self.x[self._agents.index(a)].copy() for a in observations}


class CentralizedPolicy(_FixedActionPolicy):
    """A central planner who knows all true types minimises ``L_global`` with L-BFGS-B."""

    def solve(self, problem: Any) -> torch.Tensor:
        res = centralized_optimum(problem, types="true")
        self.evaluations = res.evaluations
        return res.x


class NashPolicy(_FixedActionPolicy):
    """Uncoordinated agents: each best-responds to ``C_i(x_i) + share · L_system`` (see
    :func:`mechanism.nash_equilibrium`); ``share = 0`` ignores the system, ``1/N`` an equal share."""

    def __init__(self, share: float = 0.0) -> None:
        super().__init__()
        self.share = require_number_in("share", share, 0.0, math.inf)

    def solve(self, problem: Any) -> torch.Tensor:
        res = nash_equilibrium(problem, self.share, types="true")
        self.evaluations = res.evaluations
        return res.x
