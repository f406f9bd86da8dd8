"""PPO baseline: runs, seeds deterministically, saves and reloads to the same actions."""
from dataclasses import replace

import numpy as np
import pytest
import torch

import mbi_envs
from baselines.classical import CentralizedPolicy, NashPolicy
from baselines.ppo import PPOConfig, load_ppo, make_vec_env, train_ppo
from baselines.sb3_policy import SB3Policy

TINY = PPOConfig(total_timesteps=1024, n_steps=32, batch_size=64, n_epochs=2, eval_every=512,
                 eval_seeds=(7,), tensorboard=False)
ENV = ("symmetric_parallel_v0", {"n_agents": 3, "mode": "one_shot"})


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.policy.parameters()])


def test_training_is_deterministic_given_the_seed(tmp_path):
    a = train_ppo(*ENV, config=TINY, out_dir=tmp_path / "a")
    b = train_ppo(*ENV, config=TINY)
    c = train_ppo(*ENV, config=replace(TINY, seed=1))
    assert torch.equal(_params(a.model), _params(b.model))
    assert [p["loss_gap"] for p in a.curve] == [p["loss_gap"] for p in b.curve]
    assert not torch.equal(_params(a.model), _params(c.model))
    assert [p["env_steps"] for p in a.curve][0] == 0 and a.curve[-1]["env_steps"] >= 1024
    assert all(np.isfinite(p["loss_gap"]) for p in a.curve)
    assert (tmp_path / "a" / "summary.json").exists()


def test_save_and_reload_give_the_same_actions(tmp_path):
    res = train_ppo(*ENV, config=replace(TINY, tensorboard=True), out_dir=tmp_path)
    assert any((tmp_path / "tb").iterdir())  # TensorBoard event files
    loaded = load_ppo(tmp_path / "model.zip")
    env = mbi_envs.make(*ENV[:1], **ENV[1])
    obs, _ = env.reset(seed=3)
    before, after = SB3Policy(res.model).act(obs), SB3Policy(loaded).act(obs)
    for agent in obs:
        np.testing.assert_array_equal(before[agent], after[agent])


def test_iterative_mode_and_difference_rewards_train():
    """Also: training pins torch to config.torch_threads only while it runs (the caller's count is back)."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        res = train_ppo("heterogeneous_parallel_v0", {"mode": "iterative", "max_steps": 8,
                                                      "reward_mode": "difference"}, config=TINY)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert np.isfinite(res.final["loss_gap"])


def test_vec_env_honours_sb3_seed_contract():
    """SB3 calls VecEnv.seed(s) and then reset(): the first reset must use the seed."""
    first, second = make_vec_env("symmetric_parallel_v0", {"n_agents": 2}), make_vec_env("symmetric_parallel_v0", {"n_agents": 2})
    first.seed(5)
    second.seed(5)
    np.testing.assert_array_equal(first.reset(), second.reset())
    assert first.num_envs == 2


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="n_steps"):
        train_ppo(*ENV, config=replace(TINY, n_steps=0))
    with pytest.raises(ValueError):
        train_ppo("no_such_env_v0", {}, config=TINY)


def test_classical_contenders_score_with_the_same_evaluate():
    factory = lambda: mbi_envs.make("heterogeneous_parallel_v0", mode="one_shot")  # noqa: E731
    central = mbi_envs.evaluate(factory, CentralizedPolicy(), [0]).aggregates
    nash = mbi_envs.evaluate(factory, NashPolicy(share=0.0), [0]).aggregates
    assert central["loss_gap"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert nash["loss_gap"]["mean"] > 1.0


def test_classical_policies_resolve_when_the_target_moves():
    env = mbi_envs.make("dynamic_target_v0", max_steps=6, switch_step=3)
    result = mbi_envs.evaluate(env, CentralizedPolicy(), [0])
    assert result.records[0].loss_gap == pytest.approx(0.0, abs=1e-9)


def test_save_best_keeps_the_best_evaluated_policy_and_steps_are_whole_rollouts(tmp_path):
    config = replace(TINY, total_timesteps=1000, eval_every=200)
    res = train_ppo(*ENV, config=config, out_dir=tmp_path, save_best=True)
    rollout = TINY.n_steps * ENV[1]["n_agents"]
    assert res.extras["agent_steps"] == -(-1000 // rollout) * rollout == res.model.num_timesteps
    best = res.extras["best"]
    assert best["loss_gap"] == min(p["loss_gap"] for p in res.curve)
    from baselines.ppo import evaluate_model
    reloaded = evaluate_model(load_ppo(tmp_path / "best_model.zip"), *ENV, TINY.eval_seeds)
    assert reloaded["loss_gap"] == best["loss_gap"]  # the saved file is that policy
    with pytest.raises(ValueError, match="out_dir"):
        train_ppo(*ENV, config=config, save_best=True)


def test_model_trained_one_shot_on_iterative_env_names_both_modes():
    res = train_ppo(*ENV, config=replace(TINY, total_timesteps=96, eval_every=96))
    iterative = mbi_envs.make("symmetric_parallel_v0", n_agents=3, mode="iterative", max_steps=4)
    with pytest.raises(ValueError, match=r"trained on mode='one_shot'.*shape \(2,\).*mode='iterative'.*\(5,\)"):
        mbi_envs.evaluate(iterative, SB3Policy(res.model), seeds=[0])
    with pytest.raises(ValueError, match="action space"):  # another action box (Y=3: [0, 6], not [0, 20])
        SB3Policy(res.model).reset(mbi_envs.make("symmetric_parallel_v0", n_agents=3, mode="one_shot", Y=3.0))
