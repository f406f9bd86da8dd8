"""The registry of environment ids: ``make``, ``make_aec``, ``env_ids``, and ``register`` for your own.

Each built-in id maps to a scenario module of :mod:`mbi_envs.scenarios` (imported by name on
first use); :func:`register` adds a user's id with its ``builder(**kwargs) -> Scenario``. ``make``
splits keyword arguments into the env's common ones (``mode``, ``reward_mode``, ``max_steps``,
``render_mode``, ``private_share``, ``action_space``; ``max_cycles`` is accepted as PettingZoo's
name for ``max_steps``) and the builder's own, rejecting any other with a ``ValueError``.

Layering: this module imports :mod:`mbi_envs.env` and :mod:`mbi_envs.scenario`, never the other
way round; scenario modules import it for :func:`pettingzoo_constructors`.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from types import ModuleType
from typing import Any, Callable

import gymnasium as gym
from pettingzoo.utils.conversions import parallel_to_aec

from mechanism import InvalidParameterError

from .env import MechanismEnv
from .scenario import Scenario

__all__ = ["SCENARIO_MODULES", "GAME_MODULES", "COMMON_KWARGS", "game_ids", "env_ids", "builtin_env_ids",
           "user_env_ids", "make", "make_aec", "scenario_module", "scenario_kwargs", "builder", "build_scenario",
           "register", "unregister", "gym_id", "default_gym_id", "register_gym_id", "pettingzoo_constructors"]

SCENARIO_MODULES = (
    "assembly_line_v0", "symmetric_parallel_v0", "heterogeneous_parallel_v0", "coupled_resource_v0",
    "nonconvex_v0", "time_cost_v0", "effort_cost_v0", "hidden_cost_v0", "dynamic_target_v0",
    "economic_dispatch_v0", "supply_chain_v0",
)
COMMON_KWARGS = ("mode", "reward_mode", "max_steps", "render_mode", "private_share", "max_cycles", "action_space")
# Games that are not MechanismEnv scenarios: the module's own ``parallel_env(**kwargs)`` builds them
# (not in ``env_ids()``, whose tests and Gymnasium views assume a MechanismEnv).
GAME_MODULES = ("type_report_v0",)
ENV_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*_v[0-9]+")
GYM_ENTRY_POINT = "mbi_envs.gym_wrapper:CentralizedEnv"

_USER_BUILDERS: dict[str, Callable[..., Scenario]] = {}
_USER_GYM_IDS: dict[str, str] = {}


def builtin_env_ids() -> list[str]:
    """The ids of the built-in scenarios (the paper's Appendix C and the real problems)."""
    return list(SCENARIO_MODULES)


def user_env_ids() -> list[str]:
    """The ids added with :func:`register` in this process, in registration order."""
    return list(_USER_BUILDERS)


def env_ids() -> list[str]:
    """Every registered environment id: the built-ins, then the user's (:func:`register`)."""
    return builtin_env_ids() + user_env_ids()


def game_ids() -> list[str]:
    """Registered ids of games with their own env class (e.g. ``"type_report_v0"``)."""
    return list(GAME_MODULES)


def _unknown(env_id: Any) -> InvalidParameterError:
    return InvalidParameterError(f"unknown env_id {env_id!r}; registered ids: {', '.join(env_ids())}")


def scenario_module(env_id: str) -> ModuleType:
    """The scenario module registered under a built-in ``env_id`` (``ValueError`` for an unknown
    id, or for a user id, which has a builder but no module: see :func:`builder`)."""
    if env_id in _USER_BUILDERS:
        raise InvalidParameterError(f"{env_id!r} was added with mbi_envs.register and has no scenario module; "
                                    f"use mbi_envs.registry.builder({env_id!r})")
    if env_id not in SCENARIO_MODULES and env_id not in GAME_MODULES:
        raise _unknown(env_id)
    return importlib.import_module(f"mbi_envs.scenarios.{env_id}")


def builder(env_id: str) -> Callable[..., Scenario]:
    """The ``builder(**kwargs) -> Scenario`` of ``env_id`` (a scenario module's ``build`` or a
    registered user's builder)."""
    if env_id in _USER_BUILDERS:
        return _USER_BUILDERS[env_id]
    if env_id in GAME_MODULES:
        raise InvalidParameterError(f"{env_id!r} is a game with its own env class, not a Scenario builder")
    return scenario_module(env_id).build


def _parameters(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    return list(inspect.signature(fn).parameters.values())


def _takes_var_keyword(fn: Callable[..., Any]) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in _parameters(fn))


def scenario_kwargs(env_id: str) -> dict[str, Any]:
    """The scenario keyword arguments of ``env_id`` and their defaults (``inspect.Parameter.empty``
    for a required one)."""
    return {p.name: p.default for p in _parameters(builder(env_id)) if not p.name.startswith("_")
            and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}


def build_scenario(env_id: str, **kwargs: Any) -> Scenario:
    """``builder(env_id)(**kwargs)``, checked to be a :class:`~mbi_envs.Scenario` (``TypeError``
    naming the id otherwise); its ``name`` is set to ``env_id`` if the builder chose another."""
    fn = builder(env_id)
    scenario = fn(**kwargs)
    if not isinstance(scenario, Scenario):
        raise TypeError(f"the builder of {env_id!r} ({getattr(fn, '__qualname__', fn)!r}) returned "
                        f"{type(scenario).__name__}, not a mbi_envs.Scenario")
    if scenario.name != env_id:  # a user's builder (maybe registered twice): the env is named by its id
        scenario = dataclasses.replace(scenario, name=env_id)
    return scenario


def split_kwargs(env_id: str, kwargs: dict[str, Any], extra: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """``(scenario kwargs, the rest)`` of ``kwargs`` for ``env_id``; the rest may hold only
    :data:`COMMON_KWARGS` and ``extra`` (``ValueError`` naming the unknown ones)."""
    allowed = scenario_kwargs(env_id)
    other = set(COMMON_KWARGS) | set(extra)
    free = _takes_var_keyword(builder(env_id))
    unknown = sorted(k for k in kwargs if k not in allowed and k not in other and not free)
    if unknown:
        raise InvalidParameterError(f"{env_id}: unknown keyword argument(s) {unknown}; allowed: "
                                    f"{sorted(other) + sorted(allowed)}")
    own = {k: v for k, v in kwargs.items() if k in allowed or (free and k not in other)}
    return own, {k: v for k, v in kwargs.items() if k not in own}


def make(env_id: str, **kwargs: Any) -> MechanismEnv:
    """Build the ``ParallelEnv`` registered as ``env_id`` with common and scenario kwargs.

    The same env as ``mbi_envs.scenarios.<env_id>.parallel_env(**kwargs)`` (PettingZoo's module
    convention) for a built-in id."""
    if env_id in GAME_MODULES:
        return scenario_module(env_id).parallel_env(**kwargs)
    own, common = split_kwargs(env_id, kwargs)
    max_cycles = common.pop("max_cycles", None)
    if max_cycles is not None:
        if common.get("max_steps") not in (None, max_cycles):
            raise InvalidParameterError(f"{env_id}: max_cycles={max_cycles!r} and max_steps="
                                        f"{common['max_steps']!r} disagree (max_cycles is an alias of max_steps)")
        common["max_steps"] = max_cycles
    return MechanismEnv(build_scenario(env_id, **own), **common)


def make_aec(env_id: str, **kwargs: Any):
    """The PettingZoo AEC form of :func:`make` (``parallel_to_aec``)."""
    return parallel_to_aec(make(env_id, **kwargs))


# ---------------------------------------------------------------------------- Gymnasium ids
def default_gym_id(env_id: str) -> str:
    """The Gymnasium id :func:`register` gives ``env_id``: ``"public_goods_v0"`` ->
    ``"mbi_envs/PublicGoods-v0"``."""
    name, _, version = env_id.rpartition("_v")
    return f"mbi_envs/{''.join(w.capitalize() for w in name.split('_') if w)}-v{version}"


def gym_id(env_id: str) -> str:
    """The Gymnasium id of ``env_id`` (e.g. ``"mbi_envs/SymmetricParallel-v0"``)."""
    if env_id in _USER_GYM_IDS:
        return _USER_GYM_IDS[env_id]
    if env_id not in SCENARIO_MODULES:
        raise _unknown(env_id)
    return scenario_module(env_id).GYM_ID


def register_gym_id(gid: str, env_id: str, max_episode_steps: int | None) -> None:
    """Register ``gid`` with Gymnasium as the centralized view of ``env_id`` (no-op if present)."""
    if gid not in gym.registry:
        gym.register(id=gid, entry_point=GYM_ENTRY_POINT, kwargs={"env_id": env_id}, disable_env_checker=False,
                     max_episode_steps=max_episode_steps)


# ---------------------------------------------------------------------------- your own problem
def register(env_id: str, builder: Callable[..., Scenario], *, gym_id: str | None = None,
             overwrite: bool = False) -> str:
    """Register your own problem as ``env_id``; returns its Gymnasium id.

    Args:
        env_id: ``name_vN`` (lower case letters, digits and ``_``, then the version), e.g.
            ``"public_goods_v0"``; not a built-in id.
        builder: ``builder(**kwargs) -> Scenario``, the contract of a scenario module's
            ``build``: its keyword arguments are the env's scenario arguments (they may not reuse
            the common names ``mode``, ``reward_mode``, ``max_steps``, ...). Called at every
            ``make``; a result that is not a :class:`~mbi_envs.Scenario` raises ``TypeError``
            naming the id there. For envs that pickle, define it and the scenario's callables at
            module level.
        gym_id: the Gymnasium id of the centralized view (default :func:`default_gym_id`).
        overwrite: replace an id registered earlier with :func:`register` (built-ins are never
            replaced).

    After it, ``make``, ``make_aec``, ``make_vec``, ``gymnasium.make(gym_id)``, ``evaluate``,
    ``MBIPolicy`` and ``baselines.ppo.train_ppo`` accept ``env_id``, and ``env_ids()`` lists it.
    Registration lives in this process: a subprocess must import the module that registers
    (``gymnasium.make("your_module:" + gym_id)`` does that for Gymnasium).
    """
    if not isinstance(env_id, str) or not ENV_ID_PATTERN.fullmatch(env_id):
        raise InvalidParameterError(f"env_id must look like 'name_v0' (lower-case letters, digits and '_', "
                                    f"then _v and a version number), got {env_id!r}")
    if env_id in SCENARIO_MODULES or env_id in GAME_MODULES:
        raise InvalidParameterError(f"env_id {env_id!r} is a built-in id and cannot be replaced; choose another name")
    if env_id in _USER_BUILDERS and not overwrite:
        raise InvalidParameterError(f"env_id {env_id!r} is already registered (by "
                                    f"{getattr(_USER_BUILDERS[env_id], '__qualname__', '?')}); pass overwrite=True to replace it")
    if not callable(builder):
        raise InvalidParameterError(f"builder must be callable (builder(**kwargs) -> Scenario), got {builder!r}")
    try:
        params = _parameters(builder)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"builder {builder!r} has no inspectable signature (its keyword arguments "
                                    f"are the env's scenario arguments)") from None
    clash = sorted(p.name for p in params if p.name in COMMON_KWARGS)
    if clash:
        raise InvalidParameterError(f"builder of {env_id!r} has parameter(s) {clash}, which are the env's common "
                                    f"keyword arguments {list(COMMON_KWARGS)}; rename them")
    positional = [p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL)]
    if positional:
        raise InvalidParameterError(f"builder of {env_id!r} has positional-only parameter(s) {positional}; "
                                    f"make() passes scenario arguments by keyword")
    gid = default_gym_id(env_id) if gym_id is None else gym_id
    if not isinstance(gid, str) or not gid:
        raise InvalidParameterError(f"gym_id must be a non-empty string, got {gym_id!r}")
    ours = _USER_GYM_IDS.get(env_id) == gid
    if gid in gym.registry and not (ours and overwrite):
        raise InvalidParameterError(f"gym_id {gid!r} is already registered with Gymnasium; pass another gym_id=")
    try:
        gym.envs.registration.parse_env_id(gid)
    except gym.error.Error as exc:
        raise InvalidParameterError(f"gym_id {gid!r} is not a valid Gymnasium id: {exc}") from None
    if env_id in _USER_BUILDERS:
        unregister(env_id)
    # no max_episode_steps: the builder is not called before the first make (the env truncates
    # itself at the scenario's horizon, so Gymnasium's TimeLimit is not needed)
    gym.register(id=gid, entry_point=GYM_ENTRY_POINT, kwargs={"env_id": env_id}, disable_env_checker=False)
    _USER_BUILDERS[env_id], _USER_GYM_IDS[env_id] = builder, gid
    return gid


def unregister(env_id: str) -> None:
    """Remove an id added with :func:`register` (and its Gymnasium id); built-ins stay."""
    if env_id not in _USER_BUILDERS:
        raise InvalidParameterError(f"env_id {env_id!r} was not added with mbi_envs.register; "
                                    f"user ids: {user_env_ids()}")
    del _USER_BUILDERS[env_id]
    gym.registry.pop(_USER_GYM_IDS.pop(env_id), None)


# ---------------------------------------------------------------------------- PettingZoo's module convention
def pettingzoo_constructors(env_id: str) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """PettingZoo's module convention for the scenario module ``env_id``: ``parallel_env``,
    ``env`` and ``raw_env``, as in ``from pettingzoo.mpe import simple_spread_v3``.

    Each scenario module does ``parallel_env, env, raw_env = pettingzoo_constructors(ENV_ID)``:

    * ``parallel_env(max_cycles=None, **kwargs)``: the :class:`~mbi_envs.MechanismEnv`
      (``mbi_envs.make(env_id, **kwargs)``); ``max_cycles`` is PettingZoo's name for ``max_steps``.
    * ``raw_env(**same)``: its AEC form without wrappers (``parallel_to_aec_wrapper``).
    * ``env(**same)``: the AEC form with PettingZoo's ``OrderEnforcingWrapper``
      (what ``mbi_envs.make_aec`` returns).
    """
    from pettingzoo.utils.conversions import parallel_to_aec_wrapper
    from pettingzoo.utils.wrappers import OrderEnforcingWrapper

    def parallel_env(max_cycles: int | None = None, **kwargs: Any):
        return make(env_id, max_cycles=max_cycles, **kwargs)

    def raw_env(max_cycles: int | None = None, **kwargs: Any):
        return parallel_to_aec_wrapper(parallel_env(max_cycles=max_cycles, **kwargs))

    def env(max_cycles: int | None = None, **kwargs: Any):
        return OrderEnforcingWrapper(raw_env(max_cycles=max_cycles, **kwargs))

    for fn, what in ((parallel_env, "the PettingZoo ParallelEnv"), (raw_env, "the unwrapped AEC env"),
                     (env, "the AEC env (order-enforcing)")):
        fn.__qualname__ = fn.__name__
        fn.__module__ = f"mbi_envs.scenarios.{env_id}"
        fn.__doc__ = (f"{what} of ``{env_id}``; ``max_cycles`` is an alias of ``max_steps``, other "
                      f"keyword arguments as for ``mbi_envs.make({env_id!r}, ...)``.")
    return parallel_env, env, raw_env
