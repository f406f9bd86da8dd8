"""mechanism.design recomputed in numpy with hidden types and a non-zero null action.

The existing tests use belief = truth and null action 0 (where C_i(a₀) = 0), under which a
sign error in the pivot, scoring utilities with the belief, or a wrong null action default cannot
show; these tests recompute every VCG field from the closed forms.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mechanism import DDAG, Problem, aggregative_problem
from mechanism.design import allocate, dpm_prices, misreport_gain, vcg_payments

Y = 6.0
BELIEF = np.array([0.2, 0.5, 0.4, 0.3])
TRUE = np.array([0.3, 0.5, 0.2, 0.6])


def _problem():
    return aggregative_problem(4, Y, BELIEF.tolist(), true_lam=TRUE.tolist())


def _x_star(lam, target=Y):
    return target / (lam * (1.0 + np.sum(1.0 / lam)))


def _numpy_vcg(belief, true, a0):
    x = _x_star(belief)
    social = (x.sum() - Y) ** 2 + np.sum(belief * x ** 2)
    costs = belief * x ** 2
    pivots = np.array([(Y - a0) ** 2 / (1.0 + np.sum(1.0 / np.delete(belief, i))) for i in range(len(belief))])
    transfers = pivots - (social - costs)
    return x, social, costs, pivots, transfers, transfers - true * x ** 2


def test_allocate_is_the_exact_closed_form_and_falls_back_to_the_solver():
    """Kills: allocate ignoring the closed form (L-BFGS-B is ~1e-9 off, not 1e-13), the
    ``is not None`` test inverted, and the solver fallback's arguments (problem, types) mutated."""
    x = allocate(_problem())
    assert x.shape == (4, 1) and x.dtype == torch.float64
    np.testing.assert_allclose(x[:, 0].numpy(), _x_star(BELIEF), rtol=0, atol=1e-14)
    # no closed form: L = w (x1 + x2 − 2)² + x1² + x2², belief w = 1 → x_i = 2w/(1 + 2w) = 2/3
    # (the truth w = 3 would give 6/7): the L-BFGS-B fallback, under the belief
    p = _typed_system(1.0, 3.0)
    assert p.optimum() is None
    xc = allocate(p)
    assert xc.shape == (2, 1)
    np.testing.assert_allclose(xc[:, 0].numpy(), [2 / 3, 2 / 3], atol=1e-6)


@pytest.mark.parametrize("a0", [0.0, 0.5])
def test_vcg_fields_recomputed_with_hidden_types_and_null_action(a0):
    """Kills: the pivot adding C_i(a₀) instead of removing it (invisible at a₀ = 0), social cost or
    costs scored with the truth, true utilities scored with the belief or with t + C, fields
    dropped (None) or the null action not recorded."""
    r = vcg_payments(_problem(), null_action=a0)
    x, social, costs, pivots, transfers, utilities = _numpy_vcg(BELIEF, TRUE, a0)
    np.testing.assert_allclose(r.x[:, 0].numpy(), x, atol=1e-12)
    assert r.social_cost == pytest.approx(social, abs=1e-10)
    np.testing.assert_allclose(r.costs, costs, atol=1e-10)
    np.testing.assert_allclose(r.pivots, pivots, atol=1e-8)
    np.testing.assert_allclose(r.transfers, transfers, atol=1e-8)
    np.testing.assert_allclose(r.true_utilities, utilities, atol=1e-8)
    assert r.null_action == a0 and isinstance(r.null_action, float)


def _numpy_utility(agent, report, a0=0.0):
    """Agent's true utility under VCG when it reports ``report`` (others the belief)."""
    b = BELIEF.copy()
    b[agent] = report
    x = _x_star(b)
    others = (x.sum() - Y) ** 2 + np.sum(b * x ** 2) - b[agent] * x[agent] ** 2
    pivot = (Y - a0) ** 2 / (1.0 + np.sum(1.0 / np.delete(BELIEF, agent)))
    return pivot - others - TRUE[agent] * x[agent] ** 2


def test_misreport_gain_recomputed_and_its_record():
    """Kills: the truthful utility with the wrong null action default (1.0) or pivot, gains
    scored with the belief, the record's keys renamed, the empty-grid max_gain not 0.0."""
    p = _problem()
    reports = [0.1, 0.3, 0.6]
    g = misreport_gain(p, 0, reports)
    assert set(g) == {"reports", "gains", "max_gain", "truthful_utility"}
    u_truth = _numpy_utility(0, TRUE[0])
    assert g["truthful_utility"] == pytest.approx(u_truth, abs=1e-8)
    assert g["truthful_utility"] == pytest.approx(float(vcg_payments(p.with_belief(lam=torch.tensor(
        [TRUE[0], *BELIEF[1:]]))).true_utilities[0]), abs=1e-8)
    np.testing.assert_allclose(g["gains"], [_numpy_utility(0, r) - u_truth for r in reports], atol=1e-8)
    assert g["max_gain"] == max(g["gains"]) and g["max_gain"] <= 1e-9     # truthful is a best response
    off = misreport_gain(p, 0, [0.1, 0.6])                              # a grid without the truth
    assert off["max_gain"] == max(off["gains"]) < -1e-3
    assert g["reports"] == reports
    empty = misreport_gain(p, 1, [])
    assert empty["gains"] == [] and empty["reports"] == [] and empty["max_gain"] == 0.0
    assert misreport_gain(p, 1, [], null_action=0.5)["truthful_utility"] == pytest.approx(
        _numpy_utility(1, TRUE[1], 0.5), abs=1e-8)


def _typed_system(w_belief, w_true):
    """L = w (x1 + x2 − 2)² + x1² + x2²: a system loss that depends on a type w."""
    g = DDAG()
    g.add_agents("x", n=2)
    g.add_data("w", float(w_belief))
    g.add_function("system", lambda x, w: w * (x.sum(dim=(1, 2)) - 2.0) ** 2, inputs=["x", "w"])
    g.add_function("costs", lambda x: (x ** 2).sum(-1), inputs=["x"])
    g.add_function("loss", lambda s, c: s + c.sum(-1), inputs=["system", "costs"])
    g.set_loss("loss")
    return Problem(g, data={"w": torch.tensor(float(w_belief), dtype=torch.float64)},
                   true_types={"w": torch.tensor(float(w_true), dtype=torch.float64)},
                   system_node="system", costs_node="costs", lower=float("-inf"))


def test_dpm_prices_use_the_requested_types_and_the_first_instance():
    """p_i = −∂L_system/∂x_i = −2w(Σx − 2). Kills: dpm_prices ignoring ``types``."""
    p = _typed_system(1.0, 3.0)
    X = torch.tensor([[[0.5], [0.25]]], dtype=torch.float64)
    np.testing.assert_allclose(dpm_prices(p, X)[:, 0], [-2 * 1.0 * (0.75 - 2)] * 2, atol=1e-14)
    np.testing.assert_allclose(dpm_prices(p, X, types="true")[:, 0], [-2 * 3.0 * (0.75 - 2)] * 2, atol=1e-14)
    both = torch.cat([X, X + 1.0])                                  # (2, N, d): only the first is priced
    assert dpm_prices(p, both).shape == (2, 1)
    np.testing.assert_allclose(dpm_prices(p, both), dpm_prices(p, X), atol=0)
