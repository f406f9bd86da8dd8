"""DPM incentives against central finite differences on random D-DAGs, and the fast path."""
import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mechanism import DDAG, Problem, aggregative_problem, incentives

UNARY = {
    "tanh": torch.tanh,
    "sin": torch.sin,
    "square": lambda v: v ** 2,
    "softplus": torch.nn.functional.softplus,
    "scale": lambda v: 0.7 * v,
}


def _reduce(v: torch.Tensor) -> torch.Tensor:
    """Any node value to shape (B,)."""
    return v.reshape(v.shape[0], -1).sum(-1) if v.ndim > 1 else v


@st.composite
def random_problems(draw):
    """A random D-DAG: agent nodes (vectors of agents, some transforming upstream values),
    function nodes mixing earlier nodes with smooth ops, a loss summing the sinks."""
    g = DDAG()
    dim = draw(st.integers(1, 2))
    names = []
    for k in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 4))
        name = f"agents{k}"
        if names and draw(st.booleans()):
            up = draw(st.sampled_from(names))
            g.add_agents(name, n=n, dim=dim, inputs=[up],
                         output=lambda x, u: x * (1 + 0.1 * torch.tanh(_reduce(u))).reshape(-1, 1, 1))
        else:
            g.add_agents(name, n=n, dim=dim)
        names.append(name)
    for k in range(draw(st.integers(1, 4))):
        a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        op = UNARY[draw(st.sampled_from(sorted(UNARY)))]
        g.add_function(f"f{k}", lambda u, v, op=op: op(_reduce(u)) * 0.5 + _reduce(v) ** 2 * 0.1,
                       inputs=[a, b])
        names.append(f"f{k}")
    g.add_function("loss", lambda *vals: sum(_reduce(v) for v in vals), inputs=names)
    g.set_loss("loss")
    p = Problem(g)
    seed = draw(st.integers(0, 10_000))
    X = torch.randn(2, p.n_agents, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return p, X


def central_differences(problem, X, h=1e-6):
    grad = torch.zeros_like(X)
    for idx in torch.cartesian_prod(*[torch.arange(s) for s in X.shape[1:]]).reshape(-1, 2).tolist():
        i, j = idx
        e = torch.zeros_like(X)
        e[:, i, j] = h
        grad[:, i, j] = (problem.loss(X + e) - problem.loss(X - e)) / (2 * h)
    return grad


@settings(max_examples=40, deadline=None)
@given(random_problems())
def test_incentive_equals_minus_finite_difference_gradient(case):
    problem, X = case
    inc = incentives(problem, X)
    fd = central_differences(problem, X)
    assert torch.allclose(inc.G, -fd, atol=1e-6, rtol=1e-6)
    assert torch.allclose(inc.loss, problem.loss(X))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 30), Y=st.floats(-20, 20), seed=st.integers(0, 9999),
       offset=st.floats(-5, 5), symmetric=st.booleans())
def test_analytic_fast_path_equals_autograd(n, Y, seed, offset, symmetric):
    gen = torch.Generator().manual_seed(seed)
    lam = 0.3 if symmetric else (torch.rand(n, generator=gen, dtype=torch.float64) * 5 + 0.01)
    p = aggregative_problem(n, Y, lam, offset=offset, lower=-math.inf)
    X = torch.randn(3, n, 1, generator=gen, dtype=torch.float64) * 3
    fast, slow = incentives(p, X, method="analytic"), incentives(p, X, method="autograd")
    assert torch.allclose(fast.G, slow.G, atol=1e-10, rtol=1e-12)
    assert torch.allclose(fast.loss, slow.loss, atol=1e-10, rtol=1e-12)


def test_belief_and_truth_give_different_incentives():
    p = aggregative_problem(3, 10.0, [0.1, 0.2, 0.3], true_lam=[0.3, 0.2, 0.3])
    X = torch.ones(1, 3, 1, dtype=torch.float64)
    g_belief = incentives(p, X, types="belief").G
    g_true = incentives(p, X, types="true").G
    assert float(g_belief[0, 0, 0] - g_true[0, 0, 0]) == pytest_approx(2 * (0.3 - 0.1) * 1.0)
    assert torch.equal(g_belief[0, 1:], g_true[0, 1:])


def pytest_approx(v):
    import pytest
    return pytest.approx(v, abs=1e-12)
