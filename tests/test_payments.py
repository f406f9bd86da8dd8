"""VCG (Clarke pivot) payments and DPM prices on small aggregative instances."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from mechanism import aggregative_problem
from mechanism.design import allocate, dpm_prices, misreport_gain, vcg_payments


def closed_form_transfers(Y, lam):
    lam = np.asarray(lam, float)
    K = (1 / lam).sum()
    x = Y / (lam * (1 + K))
    social = Y ** 2 / (1 + K)
    pivots = np.array([Y ** 2 / (1 + K - 1 / l) for l in lam])  # optimum of the others alone
    return x, pivots - (social - lam * x ** 2)


def test_vcg_matches_closed_form():
    lam = [0.1, 0.5, 0.2, 0.4, 0.6]
    p = aggregative_problem(5, 7.461, lam)
    r = vcg_payments(p)
    x, t = closed_form_transfers(7.461, lam)
    np.testing.assert_allclose(r.x.numpy().ravel(), x, atol=1e-12)
    np.testing.assert_allclose(r.transfers, t, atol=1e-8)
    assert (r.true_utilities >= -1e-9).all()  # individually rational


def test_dpm_price_equals_marginal_cost_at_optimum():
    lam = torch.tensor([0.1, 0.5, 0.2])
    p = aggregative_problem(3, 4.0, lam)
    x = allocate(p)
    np.testing.assert_allclose(dpm_prices(p, x).ravel(), (2 * lam * x.ravel()).numpy(), atol=1e-12)


@settings(max_examples=8, deadline=None)
@given(lam=st.lists(st.floats(0.05, 2.0), min_size=2, max_size=4), Y=st.floats(1.0, 10.0),
       agent=st.integers(0, 3))
def test_truthful_reporting_is_dominant(lam, Y, agent):
    agent = agent % len(lam)
    p = aggregative_problem(len(lam), Y, lam)
    res = misreport_gain(p, agent, np.linspace(0.02, 3.0, 7))
    assert res["max_gain"] <= 1e-8


def test_misreport_gain_with_true_type_differing_from_belief():
    # the Planner believes 0.1 but agent 0's truth is 0.3: reporting the truth is best
    p = aggregative_problem(3, 5.0, [0.1, 0.5, 0.2], true_lam=[0.3, 0.5, 0.2])
    res = misreport_gain(p, 0, [0.1, 0.2, 0.3, 0.4])
    assert res["gains"][2] == pytest.approx(0.0, abs=1e-10)
    assert res["max_gain"] <= 1e-10
