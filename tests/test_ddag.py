"""D-DAG structure: building, validation errors that name the nodes, O(N) graph size."""
import pytest
import torch

from mechanism import DDAG, GraphError, ShapeMismatchError, aggregative_problem, assembly_line_problem, incentives


def _tiny_graph():
    g = DDAG()
    g.add_agents("a", n=2)
    g.add_function("s", lambda x: x.sum((1, 2)), inputs=["a"])
    return g


def test_cycle_is_named():
    g = _tiny_graph()
    g.add_function("f", lambda s, h: s + h, inputs=["s", "h"])
    g.add_function("h", lambda f: f, inputs=["f"])
    g.set_loss("f")
    with pytest.raises(GraphError, match=r"cycle: .*(f -> h|h -> f)"):
        g.validate()


def test_dangling_edge_is_named():
    g = _tiny_graph()
    g.add_function("loss", lambda s, m: s + m, inputs=["s", "missing"])
    g.set_loss("loss")
    with pytest.raises(GraphError, match="dangling edge 'missing' -> 'loss'"):
        g.validate()


def test_agent_not_reaching_loss_is_rejected():
    g = _tiny_graph()
    g.add_agents("b", n=1)
    g.set_loss("s")
    with pytest.raises(GraphError, match="agent node 'b' does not reach the loss"):
        g.validate()


def test_loss_shape_mismatch_is_named():
    g = DDAG()
    g.add_agents("a", n=3)
    g.add_function("loss", lambda x: x.sum(-1), inputs=["a"])  # (B, 3), not (B,)
    g.set_loss("loss")
    with pytest.raises(ShapeMismatchError, match="loss node 'loss' must return shape"):
        g.loss(torch.zeros(2, 3, 1, dtype=torch.float64))


def test_node_failure_names_node_and_input_shapes():
    g = DDAG()
    g.add_agents("a", n=3)
    g.add_data("w", torch.ones(4, dtype=torch.float64))
    g.add_function("loss", lambda x, w: (x[..., 0] * w).sum(-1), inputs=["a", "w"])
    g.set_loss("loss")
    with pytest.raises(ShapeMismatchError, match="node 'loss' failed on inputs with shapes"):
        g.loss(torch.zeros(1, 3, 1, dtype=torch.float64))


def test_mixed_action_dims_rejected():
    g = DDAG()
    g.add_agents("a", n=1, dim=2)
    with pytest.raises(ShapeMismatchError, match="agent node 'b' has dim=1"):
        g.add_agents("b", n=1, dim=1)


def test_assembly_line_is_a_chain_a1_a2_loss():
    p = assembly_line_problem()
    order = p.ddag.topological_order()
    assert order.index("A1") < order.index("A2") < order.index("loss")
    assert ("A1", "A2") in p.ddag.edges()
    # x1 = 1, x2 = -1: A2's output is 0, L = (0 - 2)^2 + 0.5 * 1 = 4.5
    assert float(p.loss(p.as_actions([1.0, -1.0]))[0]) == pytest.approx(4.5)


def _graph_size(grad_fn) -> int:
    seen, stack = set(), [grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        stack.extend(f for f, _ in fn.next_functions)
    return len(seen)


def test_aggregative_graph_has_constant_number_of_ops():
    """One sum node over a vector of N agents: the reverse graph has the same number of ops for
    every N, each op linear in N, so a reverse pass is O(N) in time and memory."""
    sizes = []
    for n in (10, 1000, 100_000):
        p = aggregative_problem(n, 10.0, 0.1)
        X = torch.rand(1, n, 1, dtype=torch.float64, requires_grad=True)
        sizes.append(_graph_size(p.loss(X).grad_fn))
    assert sizes[0] == sizes[1] == sizes[2]


def test_incentive_memory_linear_in_n():
    """The saved tensors of the reverse graph hold O(N) numbers (here at most a few N)."""
    for n in (100, 10_000):
        p = aggregative_problem(n, 10.0, 0.1)
        X = torch.rand(1, n, 1, dtype=torch.float64, requires_grad=True)
        loss = p.loss(X)
        saved = 0
        seen, stack = set(), [loss.grad_fn]
        while stack:
            fn = stack.pop()
            if fn is None or fn in seen:
                continue
            seen.add(fn)
            for attr in dir(fn):
                if attr.startswith("_saved_"):
                    val = getattr(fn, attr)
                    if isinstance(val, torch.Tensor):
                        saved += val.numel()
            stack.extend(f for f, _ in fn.next_functions)
        assert saved <= 8 * n + 16
    assert incentives(p, X.detach()).G.shape == (1, n, 1)
