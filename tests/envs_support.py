"""Shared helpers for the mbi_envs tests: small instances of every registered id."""
from __future__ import annotations

import mbi_envs

SMALL = {"symmetric_parallel_v0": {"n_agents": 4}, "heterogeneous_parallel_v0": {"n_agents": 4}}


def small_kwargs(env_id: str) -> dict:
    """Scenario kwargs that keep the API tests fast (N <= 5)."""
    return dict(SMALL.get(env_id, {}))


def small_env(env_id: str, **kwargs):
    """A small instance of ``env_id`` with a short horizon (one-shot envs have horizon 1)."""
    horizon = {} if kwargs.get("mode") == "one_shot" else {"max_steps": 15}
    return mbi_envs.make(env_id, **{**horizon, **small_kwargs(env_id), **kwargs})
