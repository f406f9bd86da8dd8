"""Agents that escape local minima, and the coupled Rastrigin landscape."""
import pickle

import pytest
import torch

from mechanism import (GradientAgents, InvalidParameterError, aggregative_problem, nonconvex_problem, run_planner)
from mechanism.core.exploration import AnnealedLangevinAgents, RestartAgents, coupled_rastrigin_problem


def _run(problem, agents, X0, iters):
    return run_planner(problem, agents, X0, max_iters=iters, eps=0.0, tau=0.0, record_actions=False,
                       record_every=iters)


def test_zero_temperature_langevin_is_gradient_descent():
    p = nonconvex_problem()
    X0 = torch.rand(5, 2, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = _run(p, AnnealedLangevinAgents(0.02, 0.0, 100), X0, 200)
    b = _run(p, GradientAgents(0.02), X0, 200)
    assert torch.equal(a.X, b.X)


def test_each_agent_cools_on_its_own_schedule_to_exactly_zero():
    p = nonconvex_problem()
    ag = AnnealedLangevinAgents(0.02, temperature=[1.0, 4.0], anneal_steps=[10, 40])
    ag.reset(p, torch.zeros(1, 2, 1, dtype=torch.float64))
    assert torch.allclose(ag.temperature_at(0).ravel(), torch.tensor([1.0, 4.0], dtype=torch.float64))
    assert torch.allclose(ag.temperature_at(5).ravel(), torch.tensor([0.25, 4.0 * 0.875 ** 2], dtype=torch.float64))
    assert ag.temperature_at(10).ravel()[0] == 0 and ag.temperature_at(40).abs().sum() == 0


def test_langevin_is_reproducible_from_its_seed_and_noise_moves_it():
    p = nonconvex_problem()
    X0 = torch.zeros(3, 2, 1, dtype=torch.float64)
    a = _run(p, AnnealedLangevinAgents(0.02, 1.0, 50, seed=3), X0, 60)
    b = _run(p, AnnealedLangevinAgents(0.02, 1.0, 50, seed=3), X0, 60)
    c = _run(p, AnnealedLangevinAgents(0.02, 1.0, 50, seed=4), X0, 60)
    assert torch.equal(a.X, b.X) and not torch.equal(a.X, c.X)


def test_restart_credits_add_up_to_the_loss_decrease():
    p = nonconvex_problem()
    X0 = -5 + 10 * torch.rand(4, 2, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ag = RestartAgents(0.02, -10.0, 10.0, n_restarts=2, patience=5, tol=1e-2, max_hop=0.02, seed=0)
    res = _run(p, ag, X0, 1500)
    decrease = p.loss(X0) - res.loss
    assert torch.allclose(ag.credit.sum(1), decrease, rtol=0.03, atol=0.05)
    assert int(ag.restarts.sum()) >= 4  # they did restart: the credit spans several basins


def test_restart_agents_without_restarts_reach_a_convex_optimum():
    p = aggregative_problem(n_agents=3, Y=3.0, lam=0.5, upper=10.0)
    ag = RestartAgents(0.2, 0.0, 10.0, n_restarts=0, patience=3, tol=1e-12, max_hop=1.0)
    res = _run(p, ag, torch.full((1, 3, 1), 2.0, dtype=torch.float64), 500)
    assert abs(float(res.loss[0]) - p.optimum().loss) < 1e-10


def test_rastrigin_global_minimum_is_the_shift():
    p = pickle.loads(pickle.dumps(coupled_rastrigin_problem(3, 5.0)))
    opt = p.optimum()
    assert float(p.loss(opt.x.unsqueeze(0))[0]) == 0.0
    off = opt.x.clone(); off[0, 0] += 1.0   # the neighbouring basin's centre is worse
    assert float(p.loss(off.unsqueeze(0))[0]) > 1.0
    X = p.lower.unsqueeze(0) + (p.upper - p.lower).unsqueeze(0) * torch.rand(200, 3, 1, dtype=torch.float64)
    assert (p.loss(X) > 0).all()


@pytest.mark.parametrize("make, match", [
    (lambda: AnnealedLangevinAgents(0.1, -1.0, 10), "temperature"),
    (lambda: AnnealedLangevinAgents(0.1, 1.0, 0), "anneal_steps"),
    (lambda: RestartAgents(0.1, 0.0, 1.0, n_restarts=-1), "n_restarts"),
    (lambda: RestartAgents(0.1, 0.0, 1.0, max_hop=0.0), "max_hop"),
    (lambda: coupled_rastrigin_problem(0), "n_agents"),
    (lambda: coupled_rastrigin_problem(2, shift=[1.0]), "shift"),
])
def test_bad_parameters_raise(make, match):
    with pytest.raises(InvalidParameterError, match=match):
        make()


def test_restart_search_box_must_be_finite():
    ag = RestartAgents(0.1, float("-inf"), 1.0)
    with pytest.raises(InvalidParameterError, match="search box"):
        ag.reset(nonconvex_problem(), torch.zeros(1, 2, 1, dtype=torch.float64))
