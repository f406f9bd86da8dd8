"""The supply-chain D-DAG: structure, the exact optimum, autograd incentives and MBI agents."""
import pickle

import pytest
import torch

from mechanism import (InvalidParameterError, MomentumAgents, centralized_optimum, incentives, run_planner,
                       stability_limit)
from mechanism.problems.supply_chain import solve_supply_chain, supply_chain_problem


def test_layout_sizes_and_flow_conservation_of_the_graph():
    p = supply_chain_problem(width=(2, 3, 3, 2), depth=4, fanout=2, seed=1)
    assert p.n_agents == 8 and p.action_dim == 2 and len(p.layout.names[-1]) == 2
    # every lane of the last facility stage reaches a market; each facility ships to `fanout` nodes
    received = sum(len(v) for v in p.layout.senders.values())
    assert received == p.n_agents * 2


def test_exact_optimum_is_certified_and_matches_lbfgsb():
    p = supply_chain_problem(3, 4, 2, seed=0)
    sol = solve_supply_chain(p)
    assert sol.kkt_residual < 1e-9
    ref = centralized_optimum(p)
    assert abs(ref.loss - sol.loss) < 1e-8 * max(1.0, abs(sol.loss))
    # a point 10% off the optimum is strictly worse (strict convexity)
    worse = p.loss(p.project(1.1 * sol.x).unsqueeze(0))
    assert float(worse[0]) > sol.loss + 1e-6


def test_autograd_incentives_match_finite_differences():
    p = supply_chain_problem(2, 3, 1, seed=3)
    X = torch.rand(1, p.n_agents, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 3
    G = incentives(p, X).G
    h = 1e-6
    for i in range(p.n_agents):
        e = torch.zeros_like(X); e[0, i, 0] = h
        fd = (p.loss(X + e) - p.loss(X - e)) / (2 * h)
        assert abs(float(fd[0]) + float(G[0, i, 0])) < 1e-6


def test_momentum_agents_reach_the_exact_optimum_and_problem_pickles():
    p = pickle.loads(pickle.dumps(supply_chain_problem(2, 4, 2, seed=2)))
    sol = solve_supply_chain(p)
    res = run_planner(p, MomentumAgents(0.5 * stability_limit(p), beta=0.8), torch.zeros(p.n_agents, 2, dtype=torch.float64),
                      max_iters=20_000, tau=1e-9, record_actions=False)
    assert res.status == "converged"
    assert float(res.loss[0]) - sol.loss < 1e-9 and torch.allclose(res.X[0], sol.x, atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [({"depth": 1}, "depth"), ({"fanout": 5}, "fanout"),
                                           ({"width": (2, 3)}, "width"), ({"imbalance_cost": 0.0}, "imbalance_cost"),
                                           ({"demand_range": (5.0, 1.0)}, "demand_range")])
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        supply_chain_problem(**kwargs)
