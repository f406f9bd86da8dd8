"""Payment rules, priors and the IC audit against closed forms and textbook properties."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from mechanism import InvalidParameterError, aggregative_problem
from mechanism.design.ic_audit import (AuditConfig, audit_c17, closed_form_ex_post, coalition_regret, ex_post_regret,
                                interim_regret, maximize_scalar)
from mechanism.design import (AGV, VCG, DPMLinearPrice, GrovesFamily, NoPayment, ReportingGame, aggregative_game,
                                  budget_surplus, efficiency_loss)
from mechanism.design import vcg_payments
from mechanism.design.priors import (FiniteTypes, GridPosterior, IndependentPrior, mc_estimate, quadratic_best_response,
                              simulate_responses)

LAM, Y = (0.1, 0.5, 0.2, 0.4, 0.6), 7.461


def uniform_prior(n, lo=0.05, hi=1.0):
    return IndependentPrior.iid(torch.distributions.Uniform(torch.tensor(lo, dtype=torch.float64),
                                                            torch.tensor(hi, dtype=torch.float64)), n)


def own_report_bonus(game, i, R):
    """A planted non-IC Groves term: it depends on agent i's OWN report (paid 2 per unit reported)."""
    return 2.0 * R[:, i]


# ---------------------------------------------------------------------------- closed forms vs generic
def test_closed_form_game_matches_generic_problem_path():
    fast = aggregative_game(LAM, Y)
    slow = ReportingGame(aggregative_problem(5, Y, LAM), report_low=0.05, report_high=1.0)
    R = np.array([[0.1, 0.5, 0.2, 0.4, 0.6], [0.3, 0.2, 0.2, 0.9, 0.6]])
    X = fast.allocate(R)
    np.testing.assert_allclose(X, slow.allocate(R), atol=1e-12)
    np.testing.assert_allclose(fast.prices(X, R), slow.prices(X, R), atol=1e-12)
    np.testing.assert_allclose(fast.social_cost(X, R), slow.social_cost(X, R), atol=1e-12)
    np.testing.assert_allclose(fast.pivot(2, R), slow.pivot(2, R), atol=1e-9)  # solver pivot


def test_vcg_rule_equals_payments_module():
    game = aggregative_game(LAM, Y)
    ref = vcg_payments(aggregative_problem(5, Y, LAM))
    np.testing.assert_allclose(VCG().transfers(game, game.truth)[0], ref.transfers, atol=1e-9)


def test_dpm_price_transfer_closed_form():
    # p = 2Y/(1+K) for every agent, t_i = p x_i = 2Y²/(λ_i (1+K)²)
    game = aggregative_game(LAM, Y)
    lam = np.array(LAM)
    K = (1 / lam).sum()
    np.testing.assert_allclose(DPMLinearPrice().transfers(game, lam)[0], 2 * Y ** 2 / (lam * (1 + K) ** 2), rtol=1e-12)


def test_dpm_search_matches_closed_form_regret_and_best_report():
    game = aggregative_game(LAM, Y)
    found = ex_post_regret(game, DPMLinearPrice(), n_grid=21, n_starts=3)
    exact = closed_form_ex_post(game, "dpm")
    for f, e in zip(found, exact):
        assert f["regret"] == pytest.approx(e["regret"], rel=1e-9, abs=1e-12)
        assert f["best_report"] == pytest.approx(e["best_report"], rel=1e-5)
    lam = np.array(LAM)
    B0 = 1 + (1 / lam[1:]).sum()
    assert exact[0]["best_report"] == pytest.approx(0.1 + 1 / B0)  # over-reports its cost
    assert exact[0]["regret"] == pytest.approx(Y ** 2 / (B0 * (2 + 0.1 * B0) * (1 + 0.1 * B0) ** 2))


def test_no_payment_reports_the_upper_bound():
    game = aggregative_game(LAM, Y)
    found = ex_post_regret(game, NoPayment(), n_grid=11, n_starts=2)
    for f, e in zip(found, closed_form_ex_post(game, "none")):
        assert f["best_report"] == pytest.approx(1.0)
        assert f["regret"] == pytest.approx(e["regret"], rel=1e-9)


# ---------------------------------------------------------------------------- IC properties
@settings(max_examples=10, deadline=None)
@given(lam=st.lists(st.floats(0.06, 0.95), min_size=2, max_size=5), Yv=st.floats(1.0, 10.0),
       share=st.floats(0.0, 0.9))
def test_vcg_regret_is_zero_on_random_problems(lam, Yv, share):
    game = aggregative_game(lam, Yv, offset=share * Yv)
    res = ex_post_regret(game, VCG(), n_grid=9, n_starts=1)
    assert max(r["regret"] for r in res) <= 1e-9
    # and DPM's is strictly positive whenever the closed form says so (it always does)
    dpm = max(r["regret"] for r in closed_form_ex_post(game, "dpm"))
    assert dpm > 0


def test_planted_non_ic_rule_is_caught():
    game = aggregative_game(LAM, Y)
    planted = GrovesFamily(own_report_bonus, "planted")
    res = ex_post_regret(game, planted, n_grid=11, n_starts=2)
    assert min(r["regret"] for r in res) > 0.1
    assert all(r["best_report"] > r["truth"] for r in res)


def test_vcg_is_not_collusion_proof_but_groves_unilateral_is():
    game = aggregative_game(LAM, Y)
    pair = coalition_regret(game, VCG(), pairs=[(0, 1)], n_grid=9, n_starts=1)[0]
    assert pair["regret"] > 0.01  # two agents jointly over-report and both gain


def test_maximize_scalar_finds_interior_and_boundary_maxima():
    inner = maximize_scalar(lambda r: -(r - 0.3712) ** 2, 0.0, 1.0, n_grid=5, n_starts=2)
    assert inner["x"] == pytest.approx(0.3712, abs=1e-6)
    edge = maximize_scalar(lambda r: r, 0.0, 1.0, n_grid=5, n_starts=2)
    assert edge["x"] == pytest.approx(1.0) and edge["value"] == pytest.approx(1.0)


# ---------------------------------------------------------------------------- AGV and priors
def test_agv_budget_balanced_ex_post_and_ex_ante():
    game = aggregative_game(LAM, Y)
    prior = uniform_prior(5)
    agv = AGV(prior, n_samples=128, seed=1)
    P = prior.sample(64, seed=3)
    surplus = budget_surplus(game, agv, P)
    assert np.abs(surplus).max() <= 1e-12          # ex post, by construction
    vcg_surplus = mc_estimate(budget_surplus(game, VCG(), P))
    assert vcg_surplus.high < -1.0                 # VCG runs a deficit


def test_agv_is_bayesian_ic_exactly_on_finite_prior_and_dpm_is_not():
    prior = IndependentPrior([FiniteTypes([0.1, 0.3]), FiniteTypes([0.2, 0.5]), FiniteTypes([0.4])])
    game = aggregative_game([0.1, 0.5, 0.4], Y)
    for t in (0.1, 0.3):
        agv = interim_regret(game, AGV(prior), prior, 0, t, n_grid=15, n_starts=2)
        assert agv["exact"] and agv["regret"] <= 1e-9
        dpm = interim_regret(game, DPMLinearPrice(), prior, 0, t, n_grid=15, n_starts=2)
        assert dpm["regret"] > 1e-3


def test_agv_interim_regret_small_to_mc_accuracy_on_continuous_prior():
    prior = uniform_prior(3)
    game = aggregative_game([0.3, 0.5, 0.4], Y)
    r = interim_regret(game, AGV(prior, n_samples=512, seed=0), prior, 0, 0.3, n_train=256, n_test=512,
                       n_grid=15, n_starts=2)
    d = interim_regret(game, DPMLinearPrice(), prior, 0, 0.3, n_train=256, n_test=512, n_grid=15, n_starts=2)
    assert r["gain"]["ci_low"] <= 0.01 and r["regret"] < 0.1 * d["regret"]


def test_bayes_dpm_ignores_agent_0s_report_and_pays_c17_penalty():
    result = audit_c17(AuditConfig.tiny(n_grid=7, dsic_profiles=0, dsic_refine=0, ir_bb_profiles=1))
    ax = result["claim_axis"]
    assert ax["bayes_dpm_ignored_reports"] == [0]
    bd = result["rules"]["bayes_dpm"]
    assert all(r["agents"] != [0] for r in bd["interim"])          # agent 0's report is never read
    assert bd["efficiency_loss"] == pytest.approx(0.1241, abs=1e-3)  # C.17's penalty at true λ_1 = 0.3
    assert result["rules"]["agv"]["max_interim_regret"] <= 1e-9


def test_efficiency_loss_zero_for_truthful_reports_positive_otherwise():
    game = aggregative_game(LAM, Y)
    assert efficiency_loss(game, VCG(), LAM, LAM)[0] == pytest.approx(0.0, abs=1e-12)
    assert efficiency_loss(game, VCG(), [0.3, 0.5, 0.2, 0.4, 0.6], LAM)[0] > 0.01


def test_prior_sampling_is_seeded_and_finite_prior_enumerates():
    prior = uniform_prior(3)
    np.testing.assert_array_equal(prior.sample(5, seed=2), prior.sample(5, seed=2))
    assert not np.array_equal(prior.sample(5, seed=2), prior.sample(5, seed=3))
    fin = IndependentPrior([FiniteTypes([0.1, 0.3], [0.25, 0.75]), FiniteTypes([1.0, 2.0])])
    values, weights = fin.enumerate()
    assert values.shape == (4, 2) and weights.sum() == pytest.approx(1.0)
    assert np.dot(weights, values[:, 0]) == pytest.approx(0.25)


def test_posterior_concentrates_on_the_truth():
    truth, sigma = 0.3, 0.05
    post = GridPosterior(torch.distributions.Uniform(torch.tensor(0.05, dtype=torch.float64),
                                                     torch.tensor(1.0, dtype=torch.float64)))
    prior_std = post.std
    rng = np.random.default_rng(0)
    stds = []
    for k, n in enumerate((5, 45, 450)):
        prices = rng.uniform(0.5, 2.0, n)
        post.observe(prices, simulate_responses(truth, prices, sigma, seed=k), sigma)
        stds.append(post.std)
        lo, hi = post.credible_interval(0.99)
        assert lo <= truth <= hi
    assert stds[0] < prior_std and stds[2] < stds[0] / 5   # ~1/sqrt(n): 500 vs 5 observations → ×10
    assert abs(post.mean - truth) < 0.01 and post.n_observations == 500


def test_quadratic_best_response_is_price_over_twice_lambda():
    assert quadratic_best_response(2.0, 0.5) == pytest.approx(2.0)


def test_bad_inputs_raise_named_errors():
    game = aggregative_game(LAM, Y)
    with pytest.raises(ValueError, match="reports"):
        DPMLinearPrice().transfers(game, [0.1, 0.2])
    with pytest.raises(InvalidParameterError, match="finite"):
        game.allocate([0.1, np.nan, 0.2, 0.4, 0.6])
    with pytest.raises(InvalidParameterError, match="Y >= offset"):
        aggregative_game(LAM, -1.0)
    with pytest.raises(InvalidParameterError, match="probs"):
        FiniteTypes([0.1, 0.2], [0.5, 0.6])
    with pytest.raises(InvalidParameterError, match="report bounds"):
        ReportingGame(aggregative_problem(2, 1.0, 0.5), report_low=1.0, report_high=0.5)


def test_dpm_relative_regret_closed_form_and_large_market_decay():
    from mechanism.design.ic_audit import dpm_regret_vs_n
    rows = dpm_regret_vs_n((2, 5, 100), lam=0.1, Y=10.0, search_up_to=5)
    for r in rows:
        B = 1 + (r["n_agents"] - 1) / 0.1
        assert r["relative_regret"] == pytest.approx(1 / (0.1 * B * (2 + 0.1 * B)), rel=1e-9)
    assert rows[0]["search_regret"] == pytest.approx(rows[0]["regret"], rel=1e-8)
    assert rows[2]["relative_regret"] < 1e-3 < rows[0]["relative_regret"]


def test_verdicts_decided_in_code():
    from mechanism.design.ic_audit import audit_rule
    game = aggregative_game([0.1, 0.5, 0.4], Y)
    prior = IndependentPrior([FiniteTypes([0.1, 0.3]), FiniteTypes([0.5]), FiniteTypes([0.4])])
    cfg = AuditConfig.tiny(n_grid=7)
    v = audit_rule(game, VCG(), prior=prior, config=cfg, coalitions=False)["verdict"]
    assert (v["dsic"], v["bic"], v["ir"], v["budget_balanced"]) == ("proved", "proved", "proved", "violated")
    d = audit_rule(game, DPMLinearPrice(), prior=prior, config=cfg, coalitions=False)["verdict"]
    assert d["dsic"] == "violated" and d["bic"] == "violated"
    a = audit_rule(game, AGV(prior), prior=prior, config=cfg, coalitions=False)["verdict"]
    assert (a["bic"], a["budget_balanced"], a["dsic"]) == ("proved", "proved", "violated")
    assert a["holds"] == {"dsic": False, "ir": False, "budget_balanced": True, "bic": True}


def test_generic_solver_path_audit_agrees_with_closed_form():
    # no closed_form: allocation via the Problem's optimum, Clarke pivots by L-BFGS-B (cached)
    game = ReportingGame(aggregative_problem(3, 4.0, [0.2, 0.5, 0.4]), report_low=0.05, report_high=1.0)
    vcg = ex_post_regret(game, VCG(), agents=[0], n_grid=5, n_starts=1, n_lbfgs=0)[0]
    assert vcg["regret"] <= 1e-9
    dpm = ex_post_regret(game, DPMLinearPrice(), agents=[0], n_grid=5, n_starts=1, n_lbfgs=0)[0]
    exact = closed_form_ex_post(aggregative_game([0.2, 0.5, 0.4], 4.0), "dpm")[0]
    assert dpm["regret"] == pytest.approx(exact["regret"], rel=1e-6)


def test_qmc_draws_are_seeded_and_more_accurate_than_their_size_suggests():
    prior = uniform_prior(3)
    a, b = prior.sample_qmc(256, seed=4), prior.sample_qmc(256, seed=4)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0.05 and a.max() <= 1.0
    # plain MC's standard error of the mean here is 0.274/16 ≈ 0.017; scrambled Sobol does far better
    assert np.abs(a.mean(0) - 0.525).max() < 2e-3
