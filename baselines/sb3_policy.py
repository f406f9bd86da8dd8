"""Adapter: a Stable-Baselines3 model as an ``mbi_envs`` policy (``reset`` / ``act``)."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["SB3Policy"]


class SB3Policy:
    """Acts for every agent with one shared SB3 model, from each agent's own observation.

    ``act`` stacks the observations in agent order, calls ``model.predict`` once and returns
    one action per agent. ``deterministic=True`` uses the policy's mean action.
    """

    def __init__(self, model: Any, deterministic: bool = True) -> None:
        self.model, self.deterministic = model, deterministic

    def reset(self, env: Any, seed: int | None = None) -> None:
        """Nothing to reset (the model is stateless); kept for the policy interface."""

    def act(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One action per agent, shape of the action space."""
        agents = list(observations)
        batch = np.stack([np.asarray(observations[a]) for a in agents])
        actions, _ = self.model.predict(batch, deterministic=self.deterministic)
        return {agent: actions[k] for k, agent in enumerate(agents)}
