"""Third-party tools run unchanged on every id: pickle, PettingZoo's module convention and test
utilities (max_cycles_test, render_test), TorchRL's PettingZooWrapper, Gymnasium specs and
registration, SuperSuit's normalize_obs_v0, SB3's checker on the float32 view."""
from __future__ import annotations

import functools
import importlib
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from pettingzoo.test import max_cycles_test, parallel_api_test, render_test

import mbi_envs
from mechanism import incentives
from envs_support import small_kwargs
from mbi_envs.wrappers import float32_view

IDS = mbi_envs.env_ids()
MODES = ["iterative", "one_shot"]
# G_i = π − F_i'(P_i) carries the Planner's multiplier μ, which the Planner moves without an a
# priori bound: no finite incentive bound (documented in docs/ecosystem.md)
UNBOUNDED_G = {"economic_dispatch_v0"}


def _module(env_id):
    return importlib.import_module(f"mbi_envs.scenarios.{env_id}")


def _kwargs(env_id, mode):
    return {"mode": mode, **({"max_steps": 6} if mode == "iterative" else {}), **small_kwargs(env_id)}


def _random_actions(env, rng):
    return {a: rng.uniform(env.action_space(a).low, env.action_space(a).high) for a in env.agents}


# ---------------------------------------------------------------- pickle
def _parallel_steps(env, seed, n=3):
    rng = np.random.default_rng(seed)
    out = []
    while env.agents and len(out) < n:
        out.append(env.step(_random_actions(env, rng)))
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", IDS)
def test_pickle_round_trip_parallel_then_identical_steps(env_id, mode):
    env = mbi_envs.make(env_id, **_kwargs(env_id, mode))
    env.reset(seed=3)
    if mode == "iterative":  # pickle mid-episode
        env.step(_random_actions(env, np.random.default_rng(0)))
    clone = pickle.loads(pickle.dumps(env))
    assert clone is not env and clone.t == env.t and clone.agents == env.agents
    np.testing.assert_equal(_parallel_steps(clone, 1), _parallel_steps(env, 1))
    np.testing.assert_equal(clone.reset(seed=9), env.reset(seed=9))


def _aec_trace(env, seed, n=8):
    rng = np.random.default_rng(seed)
    out = []
    for agent in env.agent_iter(n):
        obs, reward, term, trunc, info = env.last()
        out.append((agent, obs, reward, term, trunc, info))
        space = env.action_space(agent)
        env.step(None if term or trunc else rng.uniform(space.low, space.high))
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", IDS)
def test_pickle_round_trip_aec_then_identical_steps(env_id, mode):
    env = mbi_envs.make_aec(env_id, **_kwargs(env_id, mode))
    env.reset(seed=4)
    clone = pickle.loads(pickle.dumps(env))
    np.testing.assert_equal(_aec_trace(clone, 2), _aec_trace(env, 2))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", IDS)
def test_pickle_round_trip_gymnasium_then_identical_steps(env_id, mode):
    env = gym.make(mbi_envs.gym_id(env_id), **_kwargs(env_id, mode))
    env.reset(seed=5)
    clone = pickle.loads(pickle.dumps(env))
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    for _ in range(2 if mode == "iterative" else 1):
        a = rng_a.uniform(env.action_space.low, env.action_space.high)
        b = rng_b.uniform(env.action_space.low, env.action_space.high)
        np.testing.assert_equal(clone.step(b), env.step(a))


@pytest.mark.slow  # a fresh interpreter / every committed figure: 6-7 s
def test_fresh_interpreter_gym_prefix_and_pickled_env():
    """In a fresh interpreter: ``gym.make("mbi_envs:...")`` works without importing mbi_envs, and a
    pickled env loads and carries on (what ``multiprocessing.Queue.put(env)`` needs)."""
    env = mbi_envs.make("heterogeneous_parallel_v0", max_steps=4)
    env.reset(seed=0)
    code = ("import gymnasium as gym, pickle, sys\n"
            "genv = gym.make('mbi_envs:mbi_envs/SymmetricParallel-v0', n_agents=3)\n"
            "print(genv.reset(seed=0)[0].shape, genv.spec.max_episode_steps)\n"
            "env = pickle.load(sys.stdin.buffer)\n"
            "print(env.t, env.global_loss.hex())\n")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(env), capture_output=True,
                         check=True, cwd=".").stdout.decode().splitlines()
    assert out == ["(15,) 100000", f"0 {env.global_loss.hex()}"]


# ---------------------------------------------------------------- PettingZoo module convention
@pytest.mark.parametrize("env_id", IDS)
def test_module_convention_and_max_cycles_test(env_id):
    mod = _module(env_id)
    par = mod.parallel_env(max_cycles=7, **small_kwargs(env_id))
    assert isinstance(par, mbi_envs.MechanismEnv) and par.max_steps == 7
    assert type(mod.raw_env()).__name__ == "parallel_to_aec_wrapper"
    assert type(mod.env()).__name__ == "OrderEnforcingWrapper"
    assert mod.env().unwrapped.max_steps == mod.build().max_steps  # default horizon
    max_cycles_test(mod)


def _render_test_both_modes(env_id, capsys):
    mod = _module(env_id)
    assert mod.env().metadata["render_modes"] == ["human", "ansi", "rgb_array"]
    for mode in MODES:
        render_test(functools.partial(mod.env, mode=mode, **small_kwargs(env_id)))
    assert env_id in capsys.readouterr().out  # "human" printed the table


def test_render_test_in_every_declared_mode(capsys):
    _render_test_both_modes("assembly_line_v0", capsys)


@pytest.mark.slow  # 20 matplotlib frames per id; the rendering code is the same for every id
@pytest.mark.parametrize("env_id", [i for i in IDS if i != "assembly_line_v0"])
def test_render_test_in_every_declared_mode_every_id(env_id, capsys):
    _render_test_both_modes(env_id, capsys)


# ---------------------------------------------------------------- TorchRL
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", IDS)
def test_reset_infos_carry_the_step_info_keys(env_id, mode):
    """TorchRL builds its info spec from the reset infos: the keys (and shapes) must match step's."""
    env = mbi_envs.make(env_id, **_kwargs(env_id, mode))
    _, reset_infos = env.reset(seed=0)
    *_, step_infos = env.step(_random_actions(env, np.random.default_rng(0)))
    for agent, info in step_infos.items():
        assert sorted(reset_infos[agent]) == sorted(info)
        assert all(np.shape(reset_infos[agent][k]) == np.shape(v) for k, v in info.items())


@pytest.mark.filterwarnings("ignore:PettingZoo in TorchRL is tested using version")  # TorchRL's version notice
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", IDS)
def test_torchrl_pettingzoo_wrapper(env_id, mode):
    pytest.importorskip("torchrl")
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    env = mbi_envs.make(env_id, **_kwargs(env_id, mode))
    wrapped = PettingZooWrapper(env, categorical_actions=False, seed=0)
    rollout = wrapped.rollout(3)
    assert rollout.batch_size == torch.Size([1 if mode == "one_shot" else 3])
    group = next(iter(wrapped.group_map))
    loss = rollout["next", group, "info", "global_loss"][-1]
    assert torch.allclose(loss, torch.full_like(loss, env.global_loss), rtol=1e-6)  # float32 info spec
    assert rollout["next", group, "observation"].shape[1] == env.n_agents


# ---------------------------------------------------------------- Gymnasium specs and registration
@pytest.mark.parametrize("env_id", IDS)
def test_gym_spec_has_max_episode_steps(env_id):
    assert gym.spec(mbi_envs.gym_id(env_id)).max_episode_steps == _module(env_id).build().max_steps


def test_gym_time_limit_truncates_at_the_spec_and_at_an_override():
    env = gym.make("mbi_envs/AssemblyLine-v0")
    env.reset(seed=0)
    steps, truncated = 0, False
    while not truncated:
        *_, truncated, _ = env.step(np.zeros(2))
        steps += 1
    assert steps == 200
    short = gym.make("mbi_envs/AssemblyLine-v0", max_episode_steps=3)
    short.reset(seed=0)
    assert [short.step(np.zeros(2))[3] for _ in range(3)] == [False, False, True]


# ---------------------------------------------------------------- bounds, float32 view, SuperSuit, SB3
@pytest.mark.parametrize("env_id", IDS)
def test_observation_bounds_finite_and_hold_on_random_rollouts(env_id):
    env = mbi_envs.make(env_id, max_steps=30, **small_kwargs(env_id))
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    finite = np.array([not (env_id in UNBOUNDED_G and name.startswith("G")) for name in env.observation_layout])
    for a in env.possible_agents:
        space = env.observation_space(a)
        assert (np.isfinite(space.low) == finite).all() and (np.isfinite(space.high) == finite).all()
    while env.agents:
        assert all(env.observation_space(a).contains(o) for a, o in obs.items())
        # the box corners are the extreme actions, where the incentive bound is attained
        actions = {a: (env.action_space(a).low if rng.random() < 0.5 else env.action_space(a).high)
                   for a in env.agents} if rng.random() < 0.5 else _random_actions(env, rng)
        obs, *_ = env.step(actions)


@pytest.mark.parametrize("env_id", ["symmetric_parallel_v0", "heterogeneous_parallel_v0", "assembly_line_v0",
                                    "coupled_resource_v0"])
def test_incentive_bound_is_attained_at_a_vertex(env_id):
    """For the quadratic families the stated bound is the exact maximum (a 10% looser or tighter
    bound fails): G is affine, so its extreme over the box sits at a vertex."""
    env = mbi_envs.make(env_id, **small_kwargs(env_id))
    low, high = env.action_low, env.action_high
    bound = env._g_bound
    n = env.n_agents
    best = np.zeros_like(bound)
    for mask in range(2 ** n):
        X = np.where(((mask >> np.arange(n)) & 1).astype(bool)[:, None], high, low)
        G = incentives(env.problem, torch.from_numpy(X).reshape(1, n, 1)).G[0].numpy()
        best = np.maximum(best, np.abs(G))
    np.testing.assert_allclose(best, bound, rtol=2e-9)  # the env widens by 1e-9 for rounding


@pytest.mark.parametrize("mode", MODES)
def test_float32_view_maps_unit_actions_onto_the_box_and_passes_the_api(mode):
    base = mbi_envs.make("heterogeneous_parallel_v0", **_kwargs("heterogeneous_parallel_v0", mode))
    view = float32_view(base)
    parallel_api_test(view, num_cycles=5)
    obs, _ = view.reset(seed=0)
    assert all(o.dtype == np.float32 and view.observation_space(a).contains(o) for a, o in obs.items())
    assert view.action_space("agent_0") == gym.spaces.Box(-1, 1, (1,), np.float32)
    view.step({a: np.array([-1.0 if i % 2 else 1.0], np.float32) for i, a in enumerate(view.agents)})
    expected = np.where((np.arange(base.n_agents) % 2)[:, None] == 1, base.action_low, base.action_high)
    np.testing.assert_array_equal(base.X, expected)


@pytest.mark.parametrize("env_id", IDS)
def test_supersuit_vector_conversion_sees_one_space(env_id):
    """Every agent has the same observation box; SuperSuit's pettingzoo_env_to_vec_env_v1 (which
    also wants one action space: the float32 view's [-1, 1], as units' boxes differ) accepts it."""
    import supersuit as ss

    env = mbi_envs.make(env_id, max_steps=5, **small_kwargs(env_id))
    assert len({(tuple(env.observation_space(a).low), tuple(env.observation_space(a).high))
                for a in env.possible_agents}) == 1
    vec = ss.pettingzoo_env_to_vec_env_v1(float32_view(env))
    assert vec.num_envs == env.n_agents
    assert np.isfinite(vec.observation_space.high).all() or env_id in UNBOUNDED_G


def test_supersuit_normalize_obs_accepts_the_envs():
    import supersuit as ss

    env = ss.normalize_obs_v0(float32_view(mbi_envs.make("symmetric_parallel_v0", n_agents=4, max_steps=5)))
    obs, _ = env.reset(seed=0)
    rows = np.stack(list(obs.values()))
    assert rows.dtype == np.float32 and (rows >= 0).all() and (rows <= 1).all()
    raw = ss.normalize_obs_v0(mbi_envs.make("heterogeneous_parallel_v0", max_steps=5))  # the float64 env too
    assert all(((o >= 0) & (o <= 1)).all() for o in raw.reset(seed=0)[0].values())


def test_sb3_checker_is_silent_on_the_float32_gym_view():
    from stable_baselines3.common.env_checker import check_env

    view = float32_view(gym.make("mbi_envs/SymmetricParallel-v0", n_agents=4, max_steps=5))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(view)
        from stable_baselines3 import PPO
        PPO("MlpPolicy", view, n_steps=16, batch_size=16, n_epochs=1, seed=0, device="cpu").learn(32)
    assert [str(w.message) for w in caught] == []
    obs, _ = view.reset(seed=0)
    assert obs.dtype == np.float32 and view.observation_space.contains(obs)


@settings(max_examples=50, deadline=None)
@given(a=st.lists(st.floats(-3, 3), min_size=3, max_size=3),
       low=st.lists(st.floats(-50, 50), min_size=3, max_size=3),
       width=st.lists(st.floats(1e-3, 100), min_size=3, max_size=3))
def test_from_unit_is_the_affine_map_onto_the_box(a, low, width):
    from mbi_envs.wrappers import from_unit

    lo, hi = np.array(low), np.array(low) + np.array(width)
    x = from_unit(np.array(a), lo, hi)
    clipped = np.clip(a, -1, 1)
    assert ((x >= lo) & (x <= hi)).all()
    np.testing.assert_allclose(x, lo + (clipped + 1) / 2 * (hi - lo), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(from_unit(-np.ones(3), lo, hi), lo)


def test_gym_render_human_prints_and_returns_none(capsys):
    env = gym.make("mbi_envs/AssemblyLine-v0", render_mode="human")
    env.reset(seed=0)
    env.step(np.zeros(2))
    assert env.render() is None
    assert "assembly_line_v0  mode=iterative  t=1/200" in capsys.readouterr().out
