"""The centralized Gymnasium wrappers and rendering."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import mbi_envs
from envs_support import small_env, small_kwargs


@pytest.mark.filterwarnings("ignore:.*symmetric and normalized space")  # the float64 view keeps the physical box
@pytest.mark.filterwarnings("ignore:.*observation space m.* value is .*infinity")  # economic_dispatch_v0's G
@pytest.mark.parametrize("mode", ["iterative", "one_shot"])
@pytest.mark.parametrize("env_id", mbi_envs.env_ids())
def test_gym_wrapper_passes_check_env(env_id, mode):
    horizon = {"max_steps": 10} if mode == "iterative" else {}
    env = gym.make(mbi_envs.gym_id(env_id), mode=mode, **horizon, **small_kwargs(env_id))
    check_env(env.unwrapped)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert "global_loss" in info or mode == "one_shot"


def test_gym_ids_registered_on_import():
    assert mbi_envs.gym_id("symmetric_parallel_v0") == "mbi_envs/SymmetricParallel-v0"
    for env_id in mbi_envs.env_ids():
        assert mbi_envs.gym_id(env_id) in gym.registry


def test_gym_team_reward_equals_parallel_team_reward():
    genv = gym.make("mbi_envs/AssemblyLine-v0", max_steps=5).unwrapped
    penv = mbi_envs.make("assembly_line_v0", max_steps=5)
    gobs, _ = genv.reset(seed=2)
    pobs, _ = penv.reset(seed=2)
    action = np.array([0.5, 1.0])
    _, r, term, trunc, info = genv.step(action)
    _, pr, _, _, pinfo = penv.step({"agent_0": action[:1], "agent_1": action[1:]})
    assert r == pr["agent_0"] and info["global_loss"] == pinfo["agent_0"]["global_loss"]
    assert not term and not trunc


def test_gym_rejects_non_team_reward():
    with pytest.raises(ValueError, match="reward_mode"):
        gym.make("mbi_envs/AssemblyLine-v0", reward_mode="private")


@pytest.mark.parametrize("mode", ["iterative", "one_shot"])
def test_render_ansi_and_rgb(mode):
    env = small_env("heterogeneous_parallel_v0", mode=mode, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert "heterogeneous_parallel_v0" in text
    env.step({a: env.action_space(a).sample() for a in env.agents})
    assert "agent_0" in env.render() and "L=" in env.render()
    rgb_env = small_env("heterogeneous_parallel_v0", mode=mode, render_mode="rgb_array")
    rgb_env.reset(seed=0)
    rgb_env.step({a: rgb_env.action_space(a).sample() for a in rgb_env.agents})
    img = rgb_env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.std() > 0


def test_render_none_warns():
    env = small_env("assembly_line_v0")
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None
