"""mechanism.core.dpm.incentives: the method dispatch, the types and the validation switch (mutation survivors).

A problem whose registered closed-form gradient is deliberately *not* the true gradient tells
which path ran: ``auto``/``analytic`` must return it, ``autograd`` must not.
"""
from __future__ import annotations

import math

import pytest
import torch

from mechanism import DDAG, InvalidParameterError, Problem, incentives
from mechanism.errors import NonFiniteError


def _problem(gradient_fn=None, w_belief=1.0, w_true=3.0):
    """L = w (x1 + x2 − 2)² + x1² + x2² with a type w in the loss."""
    g = DDAG()
    g.add_agents("x", n=2)
    g.add_data("w", float(w_belief))
    g.add_function("system", lambda x, w: w * (x.sum(dim=(1, 2)) - 2.0) ** 2, inputs=["x", "w"])
    g.add_function("costs", lambda x: (x ** 2).sum(-1), inputs=["x"])
    g.add_function("loss", lambda s, c: s + c.sum(-1), inputs=["system", "costs"])
    g.set_loss("loss")
    return Problem(g, data={"w": torch.tensor(float(w_belief), dtype=torch.float64)},
                   true_types={"w": torch.tensor(float(w_true), dtype=torch.float64)},
                   system_node="system", costs_node="costs", lower=float("-inf"), gradient_fn=gradient_fn)


def _marker(X, data):
    """A 'closed form' that is recognisably not the gradient: loss 7, gradient 5."""
    return torch.full(X.shape[:1], 7.0, dtype=X.dtype), torch.full_like(X, 5.0)


X = torch.tensor([[[0.5], [0.25]]], dtype=torch.float64)


def _true_grad(w, x=(0.5, 0.25)):
    s = sum(x)
    return [2 * w * (s - 2) + 2 * xi for xi in x]


def test_auto_and_analytic_use_the_closed_form_autograd_does_not():
    """Kills: ``method != "autograd"`` → ``== "autograd"`` or a misspelt method name in the test."""
    p = _problem(gradient_fn=_marker)
    for method in ("auto", "analytic"):
        r = incentives(p, X, method=method)
        assert r.G.flatten().tolist() == [-5.0, -5.0] and r.loss.tolist() == [7.0], method
    r = incentives(p, X, method="autograd")
    assert r.G.flatten().tolist() == pytest.approx([-g for g in _true_grad(1.0)], abs=1e-14)


def test_analytic_without_a_closed_form_raises():
    """Kills: the ``method == "analytic"`` test misspelt (it would silently use autograd)."""
    with pytest.raises(InvalidParameterError, match="no gradient_fn"):
        incentives(_problem(), X, method="analytic")
    with pytest.raises(InvalidParameterError, match="method must be"):
        incentives(_problem(), X, method="fast")


def test_autograd_path_evaluates_the_requested_types():
    """Kills: the autograd path dropping ``types`` (always the belief)."""
    p = _problem()
    for types, w in (("belief", 1.0), ("true", 3.0)):
        r = incentives(p, X, types=types)
        assert r.G.flatten().tolist() == pytest.approx([-g for g in _true_grad(w)], abs=1e-14), types
        assert float(r.loss[0]) == pytest.approx(w * (0.75 - 2) ** 2 + 0.5 ** 2 + 0.25 ** 2, abs=1e-14)


def test_validate_false_skips_only_the_finiteness_check():
    """Kills: ``check_finite=validate`` dropped (validate=False would still scan for NaN/inf)."""
    p = _problem()
    bad = torch.tensor([[[math.nan], [0.25]]], dtype=torch.float64)
    with pytest.raises(NonFiniteError):
        incentives(p, bad)
    r = incentives(p, bad, validate=False)                     # the caller vouched for X: no scan
    assert math.isnan(float(r.loss[0]))
