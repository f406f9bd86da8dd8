"""MBI agents in the env: closed-form accuracy, incentives by finite differences, exact
agreement with the planner loop, and evaluate()."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import mbi_envs
from mbi_envs import ConstantPolicy, MBIPolicy, evaluate
from mechanism import GradientAgents, MomentumAgents, run_planner
from envs_support import small_env


@pytest.mark.slow  # 10,000 env steps with N = 100
def test_c2_n100_reaches_closed_form_to_1e10_relative():
    N, lam, Y = 100, 0.1, 10.0
    env = mbi_envs.make("symmetric_parallel_v0", n_agents=N, max_steps=10_000)
    result = evaluate(env, MBIPolicy(GradientAgents(1.0 / (N + 2 * lam))), seeds=[0])
    closed = lam * Y ** 2 / (N + lam)
    record = result.records[0]
    assert record.optimal_loss == pytest.approx(closed, rel=1e-14)
    assert abs(record.final_loss - closed) / closed < 1e-10
    assert record.distance_to_optimum < 1e-5
    assert record.env_steps == 10_000 * N


@pytest.mark.parametrize("env_id", ["symmetric_parallel_v0", "heterogeneous_parallel_v0", "assembly_line_v0"])
def test_incentive_info_is_minus_gradient_by_finite_differences(env_id):
    env = small_env(env_id)
    _, infos = env.reset(seed=1)
    X, h = env.X, 1e-6
    for i, agent in enumerate(env.possible_agents):
        for j in range(env.action_dim):
            plus, minus = X.copy(), X.copy()
            plus[i, j] += h
            minus[i, j] -= h
            loss = lambda Z: float(env.problem.loss(torch.from_numpy(Z)[None], "belief")[0])
            fd = (loss(plus) - loss(minus)) / (2 * h)
            assert infos[agent]["incentive"][j] == pytest.approx(-fd, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("agents", [GradientAgents(0.004), MomentumAgents(0.002, beta=0.5)])
@pytest.mark.parametrize("env_id", ["symmetric_parallel_v0", "heterogeneous_parallel_v0", "assembly_line_v0"])
def test_mbi_policy_reproduces_run_planner_exactly(env_id, agents):
    env = small_env(env_id, max_steps=60)
    obs, infos = env.reset(seed=5)
    policy = MBIPolicy(agents)
    policy.reset(env, 5)
    xs, losses = [env.X], [infos["agent_0"]["global_loss"]]
    while env.agents:
        obs, _, _, _, infos = env.step(policy.act(obs))
        xs.append(env.X)
        losses.append(infos["agent_0"]["global_loss"])
    generic = "analytic" if env.problem.gradient_fn is not None else "autograd"  # what the env computes
    ref = run_planner(env.problem, agents, xs[0], max_iters=60, eps=0.0, tau=0.0, method=generic)
    assert ref.iterations == 60
    np.testing.assert_array_equal(np.stack(xs), ref.history.actions[:, 0])
    np.testing.assert_array_equal(np.array(losses), ref.history.loss[:, 0])


def test_evaluate_metrics_and_json():
    env = small_env("heterogeneous_parallel_v0", max_steps=5)
    opt = env.optimum
    result = evaluate(lambda: small_env("heterogeneous_parallel_v0", max_steps=5), ConstantPolicy(opt.x), seeds=[0, 1])
    for r in result.records:
        assert r.loss_gap == pytest.approx(0.0, abs=1e-12)
        assert r.distance_to_optimum == pytest.approx(0.0, abs=1e-12)
        assert r.env_steps == 5 * env.n_agents and len(r.gap_curve) == 6
    agg = result.aggregates
    assert agg["final_loss"]["n"] == 2 and agg["loss_gap"]["max"] == pytest.approx(0.0, abs=1e-12)
    text = json.dumps(result.to_dict(), allow_nan=False)
    assert "records" in text


def test_evaluate_max_steps_override_and_one_shot():
    env = small_env("symmetric_parallel_v0", mode="one_shot")
    with pytest.raises(ValueError, match="max_steps=3.*one_shot"):
        evaluate(env, ConstantPolicy(0.5), seeds=[0], max_steps=3)
    result = evaluate(env, ConstantPolicy(0.5), seeds=[0], max_steps=1)
    r = result.records[0]
    assert r.steps == 1 and r.env_steps == env.n_agents
    assert len(r.loss_curve) == 1
    assert evaluate(small_env("symmetric_parallel_v0"), ConstantPolicy(0.5), [0], max_steps=3).records[0].steps == 3


def test_mbi_policy_rejects_one_shot_and_sequential():
    from mechanism import BestResponseAgents, InvalidParameterError
    with pytest.raises(ValueError, match="iterative"):
        MBIPolicy(GradientAgents(0.1)).reset(small_env("symmetric_parallel_v0", mode="one_shot"))
    with pytest.raises(InvalidParameterError, match="schedule"):
        MBIPolicy(BestResponseAgents(schedule="sequential"))
