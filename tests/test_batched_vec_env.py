"""The SB3 adapter over the batched env trains the same model as the dict path, and its models load
and score like any other."""
from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

import mbi_envs
from baselines.batched_vec_env import BatchedVecEnv
from baselines.ppo import PPOConfig, make_vec_env, train_ppo
from baselines.sb3_policy import SB3Policy

TINY = PPOConfig(total_timesteps=768, n_steps=16, batch_size=64, n_epochs=2, eval_every=10_000,
                 eval_seeds=(7,), tensorboard=False, n_envs=2)


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.policy.parameters()])


def test_batched_path_trains_the_same_model_as_the_dict_path():
    # iterative with max_steps=8: episodes end inside rollouts (terminal observations, bootstrapping)
    env = ("heterogeneous_parallel_v0", {"n_agents": 3, "mode": "iterative", "max_steps": 8,
                                         "reward_mode": "difference"})
    dict_path = train_ppo(*env, config=TINY)
    batched = train_ppo(*env, config=replace(TINY, vectorized=True))
    other_seed = train_ppo(*env, config=replace(TINY, vectorized=True, seed=1))
    torch.testing.assert_close(_params(batched.model), _params(dict_path.model), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(_params(other_seed.model), _params(dict_path.model), rtol=1e-3, atol=1e-4)
    assert batched.final["loss_gap"] == pytest.approx(dict_path.final["loss_gap"], rel=1e-5)


def test_adapter_steps_and_episode_ends_match_the_dict_adapter():
    kwargs = {"n_agents": 2, "mode": "iterative", "max_steps": 3}
    ref = make_vec_env("symmetric_parallel_v0", kwargs, n_envs=3)
    vec = make_vec_env("symmetric_parallel_v0", kwargs, n_envs=3, vectorized=True)
    assert isinstance(vec, BatchedVecEnv) and vec.num_envs == ref.num_envs == 6
    ref.seed(4)
    vec.seed(4)
    np.testing.assert_allclose(vec.reset(), ref.reset(), rtol=1e-12, atol=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(7):
        actions = rng.uniform(-5, 5, size=(6, 1))
        ref.step_async(actions)
        vec.step_async(actions)
        (o1, r1, d1, i1), (o2, r2, d2, i2) = ref.step_wait(), vec.step_wait()
        np.testing.assert_allclose(o2, o1, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(r2, r1, rtol=1e-6)
        np.testing.assert_array_equal(d2, d1)
        for a, b in zip(i1, i2):
            assert ("terminal_observation" in a) == ("terminal_observation" in b)
            if "terminal_observation" in a:
                np.testing.assert_allclose(b["terminal_observation"], a["terminal_observation"], rtol=1e-12)
                assert a["TimeLimit.truncated"] == b["TimeLimit.truncated"]


def test_train_ppo_cli_vectorized_model_loads_and_evaluates(tmp_path, monkeypatch):
    import scripts.train_ppo as cli

    out = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", ["train_ppo.py", "--env", "symmetric_parallel_v0", "--vectorized",
                                      "--num-envs", "16", "--total-timesteps", "1024", "--out", str(out),
                                      "--env-kwargs", '{"n_agents": 4, "mode": "one_shot"}',
                                      "--set", "n_steps=16", "n_epochs=1", "tensorboard=false",
                                      "progress_bar=false", "eval_seeds=[3]"])
    cli.main()
    model = PPO.load(str(out / "model.zip"), device="cpu")
    assert model.observation_space.shape == (mbi_envs.make("symmetric_parallel_v0", n_agents=4,
                                                            mode="one_shot").observation_space("agent_0").shape)
    result = mbi_envs.evaluate(lambda: mbi_envs.make("symmetric_parallel_v0", n_agents=4, mode="one_shot"),
                               SB3Policy(model), [0, 1])
    gap = result.to_dict()["aggregates"]["loss_gap"]["mean"]
    assert np.isfinite(gap) and gap >= -1e-9


def test_adapter_needs_autoreset():
    with pytest.raises(ValueError, match="autoreset"):
        BatchedVecEnv(mbi_envs.make_vec("symmetric_parallel_v0", num_envs=2, n_agents=2, autoreset=False))
