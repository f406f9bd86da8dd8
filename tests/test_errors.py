"""Bad input gets a clear error naming the parameter and value, before any state changes."""
import math

import pytest
import torch

from mechanism import (DDAG, GradientAgents, GraphError, InvalidParameterError, NonFiniteError,
                       SatisficingAgents, ShapeMismatchError, aggregative_problem, incentives,
                       run_planner)


@pytest.mark.parametrize("lam", [0.0, -0.1, math.nan, [0.1, 0.0, 0.2]])
def test_nonpositive_lambda(lam):
    with pytest.raises(InvalidParameterError, match="lam must be finite and > 0"):
        aggregative_problem(3, 10.0, lam)


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_number_of_agents(n):
    with pytest.raises(InvalidParameterError, match="n_agents"):
        aggregative_problem(n, 10.0, 0.1)


def test_nan_actions_rejected():
    p = aggregative_problem(3, 10.0, 0.1)
    with pytest.raises(NonFiniteError, match="X must be finite"):
        incentives(p, torch.tensor([1.0, math.nan, 0.0]))
    with pytest.raises(NonFiniteError, match="x0 must be finite"):
        run_planner(p, GradientAgents(0.01), [math.inf, 0.0, 0.0])


def test_mismatched_shapes_rejected():
    p = aggregative_problem(3, 10.0, 0.1)
    with pytest.raises(ShapeMismatchError, match=r"X must have shape \(B, 3, 1\)"):
        incentives(p, torch.zeros(4))
    with pytest.raises(ShapeMismatchError, match="step_size must be a scalar"):
        run_planner(p, GradientAgents([0.1, 0.2]), torch.zeros(3))


def test_cyclic_graph_rejected():
    g = DDAG()
    g.add_agents("a", n=1)
    g.add_function("f", lambda a, h: a.sum((1, 2)) + h, inputs=["a", "h"])
    g.add_function("h", lambda f: f, inputs=["f"])
    g.set_loss("f")
    with pytest.raises(GraphError, match="cycle"):
        aggregative_problem  # noqa: B018 (keeps the import used)
        from mechanism import Problem
        Problem(g)


@pytest.mark.parametrize("kwargs,match", [
    ({"max_iters": -1}, "max_iters"), ({"eps": -1.0}, "eps"), ({"record_every": 0}, "record_every"),
])
def test_bad_planner_parameters(kwargs, match):
    p = aggregative_problem(3, 10.0, 0.1)
    with pytest.raises(InvalidParameterError, match=match):
        run_planner(p, GradientAgents(0.01), torch.zeros(3), **kwargs)


def test_bad_agent_parameters():
    with pytest.raises(InvalidParameterError, match="step_size"):
        GradientAgents(0.0)
    with pytest.raises(InvalidParameterError, match="exactly one of time_cost"):
        SatisficingAgents(0.1)
    with pytest.raises(InvalidParameterError, match="time_cost"):
        SatisficingAgents(0.1, time_cost=-1.0)


def test_failed_with_belief_leaves_problem_unchanged():
    p = aggregative_problem(3, 10.0, 0.1)
    before = {k: v.clone() for k, v in p.belief.items()}
    with pytest.raises(NonFiniteError):
        p.with_belief(lam=torch.tensor([0.1, math.nan, 0.1]))
    with pytest.raises(GraphError, match="not a data node"):
        p.with_data(nope=1.0)
    assert all(torch.equal(before[k], p.belief[k]) for k in before)


def test_require_finite_number_refuses_strings_and_bools_that_float_would_accept():
    import numpy as np
    from mechanism.errors import InvalidParameterError, require_finite_number
    for bad in ("10", b"1", True):
        with pytest.raises(InvalidParameterError, match=r"Y must be a finite number, got"):
            require_finite_number("Y", bad)
    assert require_finite_number("Y", np.float32(2.5)) == 2.5 and require_finite_number("Y", 3) == 3.0
