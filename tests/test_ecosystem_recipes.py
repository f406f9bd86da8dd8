"""Each library's own recipe, run as that library's users run it (issue 18): PettingZoo's seed
tests and global state, RLlib's ``render(mode)`` call, SuperSuit's standard vector pipeline with
SB3, TorchRL's ``PettingZooWrapper`` and its multi-agent PPO tutorial, Gymnasium's ``check_env``
on the float32 view, and SuperSuit's ``agent_indicator_v0`` bug with its workaround. The
BenchMARL task has its own module (``tests/test_benchmarl_task.py``, skipped without benchmarl)."""
from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from pettingzoo.test import parallel_seed_test, seed_test

import mbi_envs
from envs_support import small_kwargs
from mechanism import GradientAgents, InvalidParameterError

IDS = mbi_envs.env_ids()
MODES = ["iterative", "one_shot"]
PER_AGENT_BOXES = ["economic_dispatch_v0", "supply_chain_v0"]  # agents' action boxes differ


def _kwargs(env_id, mode, **extra):
    return {"mode": mode, **({"max_steps": 6} if mode == "iterative" else {}), **small_kwargs(env_id), **extra}


# ---------------------------------------------------------------- PettingZoo: seed tests, state, render
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", IDS)
def test_pettingzoo_seed_test_on_the_aec_form(env_id, mode):
    """Catches NaN placeholders in the one-shot reset infos (NaN != NaN in data_equivalence)."""
    seed_test(lambda: mbi_envs.make_aec(env_id, **_kwargs(env_id, mode)), num_cycles=10)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", PER_AGENT_BOXES + ["symmetric_parallel_v0"])
def test_pettingzoo_seed_tests_with_normalized_actions(env_id, mode):
    kwargs = _kwargs(env_id, mode, action_space="normalized")
    seed_test(lambda: mbi_envs.make_aec(env_id, **kwargs), num_cycles=10)
    parallel_seed_test(lambda: mbi_envs.make(env_id, **kwargs), num_cycles=10)


def test_one_shot_reset_infos_are_finite_placeholders_with_the_step_keys():
    env = mbi_envs.make("economic_dispatch_v0", mode="one_shot")  # has extra infos (price, ...)
    _, reset_infos = env.reset(seed=0)
    *_, step_infos = env.step({a: env.action_space(a).sample() for a in env.agents})
    for agent, info in reset_infos.items():
        assert sorted(info) == sorted(step_infos[agent]) and info["submitted"] is False
        assert all(np.isfinite(v).all() for k, v in info.items() if k != "submitted"), info
        assert step_infos[agent]["submitted"] is True


def _walk_states(env, seed=0):
    """Every state of a seeded random episode (reset included)."""
    env.reset(seed=seed)
    for a in env.possible_agents:
        env.action_space(a).seed(seed)
    states = [env.state()]
    while env.agents:
        env.step({a: env.action_space(a).sample() for a in env.agents})
        states.append(env.state())
    return states


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", IDS)
def test_state_has_the_declared_shape_and_stays_inside_state_space(env_id, mode):
    env = mbi_envs.make(env_id, **_kwargs(env_id, mode))
    assert env.state_space.shape == (len(env.state_layout),)
    for state in _walk_states(env):
        assert state.shape == env.state_space.shape and state.dtype == np.float64
        assert env.state_space.contains(state), state
    aec = mbi_envs.make_aec(env_id, **_kwargs(env_id, mode))  # PettingZoo's conversion passes it on
    aec.reset(seed=0)
    assert aec.state_space == env.state_space and aec.state().shape == env.state_space.shape


def test_state_holds_every_action_incentive_and_the_planners_public_data():
    """A wrong order, a missing agent or a stale public entry fails here."""
    env = mbi_envs.make("economic_dispatch_v0", max_steps=5)
    env.reset(seed=1)
    _, _, _, _, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
    state, n, names = env.state(), env.n_agents, env.state_layout
    np.testing.assert_array_equal(state[:n], env.X.ravel())
    np.testing.assert_array_equal(state[n:2 * n], np.concatenate([infos[a]["incentive"] for a in env.possible_agents]))
    for key in ("system_marginal_price", "multiplier", "balance_mw", "generation_cost"):
        assert state[names.index(key)] == infos["agent_0"][key]
    assert names[0] == "x[agent_0]" and state[names.index("progress")] == 1 / 5
    one_shot = mbi_envs.make("economic_dispatch_v0", mode="one_shot")
    one_shot.reset(seed=0)
    before = one_shot.state()
    assert (before[n:] == 0).all() and one_shot.state_space.contains(before)  # G, public and t/T are 0
    one_shot.step({a: one_shot.action_space(a).high for a in one_shot.agents})
    assert one_shot.state()[names.index("progress")] == 1.0


def test_render_takes_the_mode_rllib_passes(capsys):
    """RLlib's PettingZoo wrappers call ``env.render(mode)``; a one-argument render() raises TypeError."""
    env = mbi_envs.make("assembly_line_v0", max_steps=3)  # render_mode=None
    env.reset(seed=0)
    assert "assembly_line_v0" in env.render("ansi")
    assert env.render("rgb_array").shape[-1] == 3 and env.render("human") is None
    assert "assembly_line_v0" in capsys.readouterr().out
    with pytest.raises(ValueError, match="'text'"):
        env.render("text")


# ---------------------------------------------------------------- one action box for all agents
@pytest.mark.parametrize("env_id", PER_AGENT_BOXES)
def test_normalized_actions_map_onto_each_agents_own_box(env_id):
    native = mbi_envs.make(env_id, max_steps=3)
    env = mbi_envs.make(env_id, max_steps=3, action_space="normalized")
    assert len({(tuple(native.action_space(a).low), tuple(native.action_space(a).high))
                for a in native.possible_agents}) > 1  # the reason for the option
    assert all(env.action_space(a) == gym.spaces.Box(-1, 1, (env.action_dim,), np.float64)
               for a in env.possible_agents)
    obs, _ = env.reset(seed=0)
    low, high = env.action_low, env.action_high
    d = env.action_dim
    for i, a in enumerate(env.possible_agents):  # the observation ends with the agent's own box
        np.testing.assert_array_equal(obs[a][-2 * d:], np.concatenate([low[i], high[i]]))
        assert env.observation_space(a) == env.observation_space("agent_0") and env.observation_space(a).contains(obs[a])
    assert env.observation_layout[-2 * d:][0].startswith("action_low")
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, (env.n_agents, d))
    u[0], u[1] = -1.0, 5.0  # a corner, and a value outside [-1, 1] (clipped to 1)
    env.step({a: u[i] for i, a in enumerate(env.agents)})
    expected = low + (np.clip(u, -1, 1) + 1) / 2 * (high - low)
    np.testing.assert_allclose(env.X, expected, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(env.X[0], low[0]) and np.testing.assert_array_equal(env.X[1], high[1])


def test_normalized_env_equals_the_native_env_stepped_with_the_mapped_actions():
    native = mbi_envs.make("supply_chain_v0", max_steps=4)
    env = mbi_envs.make("supply_chain_v0", max_steps=4, action_space="normalized")
    native.reset(seed=3), env.reset(seed=3)
    rng = np.random.default_rng(1)
    for _ in range(4):
        u = {a: rng.uniform(-1, 1, env.action_dim) for a in env.agents}
        x = {a: env.action_low[i] + (u[a] + 1) / 2 * (env.action_high[i] - env.action_low[i])
             for i, a in enumerate(env.possible_agents)}
        _, r_n, *_ = native.step(x)
        _, r, *_ = env.step(u)
        np.testing.assert_allclose([r[a] for a in env.possible_agents], [r_n[a] for a in env.possible_agents], rtol=1e-10)


def test_bad_action_space_option_and_mbi_policy_on_normalized_env_are_clear_errors():
    with pytest.raises(ValueError, match="action_space.*'unit'"):
        mbi_envs.make("supply_chain_v0", action_space="unit")
    with pytest.raises(ValueError, match="make_vec supports only action_space='native'"):
        mbi_envs.make_vec("supply_chain_v0", num_envs=2, action_space="normalized")
    env = mbi_envs.make("supply_chain_v0", action_space="normalized")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="normalized"):
        mbi_envs.MBIPolicy(GradientAgents(0.01)).reset(env)
    with pytest.raises(ValueError, match="normalized"):
        mbi_envs.ConstantPolicy(1.0).reset(env)


# ---------------------------------------------------------------- SuperSuit's standard pipeline with SB3
def _supersuit_sb3_pipeline(env_id, learn):
    import supersuit as ss
    from stable_baselines3 import PPO

    env = mbi_envs.make(env_id, **_kwargs(env_id, "iterative", action_space="normalized"))
    vec = ss.concat_vec_envs_v1(ss.pettingzoo_env_to_vec_env_v1(env), 2, num_cpus=0, base_class="stable_baselines3")
    assert vec.num_envs == 2 * env.n_agents
    if env_id in PER_AGENT_BOXES:  # the reason for the option
        with pytest.raises(AssertionError, match="action spaces not consistent"):
            ss.pettingzoo_env_to_vec_env_v1(mbi_envs.make(env_id, **_kwargs(env_id, "iterative")))
    if learn:
        model = PPO("MlpPolicy", vec, n_steps=8, batch_size=8 * vec.num_envs, n_epochs=1, device="cpu")
        model.learn(8 * vec.num_envs)  # SB3's n_steps is per vector entry (here per agent copy)
        assert model.num_timesteps == 8 * vec.num_envs
    else:
        vec.reset()
        vec.step(np.zeros((vec.num_envs, env.action_dim), np.float32))


@pytest.mark.parametrize("env_id", IDS)
def test_supersuit_vec_env_pipeline_accepts_every_id_normalized(env_id):
    """SuperSuit's documented recipe, pettingzoo_env_to_vec_env_v1 + concat_vec_envs_v1 (SB3 base
    class): native boxes of dispatch and supply chain fail the conversion ("action spaces not
    consistent"); normalized ones pass, for every id."""
    _supersuit_sb3_pipeline(env_id, learn=env_id == "supply_chain_v0")


@pytest.mark.slow  # one SB3 PPO rollout and update per id: ~5 s each on a shared machine
@pytest.mark.parametrize("env_id", [i for i in IDS if i != "supply_chain_v0"])
def test_supersuit_vec_env_pipeline_trains_sb3_ppo_on_every_id(env_id):
    """The same pipeline into SB3's PPO (no PPO(seed=): ConcatVecEnv breaks SB3's seeding)."""
    _supersuit_sb3_pipeline(env_id, learn=True)


# ---------------------------------------------------------------- TorchRL
@pytest.mark.filterwarnings("ignore:PettingZoo in TorchRL is tested using version")
@pytest.mark.parametrize("env_id", PER_AGENT_BOXES)
def test_torchrl_pettingzoo_wrapper_reads_one_action_box_with_normalized_actions(env_id):
    """The tutorial reads ``spec.space.low``: per-agent native boxes raise NotImplementedError
    in TorchRL's stacked spec; the normalized option gives one box."""
    pytest.importorskip("torchrl")
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    env = PettingZooWrapper(mbi_envs.make(env_id, max_steps=4, action_space="normalized"),
                            categorical_actions=False, seed=0)
    group = next(iter(env.group_map))
    space = env.full_action_spec_unbatched[group, "action"].space
    assert float(space.low.min()) == -1.0 and float(space.high.max()) == 1.0
    assert env.rollout(3)["next", group, "observation"].shape[:2] == (3, len(env.group_map[group]))
    native = PettingZooWrapper(mbi_envs.make(env_id, max_steps=4), categorical_actions=False, seed=0)
    with pytest.raises(NotImplementedError):  # the reason for the option
        native.full_action_spec_unbatched[group, "action"].space


def test_torchrl_adapter_is_vmas_like():
    pytest.importorskip("torchrl")
    from mbi_envs.torchrl_env import MechanismTorchRLEnv

    env = MechanismTorchRLEnv("economic_dispatch_v0", num_envs=2, max_steps=3)
    assert env.n_agents == 3 and env.group_map == {"agents": ["agent_0", "agent_1", "agent_2"]}
    assert env.observation_spec["agents", "observation"].dtype == torch.float32  # TorchRL modules' dtype
    low = env.full_action_spec_unbatched[env.action_key].space.low
    assert low.shape == (3, 1) and torch.equal(low[:, 0], torch.as_tensor(env.venv.template.action_low[:, 0],
                                                                             dtype=torch.float32))
    exact = MechanismTorchRLEnv("economic_dispatch_v0", num_envs=2, max_steps=3, dtype=torch.float64)
    assert exact.observation_spec["agents", "observation"].dtype == torch.float64
    with pytest.raises(ValueError, match="dtype"):
        MechanismTorchRLEnv("economic_dispatch_v0", num_envs=2, dtype=torch.int64)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # the tutorial's collector: TorchRL's own InitTracker notice
@pytest.mark.parametrize("env_id", ["symmetric_parallel_v0", "economic_dispatch_v0"])
def test_torchrl_multiagent_ppo_tutorial_runs_two_iterations(env_id):
    """TorchRL's tutorial code with only the env construction changed (symmetric: N = 100).
    Catches a missing ``n_agents``/``group_map``, float64 specs (Double vs Float in the first
    forward pass) and spec shapes the tutorial reads wrongly."""
    pytest.importorskip("torchrl")
    from scripts.torchrl_tutorial_mappo import run_tutorial

    torch.set_num_threads(1)
    rewards = run_tutorial(env_id, frames_per_batch=200, n_iters=2, num_epochs=1, minibatch_size=100,
                           num_cells=16, max_steps=20)
    assert len(rewards) == 2 and all(np.isfinite(rewards))


# ---------------------------------------------------------------- Gymnasium
@pytest.mark.parametrize("env_id", ["symmetric_parallel_v0", "economic_dispatch_v0"])
def test_gymnasium_check_env_passes_on_the_float32_view(env_id, capsys):
    """Gymnasium's check_env rebuilds the env from ``env.spec`` for each render mode: a wrapper
    that does not record its constructor arguments fails it."""
    from gymnasium.utils.env_checker import check_env

    view = mbi_envs.float32_view(gym.make(mbi_envs.gym_id(env_id), max_steps=5, **small_kwargs(env_id)))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")  # checking a wrapper
        check_env(view)
    assert view.spec.additional_wrappers[-1].name == "Float32GymView"


# ---------------------------------------------------------------- SuperSuit's agent_indicator_v0 bug
def test_supersuit_agent_indicator_bug_and_its_workaround():
    """SuperSuit's agent_indicator_v0 declares the indicator's high as min(high) of the original
    box but writes max(high) into the observation: any box with unequal highs (ours) leaves the
    declared space. The documented workaround (docs/ecosystem.md): normalize_obs_v0 first."""
    import supersuit as ss
    from supersuit.utils.agent_indicator import change_obs_space, change_observation

    box = gym.spaces.Box(np.zeros(2, np.float32), np.array([1.0, 5.0], np.float32))  # the minimal case
    space = change_obs_space(box, 2)
    obs = change_observation(np.zeros(2, np.float32), box, (0, 2))
    assert space.high[2] == 1.0 and obs[2] == 5.0 and not space.contains(obs)  # the bug

    raw = ss.agent_indicator_v0(mbi_envs.make("assembly_line_v0", max_steps=3))
    obs, _ = raw.reset(seed=0)
    assert not all(raw.observation_space(a).contains(o) for a, o in obs.items())
    fixed = ss.agent_indicator_v0(ss.normalize_obs_v0(mbi_envs.make("assembly_line_v0", max_steps=3)))
    obs, _ = fixed.reset(seed=0)
    assert all(fixed.observation_space(a).contains(o) for a, o in obs.items())
    assert [int(np.argmax(o[-2:])) for o in obs.values()] == [0, 1]  # the one-hot is intact


def test_float32_view_over_a_normalized_env_maps_once():
    """The view maps [-1, 1] onto the wrapped env's own action space: over a normalized env that
    is the identity (a view that mapped onto the native box again would land elsewhere)."""
    from pettingzoo.test import parallel_api_test

    base = mbi_envs.make("economic_dispatch_v0", max_steps=3, action_space="normalized")
    view = mbi_envs.float32_view(base)
    parallel_api_test(view, num_cycles=3)
    view.reset(seed=0)
    view.step({a: np.array([0.5], np.float32) for a in view.agents})
    np.testing.assert_allclose(base.X, base.action_low + 0.75 * (base.action_high - base.action_low), rtol=1e-12)
    assert view.state().dtype == np.float32 and view.state_space.contains(view.state())
