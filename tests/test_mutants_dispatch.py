"""mechanism.problems.dispatch's Planner loop and formulas recomputed step by step (issue #22's survivors).

The published answers (λ-iteration, trust-constr, the textbook's 9.148 $/MWh) are reached by any
convergent multiplier update, so a halved step survived the suite; these tests recompute the
method-of-multipliers recurrence and the closed-form quantities the module documents.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mechanism import GradientAgents, InvalidParameterError
from mechanism.problems.dispatch import (default_rho, dispatch_problem, dispatch_step_sizes, generation_cost, load_case,
                                megawatts, price, run_dispatch)


def _run(rounds=6, every=40, multiplier=0.0):
    case = load_case("wood_wollenberg_3a")
    problem = dispatch_problem(case, multiplier=multiplier)
    x0 = torch.as_tensor((case.pmin + case.pmax) / 2).reshape(1, -1, 1)
    res = run_dispatch(problem, GradientAgents(dispatch_step_sizes(problem)), x0, multiplier_every=every,
                       max_rounds=rounds)
    return case, problem, res


def test_multiplier_update_is_mu_plus_rho_times_the_shortfall():
    """Kills: ``mu += rho * mismatch`` → ``mu += 0.5 * rho * mismatch`` (the step halved; the loop
    still converges to the same dispatch, so end-point tests miss it), a sign flip, or updating
    with the balance of the previous round. The trace holds (iterations, μ used in the round, ΣP − D)."""
    case, problem, res = _run()
    rho = default_rho(case)
    assert not res.converged and res.rounds == 6 and len(res.trace) == 6
    assert res.trace[0][1] == 0.0                                   # the starting multiplier
    for (it, mu, bal), (_, mu_next, _) in zip(res.trace, res.trace[1:]):
        assert mu_next == pytest.approx(mu - rho * bal, rel=1e-12, abs=1e-12)
        assert bal != 0.0
    last_mu, last_bal = res.trace[-1][1], res.trace[-1][2]
    assert res.multiplier == pytest.approx(last_mu - rho * last_bal, rel=1e-12)   # updated after the last round
    its = [t[0] for t in res.trace]                                 # cumulative, ≤ 40 per round
    assert all(0 < b - a <= 40 for a, b in zip([0] + its, its)) and res.iterations == its[-1]


def test_result_fields_are_recomputed_from_the_final_actions():
    """Kills: price/cost/balance computed with the wrong multiplier or sign."""
    case, problem, res = _run(multiplier=5.0)
    P = res.P
    assert res.trace[0][1] == 5.0
    assert res.balance == pytest.approx(P.sum() - case.demand, abs=1e-9)
    assert res.cost == pytest.approx(float(np.sum(case.a + case.b * P + case.c * P ** 2)), rel=1e-12)
    assert res.price == pytest.approx(res.multiplier + default_rho(case) * (case.demand - P.sum()), rel=1e-12)


def test_default_rho_step_sizes_price_and_cost_formulas():
    """Kills: default_rho's 4 or 2c_i changed, dispatch_step_sizes' ρN term, price's sign."""
    case = load_case("ieee30")
    assert default_rho(case) == pytest.approx(4.0 / np.sum(1.0 / (2.0 * case.c)), rel=1e-15)
    problem = dispatch_problem(case, rho=0.7, multiplier=3.0)
    eta = dispatch_step_sizes(problem, safety=0.5).numpy()
    np.testing.assert_allclose(eta, 0.5 / (2.0 * case.c + 0.7 * case.n_units), rtol=1e-15)
    np.testing.assert_allclose(dispatch_step_sizes(problem).numpy(), 0.9 / (2.0 * case.c + 0.7 * 6), rtol=1e-15)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(InvalidParameterError, match="safety"):
            dispatch_step_sizes(problem, safety=bad)
    X = torch.tensor([[[20.0], [30.0], [10.0], [15.0], [12.0], [25.0]]], dtype=torch.float64)
    Pmw = X[0, :, 0].numpy()
    np.testing.assert_allclose(megawatts(problem, X), Pmw[None])
    assert price(problem, X)[0] == pytest.approx(3.0 + 0.7 * (case.demand - Pmw.sum()), rel=1e-14)
    assert generation_cost(problem, X)[0] == pytest.approx(np.sum(case.a + case.b * Pmw + case.c * Pmw ** 2), rel=1e-14)
    # the augmented Lagrangian: Σ F_i + μ (D − ΣP) + ρ/2 (D − ΣP)²
    mism = case.demand - Pmw.sum()
    L = np.sum(case.a + case.b * Pmw + case.c * Pmw ** 2) + 3.0 * mism + 0.35 * mism ** 2
    assert float(problem.loss(X)[0]) == pytest.approx(L, rel=1e-13)


def test_normalized_actions_map_to_megawatts_and_scale_the_loss():
    """Kills: the unit map ``Pmin + u (Pmax − Pmin)`` or the loss scale ``Σ F_i(Pmax_i)`` mutated."""
    case = load_case("wood_wollenberg_3a")
    p = dispatch_problem(case, rho=0.2, multiplier=1.0, normalized=True)
    u = np.array([0.25, 0.5, 1.0])
    X = torch.as_tensor(u).reshape(1, 3, 1)
    Pmw = case.pmin + u * (case.pmax - case.pmin)
    np.testing.assert_allclose(megawatts(p, X)[0], Pmw, rtol=1e-14)
    scale = np.sum(case.a + case.b * case.pmax + case.c * case.pmax ** 2)
    mism = case.demand - Pmw.sum()
    L = (np.sum(case.a + case.b * Pmw + case.c * Pmw ** 2) + 1.0 * mism + 0.1 * mism ** 2) / scale
    assert float(p.loss(X)[0]) == pytest.approx(L, rel=1e-13)
    opt = p.optimum()
    assert opt.loss == pytest.approx(float(np.sum(case.a + case.b * (case.pmin + opt.x.reshape(-1).numpy()
                                     * (case.pmax - case.pmin)) + case.c * (case.pmin + opt.x.reshape(-1).numpy()
                                     * (case.pmax - case.pmin)) ** 2)) / scale, rel=1e-10)


def test_run_dispatch_argument_checks():
    """Kills: the validators' bounds changed (e.g. ``multiplier_every >= 0``)."""
    case = load_case("wood_wollenberg_3a")
    problem = dispatch_problem(case)
    x0 = torch.as_tensor((case.pmin + case.pmax) / 2).reshape(1, -1, 1)
    pol = GradientAgents(dispatch_step_sizes(problem))
    for kw in ({"multiplier_every": 0}, {"max_rounds": 0}, {"balance_tol": 0.0}, {"tau": 0.0}):
        with pytest.raises(InvalidParameterError):
            run_dispatch(problem, pol, x0, **kw)
    with pytest.raises(InvalidParameterError, match="batch size 1"):
        run_dispatch(problem, pol, x0.repeat(2, 1, 1))


def test_run_dispatch_documented_defaults():
    """Kills: the defaults of multiplier_every / max_rounds / balance_tol / tau changed."""
    import inspect

    params = inspect.signature(run_dispatch).parameters
    assert {k: params[k].default for k in ("multiplier_every", "max_rounds", "balance_tol", "tau")} == {
        "multiplier_every": 200, "max_rounds": 200, "balance_tol": 1e-8, "tau": 1e-9}


def test_first_round_is_the_planner_run_and_counts_add_up():
    """Round 1 of run_dispatch is exactly ``run_planner(max_iters=multiplier_every, eps=0, tau)``
    at the starting multiplier; counters accumulate over rounds. Kills: the iteration or
    evaluation counters starting at 1 or subtracting, wall time subtracted, eps/tau not passed
    through (the planner's defaults 1e-15 / 1e-10 or eps = 1 stop differently)."""
    from mechanism import run_planner

    case = load_case("ieee30")
    problem = dispatch_problem(case)
    x0 = torch.as_tensor((case.pmin + case.pmax) / 2).reshape(1, -1, 1)
    step = dispatch_step_sizes(problem)
    for tau in (1e-300, 1e-3):
        one = run_planner(problem, GradientAgents(step), problem.project(x0), max_iters=40, eps=0.0, tau=tau,
                          record_actions=False, record_every=40)
        res = run_dispatch(problem, GradientAgents(step), x0, multiplier_every=40, max_rounds=1, tau=tau)
        assert (res.iterations, res.evaluations, res.rounds) == (one.iterations, one.evaluations, 1), tau
        np.testing.assert_allclose(res.P, one.X[0, :, 0].numpy(), rtol=0, atol=0)
        assert len(res.trace) == 1 and res.trace[0][:2] == (one.iterations, 0.0)
        assert res.trace[0][2] == pytest.approx(float(one.X.sum()) - case.demand, abs=1e-9)
        many = run_dispatch(problem, GradientAgents(step), x0, multiplier_every=40, max_rounds=5, tau=tau)
        its = [t[0] for t in many.trace]
        assert its[0] == one.iterations and many.iterations == its[-1]
        assert many.evaluations >= many.iterations and many.wall_seconds >= 0.0
    single = run_dispatch(problem, GradientAgents(step), x0, multiplier_every=1, max_rounds=1)  # smallest legal
    assert single.rounds == 1 and single.iterations == 1 and len(single.trace) == 1


def test_run_dispatch_errors_name_the_argument():
    """Kills: the validators given the wrong argument name (the message names the argument)."""
    case = load_case("wood_wollenberg_3a")
    problem = dispatch_problem(case)
    x0 = torch.as_tensor((case.pmin + case.pmax) / 2).reshape(1, -1, 1)
    pol = GradientAgents(dispatch_step_sizes(problem))
    for kw, name in (({"multiplier_every": 0}, "multiplier_every"), ({"max_rounds": 0}, "max_rounds"),
                     ({"balance_tol": -1.0}, "balance_tol"), ({"tau": -1.0}, "tau")):
        with pytest.raises(InvalidParameterError, match=rf"(^|\W){name}(\W|$)"):
            run_dispatch(problem, pol, x0, **kw)
    with pytest.raises(Exception, match=r"(^|\W)x0(\W|$)"):
        run_dispatch(problem, pol, torch.full((1, 3, 1), float("nan"), dtype=torch.float64))


def test_normalized_loss_is_per_instance():
    """Kills: ``costs.sum(-1)`` → ``costs.sum(None)`` in the scaled loss (sums over the batch)."""
    case = load_case("wood_wollenberg_3a")
    p = dispatch_problem(case, normalized=True)
    X = torch.tensor([[[0.25], [0.5], [1.0]], [[0.0], [0.1], [0.9]]], dtype=torch.float64)
    both = p.loss(X)
    assert both.shape == (2,)
    for b in range(2):
        assert float(both[b]) == pytest.approx(float(p.loss(X[b:b + 1])[0]), rel=1e-14)
