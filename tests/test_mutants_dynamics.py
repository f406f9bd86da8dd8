"""mbi_envs.dynamics recomputed by hand with N > 1 agents (issue #22's mutation survivors).

Each test names the plausible one-line bug it catches; the expected values are written out from
the formulas of the module docstring, not from the code under test.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import mbi_envs
from mbi_envs import dynamics
from mechanism import aggregative_problem

EFFORT = np.array([0.5, 2.0, 0.25])  # unequal: sum 2.75, mean 0.9167, max 2.0


def _ev(loss, private=None, marginal=None):
    return SimpleNamespace(loss=loss, private=private, marginal=marginal)


@pytest.mark.parametrize("xp", ["numpy", "torch"])
def test_team_reward_subtracts_the_sum_of_all_agents_efforts(xp):
    """Kills: ``effort.sum(-1)`` → ``effort.mean(-1)`` (team reward averaging effort; with N = 1 the
    two agree, which is why the N = 1 tests missed it), and dropping/adding the effort term."""
    conv = np.asarray if xp == "numpy" else torch.as_tensor
    old, new = _ev(conv(np.array([10.0, 4.0]))), _ev(conv(np.array([7.0, 4.5])))
    effort = conv(np.stack([EFFORT, 2 * EFFORT]))          # (B=2, N=3)
    r = np.asarray(dynamics.step_rewards("team", old, new, effort))
    np.testing.assert_allclose(r, [10.0 - 7.0 - 2.75, 4.0 - 4.5 - 5.5], rtol=0, atol=1e-12)
    one_shot = np.asarray(dynamics.step_rewards("team", None, new, effort))
    np.testing.assert_allclose(one_shot, [-7.0, -4.5], rtol=0, atol=0)   # one-shot: −L, no effort


def test_private_and_difference_rewards_charge_each_agent_its_own_effort():
    """Kills: private/difference rewards using the summed effort, swapping old and new, or the
    one-shot branches returning the wrong sign."""
    old = _ev(np.array(5.0), private=np.array([1.0, 2.0, 3.0]), marginal=np.array([0.5, 0.1, 0.0]))
    new = _ev(np.array(4.0), private=np.array([0.5, 2.5, 1.0]), marginal=np.array([0.7, 0.0, 0.4]))
    np.testing.assert_allclose(dynamics.step_rewards("private", old, new, EFFORT),
                               [1.0 - 0.5 - 0.5, 2.0 - 2.5 - 2.0, 3.0 - 1.0 - 0.25], atol=1e-12)
    np.testing.assert_allclose(dynamics.step_rewards("difference", old, new, EFFORT),
                               [0.7 - 0.5 - 0.5, 0.0 - 0.1 - 2.0, 0.4 - 0.0 - 0.25], atol=1e-12)
    np.testing.assert_array_equal(dynamics.step_rewards("private", None, new, EFFORT), [-0.5, -2.5, -1.0])
    np.testing.assert_array_equal(dynamics.step_rewards("difference", None, new, EFFORT), [0.7, 0.0, 0.4])


def _c12_loss(x, Y=2.0, lam=0.1):
    return (x.sum() - Y) ** 2 + lam * (x ** 2).sum()


def test_team_env_reward_with_two_agents_subtracts_summed_effort():
    """The dict env (B = 1) and the batched env on C.12's effort_cost_v0 (N = 2, agent 1 pays
    κ·t·x1²): team reward = L_{t−1} − L_t − Σ_j e_j(t), the same value for both agents."""
    kappa, steps = 0.03, [np.array([1.5, 0.5]), np.array([2.0, -1.0])]
    env = mbi_envs.make("effort_cost_v0", kappa=kappa, reward_mode="team", max_steps=4)
    venv = mbi_envs.make_vec("effort_cost_v0", num_envs=2, kappa=kappa, reward_mode="team", max_steps=4)
    env.reset(seed=0)
    venv.reset(seed=0)
    prev = np.array([1.0, 1.0])
    for t, x in enumerate(steps, start=1):
        _, r, _, _, infos = env.step({"agent_0": x[:1], "agent_1": x[1:]})
        vout = venv.step(torch.as_tensor(np.stack([x, x]).reshape(2, 2, 1)))
        expected = _c12_loss(prev) - _c12_loss(x) - kappa * t * x[0] ** 2
        assert r["agent_0"] == pytest.approx(expected, abs=1e-12) and r["agent_1"] == pytest.approx(expected, abs=1e-12)
        np.testing.assert_allclose(np.asarray(vout[1]), expected, atol=1e-12)
        prev = x
    assert infos["agent_0"]["effort_cost"] == pytest.approx(kappa * (1 * 1.5 ** 2 + 2 * 2.0 ** 2), abs=1e-12)
    assert infos["agent_1"]["effort_cost"] == 0.0


def _agg_loss(X, Y, lam):
    return (X.sum() - Y) ** 2 + float(np.sum(lam * X.reshape(-1) ** 2))


def test_counterfactual_losses_replace_only_agent_i_by_its_default():
    """Kills: replacing a whole row/column, using the belief instead of the true types, or
    reshaping to (N, B) instead of (B, N)."""
    Y, belief, true = 6.0, np.array([0.1, 0.5, 0.2]), np.array([0.3, 0.5, 0.4])
    p = aggregative_problem(3, Y, belief.tolist(), true_lam=true.tolist(), lower=float("-inf"))
    X = torch.tensor([[[1.0], [2.0], [0.5]], [[3.0], [-1.0], [2.5]]], dtype=torch.float64)
    default = torch.tensor([[0.2], [0.0], [-0.3]], dtype=torch.float64)
    got = dynamics.counterfactual_losses(p, X, default).numpy()
    assert got.shape == (2, 3)
    for b in range(2):
        for i in range(3):
            Z = X[b].numpy().copy()
            Z[i] = default[i].numpy()
            assert got[b, i] == pytest.approx(_agg_loss(Z, Y, true), abs=1e-12), (b, i)


def test_evaluate_joint_actions_scores_with_the_truth_and_prices_with_the_belief():
    """Kills: the loss under the belief when types differ, ``types_coincide`` always True, the
    incentive from the true loss, marginal = L − L(d_i, x_{−i}) (sign), private share ignored."""
    Y, belief, true = 6.0, np.array([0.1, 0.5, 0.2]), np.array([0.3, 0.5, 0.4])
    p = aggregative_problem(3, Y, belief.tolist(), true_lam=true.tolist(), lower=float("-inf"))
    assert not dynamics.types_coincide(p)
    assert dynamics.types_coincide(aggregative_problem(3, Y, belief.tolist()))
    X = torch.tensor([[[1.0], [2.0], [0.5]]], dtype=torch.float64)
    x = X[0, :, 0].numpy()
    default = torch.zeros(3, 1, dtype=torch.float64)
    ev = dynamics.evaluate_joint_actions(p, X, reward_mode="difference", private_share=0.5, default=default)
    L_true = _agg_loss(x, Y, true)
    assert float(ev.loss[0]) == pytest.approx(L_true, abs=1e-12)
    # G = −∂L_belief/∂x_i = −(2(Σx − Y) + 2 λ̂_i x_i)
    np.testing.assert_allclose(ev.G[0, :, 0].numpy(), -(2 * (x.sum() - Y) + 2 * belief * x), atol=1e-12)
    for i in range(3):
        z = x.copy()
        z[i] = 0.0
        assert float(ev.marginal[0, i]) == pytest.approx(_agg_loss(z, Y, true) - L_true, abs=1e-12)
    assert ev.private is None
    same = dynamics.evaluate_joint_actions(p, X, reward_mode="team", private_share=0.5, default=default,
                                           same_types=False)
    assert float(same.loss[0]) == pytest.approx(L_true, abs=1e-12) and same.marginal is None
    priv = dynamics.evaluate_joint_actions(p, X, reward_mode="private", private_share=0.5, default=default)
    # P_i = λ_i x_i² + s (Σx − Y)² under the true types
    np.testing.assert_allclose(priv.private[0].numpy(), true * x ** 2 + 0.5 * (x.sum() - Y) ** 2, atol=1e-12)


def test_types_coincide_compares_values_not_identity():
    """Kills: ``is v or torch.equal`` → ``is v and torch.equal`` (equal values in distinct tensors)."""
    lam = [0.1, 0.5, 0.2]
    assert dynamics.types_coincide(aggregative_problem(3, 6.0, lam, true_lam=list(lam)))
    assert not dynamics.types_coincide(aggregative_problem(3, 6.0, lam, true_lam=[0.1, 0.5, 0.3]))


def test_evaluate_joint_actions_trusts_same_types_and_batches_marginals():
    """A caller's ``same_types=True`` is trusted (the loss is the one evaluation, under the belief);
    marginals with B = N = 3 broadcast per copy. Kills: ``same_types is None`` inverted or the
    shortcut disabled, ``loss.unsqueeze(-1)`` → ``unsqueeze(-2)``."""
    Y, belief, true = 6.0, np.array([0.1, 0.5, 0.2]), np.array([0.3, 0.5, 0.4])
    p = aggregative_problem(3, Y, belief.tolist(), true_lam=true.tolist(), lower=float("-inf"))
    X = torch.tensor([[[1.0], [2.0], [0.5]], [[3.0], [-1.0], [2.5]], [[0.0], [0.5], [1.5]]], dtype=torch.float64)
    default = torch.zeros(3, 1, dtype=torch.float64)
    trusted = dynamics.evaluate_joint_actions(p, X, reward_mode="team", private_share=0.0, default=default,
                                              same_types=True)
    for b in range(3):
        assert float(trusted.loss[b]) == pytest.approx(_agg_loss(X[b].numpy(), Y, belief), abs=1e-12)
    ev = dynamics.evaluate_joint_actions(p, X, reward_mode="difference", private_share=0.0, default=default)
    for b in range(3):
        x = X[b, :, 0].numpy()
        for i in range(3):
            z = x.copy()
            z[i] = 0.0
            assert float(ev.marginal[b, i]) == pytest.approx(_agg_loss(z, Y, true) - _agg_loss(x, Y, true), abs=1e-12)
