"""Reference solvers: closed forms, centralized L-BFGS-B, global search, Nash, point classes."""
import torch
import pytest

from mechanism import (GradientAgents, run_planner, aggregative_nash, aggregative_problem, centralized_optimum, classify_point,
                       coupled_resource_problem, global_minimum, nash_equilibrium, nonconvex_problem)


def test_c5_true_box_minimum_is_zero_at_a_corner_and_paper_point_is_a_saddle():
    p = coupled_resource_problem(T=10.0, lam=0.5)
    g = global_minimum(p, n_starts=64, seed=0)
    assert g.loss == pytest.approx(0.0, abs=1e-12)
    corner = sorted(g.x[:, 0].tolist())
    assert corner == pytest.approx([0.0, 10.0], abs=1e-9)
    kind, eig = classify_point(p, [40 / 9, 40 / 9])
    assert kind == "saddle"
    assert eig == pytest.approx([-0.5, 4.5])
    assert float(p.loss(p.as_actions([40 / 9, 40 / 9]))[0]) == pytest.approx(100 / 9)


def test_classify_minimum_and_non_stationary():
    p = aggregative_problem(3, 10.0, 0.5)
    assert classify_point(p, p.optimum().x)[0] == "minimum"
    assert classify_point(p, torch.ones(3))[0] == "not_stationary"


def test_centralized_optimum_matches_closed_form():
    p = aggregative_problem(20, 10.0, torch.linspace(0.1, 2.0, 20, dtype=torch.float64))
    res = centralized_optimum(p)
    assert res.success
    assert torch.allclose(res.x, p.optimum().x, atol=1e-7)
    assert res.loss == pytest.approx(p.optimum().loss, rel=1e-10)


def test_nonconvex_global_minimum_beats_the_papers_point():
    p = nonconvex_problem()
    g = global_minimum(p, search_box=(-5.0, 10.0), n_starts=64, seed=0)
    assert len(g.minima) > 10
    # the paper's point: gradient play from (0, 0), step 0.01, 5000 iterations, L ~ 1.12
    paper = run_planner(p, GradientAgents(0.01), [0.0, 0.0], max_iters=5000)
    assert float(paper.loss[0]) == pytest.approx(1.12, abs=0.01)
    assert classify_point(p, paper.X)[0] == "minimum"
    assert g.rank_by_loss(float(paper.loss[0])) > 1
    assert g.loss < float(paper.loss[0]) - 0.4
    assert all(g.minima[k].loss <= g.minima[k + 1].loss for k in range(len(g.minima) - 1))


@pytest.mark.parametrize("share", [0.0, 0.01, 0.2, 1.0])
def test_nash_best_response_iteration_matches_closed_form(share):
    lam = [0.1, 0.5, 1.0, 5.0, 10.0]
    p = aggregative_problem(5, 10.0, lam)
    ne = nash_equilibrium(p, share)
    assert ne.success
    assert torch.allclose(ne.x, aggregative_nash(10.0, lam, share), atol=1e-8)


def test_nash_with_zero_share_is_doing_nothing_loss_y_squared():
    p = aggregative_problem(100, 10.0, 0.1)
    ne = nash_equilibrium(p, 0.0)
    assert ne.loss == pytest.approx(100.0)


def test_closed_form_outside_the_box_is_not_reported_as_optimum():
    p = aggregative_problem(3, 10.0, 0.5)
    assert p.optimum() is not None
    pinned = p.with_bounds([[0.0], [0.0], [0.0]], [[0.0], [float("inf")], [float("inf")]])
    assert pinned.optimum() is None
