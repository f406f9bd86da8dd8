"""Economic dispatch: published data, the textbook answer, the solver, and MBI agents reaching both."""
import pickle

import numpy as np
import pytest
import torch

from mechanism import GradientAgents, InvalidParameterError, incentives
from mechanism.problems.dispatch import (CASES, dispatch_problem, dispatch_step_sizes, lambda_iteration, load_case,
                                price, run_dispatch, solve_dispatch)

# Wood & Wollenberg, Example 3A (850 MW): the textbook's dispatch and system marginal price
TEXTBOOK_P = np.array([393.2, 334.6, 122.2])
TEXTBOOK_LAMBDA = 9.148


def test_textbook_example_3a_by_lambda_iteration_and_solver():
    case = load_case("wood_wollenberg_3a")
    P, lam = lambda_iteration(case)
    sol = solve_dispatch(case)
    assert np.allclose(P, TEXTBOOK_P, atol=0.05) and abs(lam - TEXTBOOK_LAMBDA) < 5e-4
    assert sol.success and np.allclose(sol.P, P, atol=1e-4) and abs(sol.lam - lam) < 1e-6
    assert abs(P.sum() - 850.0) < 1e-9


@pytest.mark.parametrize("name", sorted(CASES))
def test_lambda_iteration_matches_trust_constr(name):
    case = load_case(name)
    P, lam = lambda_iteration(case)
    sol = solve_dispatch(case)
    assert sol.success and np.abs(sol.P - P).max() < 1e-3 * max(1.0, case.demand / 100)
    assert abs(sol.lam - lam) < 1e-6 * max(1.0, lam)
    assert abs(P.sum() - case.demand) < 1e-8 and (P >= case.pmin).all() and (P <= case.pmax).all()


def test_published_case_sizes_and_demands():
    assert (load_case("ieee30").n_units, load_case("ieee30").demand) == (6, 189.2)
    assert (load_case("ieee118").n_units, load_case("ieee118").demand) == (54, 4242.0)


@pytest.mark.parametrize("name", ["wood_wollenberg_3a", "ieee118"])
def test_mbi_units_reach_reference_dispatch_and_price(name):
    case = load_case(name)
    P, lam = lambda_iteration(case)
    problem = dispatch_problem(case)
    x0 = torch.as_tensor((case.pmin + case.pmax) / 2).reshape(1, -1, 1)
    res = run_dispatch(problem, GradientAgents(dispatch_step_sizes(problem)), x0, multiplier_every=200, max_rounds=300)
    assert res.converged and abs(res.balance) < 1e-8
    assert np.abs(res.P - P).max() < 1e-6 and abs(res.price - lam) < 1e-8
    if name == "wood_wollenberg_3a":
        assert abs(res.price - TEXTBOOK_LAMBDA) < 5e-4


def test_price_is_minus_balance_derivative_and_gradient_matches_autograd():
    problem = dispatch_problem("ieee30", multiplier=3.0)
    X = torch.rand(4, 6, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 40
    a = incentives(problem, X, method="autograd")
    b = incentives(problem, X, method="analytic")
    assert torch.allclose(a.G, b.G, atol=1e-12) and torch.allclose(a.loss, b.loss)
    c = problem.data()["c"]; bb = problem.data()["b"]
    # G_i = π − F_i'(P_i)
    expect = torch.as_tensor(price(problem, X)).reshape(-1, 1) - (bb + 2 * c * X[..., 0])
    assert torch.allclose(a.G[..., 0], expect, atol=1e-12)


def test_problem_pickles_and_optimum_is_the_lambda_iteration():
    problem = pickle.loads(pickle.dumps(dispatch_problem("wood_wollenberg_3a")))
    opt = problem.optimum()
    P, _ = lambda_iteration(load_case("wood_wollenberg_3a"))
    assert np.allclose(opt.x.numpy().ravel(), P) and abs(opt.loss - 8194.3561212702) < 1e-6


def test_bad_inputs_raise():
    with pytest.raises(InvalidParameterError, match="case"):
        load_case("ieee14")
    with pytest.raises(InvalidParameterError, match="demand"):
        load_case("wood_wollenberg_3a", demand=5000.0)
    with pytest.raises(InvalidParameterError, match="rho"):
        dispatch_problem("ieee30", rho=0.0)
    with pytest.raises(InvalidParameterError, match="demand"):
        dispatch_problem("ieee30", demand=float("nan"))


def test_normalized_form_is_the_same_problem_on_unit_scales():
    case = load_case("ieee30")
    P, lam = lambda_iteration(case)
    mw = dispatch_problem(case, multiplier=lam)
    unit = dispatch_problem(case, multiplier=lam, normalized=True)
    opt = unit.optimum()
    u = opt.x.unsqueeze(0)
    from mechanism.problems.dispatch import megawatts
    assert np.allclose(megawatts(unit, u)[0], P, atol=1e-12)
    scale = float(unit.data()["scale"])
    assert abs(float(unit.loss(u)[0]) * scale - float(mw.loss(torch.as_tensor(P).reshape(1, -1, 1))[0])) < 1e-8
    assert abs(price(unit, u)[0] - lam) < 1e-9 and float(unit.upper.max()) == 1.0
    # at u* the normalised incentives vanish (interior units) or push into the bound (units at a limit)
    G = incentives(unit, u).G[0, :, 0].numpy()
    interior = (P > case.pmin + 1e-9) & (P < case.pmax - 1e-9)
    assert np.abs(G[interior]).max() < 1e-9


from hypothesis import given, settings, strategies as st  # noqa: E402

from mechanism.problems.dispatch import DispatchCase  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 8), st.floats(0.05, 0.95), st.integers(0, 10_000))
def test_lambda_iteration_satisfies_the_kkt_conditions(n, fill, seed):
    """Random feasible cases: balance holds, interior units share one marginal cost λ, units at
    Pmin have marginal cost ≥ λ, units at Pmax ≤ λ (equal incremental cost with limits)."""
    rng = np.random.default_rng(seed)
    pmin = rng.uniform(0, 50, n)
    pmax = pmin + rng.uniform(10, 200, n)
    D = float(pmin.sum() + fill * (pmax - pmin).sum())
    case = DispatchCase("random", "test", D, rng.uniform(0, 100, n), rng.uniform(5, 15, n),
                        rng.uniform(1e-3, 1e-2, n), pmin, pmax)
    P, lam = lambda_iteration(case)
    mc = case.b + 2 * case.c * P
    assert abs(P.sum() - D) < 1e-8 * max(1.0, D)
    interior = (P > pmin + 1e-9) & (P < pmax - 1e-9)
    assert np.all(np.abs(mc[interior] - lam) < 1e-8)
    assert np.all(mc[P <= pmin + 1e-9] >= lam - 1e-8) and np.all(mc[P >= pmax - 1e-9] <= lam + 1e-8)
