"""The registry of environment ids: ``make``, ``make_aec``, ``env_ids``.

Each id maps to a scenario module of :mod:`mbi_envs.scenarios`; ``make`` splits keyword
arguments into the env's common ones (``mode``, ``reward_mode``, ``max_steps``, ``render_mode``,
``private_share``, ``action_space``; ``max_cycles`` is accepted as PettingZoo's name for ``max_steps``) and the
scenario's own, rejecting any other with a ``ValueError``.
"""
from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec

from mechanism import InvalidParameterError

from .env import MechanismEnv

__all__ = ["SCENARIO_MODULES", "GAME_MODULES", "game_ids", "env_ids", "make", "make_aec", "scenario_module", "scenario_kwargs"]

SCENARIO_MODULES = (
    "assembly_line_v0", "symmetric_parallel_v0", "heterogeneous_parallel_v0", "coupled_resource_v0",
    "nonconvex_v0", "time_cost_v0", "effort_cost_v0", "hidden_cost_v0", "dynamic_target_v0",
    "economic_dispatch_v0", "supply_chain_v0",
)
COMMON_KWARGS = ("mode", "reward_mode", "max_steps", "render_mode", "private_share", "max_cycles", "action_space")
# Games that are not MechanismEnv scenarios: the module's own ``parallel_env(**kwargs)`` builds them
# (not in ``env_ids()``, whose tests and Gymnasium views assume a MechanismEnv).
GAME_MODULES = ("type_report_v0",)


def env_ids() -> list[str]:
    """Every registered environment id, e.g. ``"symmetric_parallel_v0"``."""
    return list(SCENARIO_MODULES)


def game_ids() -> list[str]:
    """Registered ids of games with their own env class (e.g. ``"type_report_v0"``)."""
    return list(GAME_MODULES)


def scenario_module(env_id: str) -> ModuleType:
    """The scenario module registered under ``env_id`` (``ValueError`` for an unknown id)."""
    if env_id not in SCENARIO_MODULES and env_id not in GAME_MODULES:
        raise InvalidParameterError(f"unknown env_id {env_id!r}; registered ids: {', '.join(SCENARIO_MODULES)}")
    return importlib.import_module(f"mbi_envs.scenarios.{env_id}")


def scenario_kwargs(env_id: str) -> dict[str, Any]:
    """The scenario keyword arguments of ``env_id`` and their defaults."""
    params = inspect.signature(scenario_module(env_id).build).parameters
    return {k: p.default for k, p in params.items() if not k.startswith("_")}


def make(env_id: str, **kwargs: Any) -> MechanismEnv:
    """Build the ``ParallelEnv`` registered as ``env_id`` with common and scenario kwargs.

    The same env as ``mbi_envs.scenarios.<env_id>.parallel_env(**kwargs)`` (PettingZoo's module
    convention)."""
    if env_id in GAME_MODULES:
        return scenario_module(env_id).parallel_env(**kwargs)
    allowed = scenario_kwargs(env_id)
    unknown = sorted(k for k in kwargs if k not in allowed and k not in COMMON_KWARGS)
    if unknown:
        raise InvalidParameterError(f"{env_id}: unknown keyword argument(s) {unknown}; allowed: "
                                    f"{sorted(COMMON_KWARGS) + sorted(allowed)}")
    common = {k: kwargs[k] for k in COMMON_KWARGS if k in kwargs}
    max_cycles = common.pop("max_cycles", None)
    if max_cycles is not None:
        if common.get("max_steps") not in (None, max_cycles):
            raise InvalidParameterError(f"{env_id}: max_cycles={max_cycles!r} and max_steps="
                                        f"{common['max_steps']!r} disagree (max_cycles is an alias of max_steps)")
        common["max_steps"] = max_cycles
    scenario = scenario_module(env_id).build(**{k: v for k, v in kwargs.items() if k in allowed})
    return MechanismEnv(scenario, **common)


def make_aec(env_id: str, **kwargs: Any):
    """The PettingZoo AEC form of :func:`make` (``parallel_to_aec``)."""
    return parallel_to_aec(make(env_id, **kwargs))
