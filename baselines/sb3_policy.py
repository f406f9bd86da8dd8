"""Adapter: a Stable-Baselines3 model as an ``mbi_envs`` policy (``reset`` / ``act``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from mechanism import InvalidParameterError
from mbi_envs.policies import check_spaces_match

__all__ = ["SB3Policy", "TRAINED_ON", "trained_on"]

#: the model attribute where :func:`baselines.ppo.train_ppo` records what it trained on
#: (``{"env_id": ..., "n_agents": ...}``); SB3's ``save``/``load`` keep it (it is in the model's
#: ``__dict__``, saved as JSON in ``model.zip``)
TRAINED_ON = "mbi_trained_on"


def trained_on(model: Any) -> dict[str, Any]:
    """What ``model`` records it was trained on (``env_id``, ``n_agents``), or ``{}`` for a
    model built elsewhere (then only its spaces are compared)."""
    record = getattr(model, TRAINED_ON, None)
    return dict(record) if isinstance(record, dict) else {}


def _obs_dims(env: Any) -> dict[str, int]:
    """Observation length of each mode of ``env``'s scenario: iterative ``2d + k + 2``, one-shot ``k + 1``."""
    k = len(env.observation_layout) - (2 * env.action_dim + 2 if env.mode == "iterative" else 1)
    return {"iterative": 2 * env.action_dim + k + 2, "one_shot": k + 1}


class SB3Policy:
    """Acts for every agent with one shared SB3 model, from each agent's own observation.

    ``act`` stacks the observations in agent order, calls ``model.predict`` once and returns
    one action per agent. ``deterministic=True`` uses the policy's mean action. ``reset``
    checks that the model fits the env: a model trained in one mode (e.g. ``one_shot``, whose
    observations are shorter) raises ``ValueError`` naming both modes on an env of the other;
    a model trained on :func:`mbi_envs.wrappers.float32_view` (actions in ``[-1, 1]``) raises
    one naming the view on the raw env (wrap the env, or use the model on the view). A model
    that records the env id and agent count it was trained on (:data:`TRAINED_ON`, set by
    :func:`baselines.ppo.train_ppo`) raises one naming both ids and both counts on an env of
    another id or another N; any model raises one naming both spaces when its observation box
    (shape, dtype, bounds) differs from the env's. :func:`mbi_envs.evaluate` runs these checks
    (:meth:`check_env`) before it resets the env.
    """

    def __init__(self, model: Any, deterministic: bool = True) -> None:
        if not (hasattr(model, "predict") and hasattr(model, "observation_space") and hasattr(model, "action_space")):
            raise InvalidParameterError(f"model must be a Stable-Baselines3 model (predict, observation_space, "
                                        f"action_space), got {type(model).__name__}")
        if not isinstance(deterministic, (bool, np.bool_)):
            raise InvalidParameterError(f"deterministic must be True or False, got {deterministic!r}")
        self.model, self.deterministic = model, bool(deterministic)

    def reset(self, env: Any, seed: int | None = None) -> None:
        """Check the model against ``env`` (:meth:`check_env`); the model itself is stateless."""
        self.check_env(env)

    def check_env(self, env: Any) -> None:
        """Raise ``ValueError`` naming both sides unless the model fits ``env`` (see the class docstring)."""
        record = trained_on(self.model)
        if record:
            check_spaces_match(env, "the SB3 model", env_id=record.get("env_id"), n_agents=record.get("n_agents"),
                               made="was trained on")
        agent = env.possible_agents[0]
        want, got = tuple(self.model.observation_space.shape), tuple(env.observation_space(agent).shape)
        if want != got:
            modes = [m for m, dim in _obs_dims(env).items() if (dim,) == want] if hasattr(env, "mode") else []
            trained = f"mode={modes[0]!r}" if modes else "another env"
            current = f"mode={env.mode!r}" if hasattr(env, "mode") else "this env"
            raise InvalidParameterError(
                f"the SB3 model was trained on {trained} (observations of shape {want}) but the env is "
                f"{current} (observations of shape {got}); evaluate it on an env made with the mode it "
                f"was trained in" + (f", e.g. mbi_envs.make(..., mode={modes[0]!r})" if modes else ""))
        space = env.action_space(agent)
        low, high = self.model.action_space.low, self.model.action_space.high
        if low.shape != space.low.shape or not (np.allclose(low, space.low) and np.allclose(high, space.high)):
            hint = (" (it was trained on mbi_envs.wrappers.float32_view: wrap the env the same way)"
                    if np.all(low == -1) and np.all(high == 1) else "")
            raise InvalidParameterError(f"the SB3 model's action space [{low}, {high}] does not match the env's "
                                        f"[{space.low}, {space.high}]{hint}")
        check_spaces_match(env, "the SB3 model", observation_space=self.model.observation_space,
                           action_space=self.model.action_space)

    def act(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One action per agent, shape of the action space."""
        agents = list(observations)
        batch = np.stack([np.asarray(observations[a]) for a in agents])
        actions, _ = self.model.predict(batch, deterministic=self.deterministic)
        return {agent: actions[k] for k, agent in enumerate(agents)}
