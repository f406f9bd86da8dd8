"""Reward definitions: team, private, difference; effort costs; hidden types; dynamic target."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import mbi_envs
from envs_support import small_env


def _random_episode(env, seed):
    obs, infos = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    losses, returns = [env.global_loss], {a: 0.0 for a in env.agents}
    while env.agents:
        actions = {a: rng.uniform(env.action_space(a).low, env.action_space(a).high) for a in env.agents}
        _, rewards, _, _, _ = env.step(actions)
        losses.append(env.global_loss)
        for a, r in rewards.items():
            returns[a] += r
    return losses, returns


@pytest.mark.parametrize("env_id", ["symmetric_parallel_v0", "assembly_line_v0", "hidden_cost_v0",
                                    "dynamic_target_v0", "nonconvex_v0"])
def test_team_return_is_l0_minus_lT(env_id):
    kwargs = {"switch_step": 4} if env_id == "dynamic_target_v0" else {}
    losses, returns = _random_episode(small_env(env_id, **kwargs), seed=3)
    for value in returns.values():
        assert value == pytest.approx(losses[0] - losses[-1], rel=1e-12, abs=1e-12)


def _loss(problem, X):
    return float(problem.loss(torch.from_numpy(np.asarray(X, dtype=np.float64))[None], "true")[0])


def test_difference_reward_one_shot_small_case():
    # assembly line: L = (x1 + x2 - 2)^2 + 0.5 x1^2; default action d_i = 0 (inside the box)
    env = mbi_envs.make("assembly_line_v0", mode="one_shot", reward_mode="difference")
    env.reset(seed=0)
    X = np.array([[1.0], [3.0]])
    _, rewards, terms, _, _ = env.step({"agent_0": X[0], "agent_1": X[1]})
    L = (1 + 3 - 2) ** 2 + 0.5  # 4.5
    assert rewards["agent_0"] == pytest.approx((0 + 3 - 2) ** 2 - L)          # 1 - 4.5
    assert rewards["agent_1"] == pytest.approx((1 + 0 - 2) ** 2 + 0.5 - L)    # 1.5 - 4.5
    assert all(terms.values())


def test_difference_reward_iterative_is_change_of_marginal_contribution():
    env = mbi_envs.make("symmetric_parallel_v0", n_agents=3, reward_mode="difference", max_steps=3)
    env.reset(seed=0)
    X0 = env.X
    X1 = np.array([[0.5], [1.0], [1.5]])
    _, rewards, _, _, _ = env.step({a: X1[i] for i, a in enumerate(env.agents)})
    for i, a in enumerate(env.possible_agents):
        def marginal(X):
            Z = X.copy()
            Z[i] = 0.0  # default d_i: 0 projected onto [0, s]
            return _loss(env.problem, Z) - _loss(env.problem, X)
        assert rewards[a] == pytest.approx(marginal(X1) - marginal(X0), rel=1e-12)


def test_private_reward_matches_private_loss_with_share():
    env = mbi_envs.make("heterogeneous_parallel_v0", reward_mode="private", private_share=0.2,
                        mode="one_shot")
    env.reset(seed=0)
    X = np.linspace(0.5, 2.5, 5).reshape(5, 1)
    _, rewards, _, _, _ = env.step({a: X[i] for i, a in enumerate(env.agents)})
    lam = np.array([0.1, 0.5, 1.0, 5.0, 10.0])
    system = (X.sum() - 10.0) ** 2
    np.testing.assert_allclose([rewards[a] for a in env.possible_agents], -(lam * X[:, 0] ** 2 + 0.2 * system))


def test_one_shot_team_reward_is_negative_loss():
    env = small_env("coupled_resource_v0", mode="one_shot")
    obs, infos = env.reset(seed=0)
    assert obs["agent_0"].shape == (1,)
    # reset infos carry the step keys; nothing is submitted yet: submitted=False, finite 0 placeholders
    assert infos["agent_0"]["submitted"] is False and (infos["agent_0"]["incentive"] == 0).all()
    assert infos["agent_0"]["global_loss"] == 0.0 and infos["agent_0"]["loss_gap"] == 0.0 and infos["agent_0"]["step"] == 0
    _, rewards, _, _, infos = env.step({"agent_0": np.array([2.0]), "agent_1": np.array([3.0])})
    expected = (2 + 3 - 10) ** 2 + 0.5 * 2 * 3
    assert rewards["agent_1"] == pytest.approx(-expected) and infos["agent_0"]["global_loss"] == pytest.approx(expected)
    assert infos["agent_0"]["submitted"] is True
    assert infos["agent_0"]["optimal_loss"] == pytest.approx(0.0, abs=1e-10)


def test_time_cost_charged_only_when_moving():
    env = mbi_envs.make("time_cost_v0", time_cost=0.25, max_steps=3)
    env.reset(seed=0)
    _, r1, _, _, i1 = env.step({"agent_0": np.array([10.0])})  # stays: no effort, no loss change
    _, r2, _, _, i2 = env.step({"agent_0": np.array([5.0])})
    assert r1["agent_0"] == 0.0 and i1["agent_0"]["effort_cost"] == 0.0
    assert r2["agent_0"] == pytest.approx(1.1 * 100 - 1.1 * 25 - 0.25)
    assert i2["agent_0"]["effort_cost"] == 0.25


def test_effort_cost_c12_charges_agent_1_kappa_t_x1_squared():
    env = mbi_envs.make("effort_cost_v0", kappa=0.01, reward_mode="private", max_steps=3)
    env.reset(seed=0)
    env.step({"agent_0": np.array([1.0]), "agent_1": np.array([1.0])})
    _, r, _, _, infos = env.step({"agent_0": np.array([2.0]), "agent_1": np.array([1.0])})
    assert r["agent_0"] == pytest.approx(0.1 * 1 - 0.1 * 4 - 0.01 * 2 * 4)
    assert r["agent_1"] == 0.0
    assert infos["agent_0"]["effort_cost"] == pytest.approx(0.01 * 1 * 1 + 0.01 * 2 * 4)


def test_hidden_cost_incentive_uses_belief_loss_uses_truth():
    env = mbi_envs.make("hidden_cost_v0", max_steps=2)
    obs, infos = env.reset(seed=0)
    X = env.X
    lam_true, lam_belief = np.array([0.3, 0.5, 0.2, 0.4, 0.6]), np.array([0.1, 0.5, 0.2, 0.4, 0.6])
    resid = X.sum() - 7.461
    assert infos["agent_0"]["incentive"][0] == pytest.approx(-(2 * resid + 2 * lam_belief[0] * X[0, 0]))
    assert infos["agent_0"]["global_loss"] == pytest.approx(resid ** 2 + (lam_true * X[:, 0] ** 2).sum())
    assert obs["agent_0"][env.observation_layout.index("lam")] == 0.3  # an agent knows its true type
    K = (1 / lam_true).sum()
    assert env.optimal_loss == pytest.approx(7.461 ** 2 / (1 + K))


def test_dynamic_target_switches_problem_and_reference():
    env = mbi_envs.make("dynamic_target_v0", switch_step=2, max_steps=3)
    env.reset(seed=0)
    before = env.optimal_loss
    hold = {a: env.X[i] for i, a in enumerate(env.agents)}
    env.step(hold)
    assert env.optimal_loss == before and float(env.problem.data()["Y"]) == pytest.approx(7.461)
    _, rewards, _, _, infos = env.step(hold)
    assert float(env.problem.data()["Y"]) == 10.0 and env.optimal_loss != before
    assert rewards["agent_0"] < 0 and infos["agent_0"]["optimal_loss"] == env.optimal_loss
    env.reset(seed=0)
    assert env.optimal_loss == before
