"""The batched D-DAG engine equals the autograd reference (built-in problems and random graphs);
engine selection, reporting and errors; plan caching (mechanism.engines.batched, issue 21)."""
import functools
import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mechanism import (DDAG, GradientAgents, InvalidParameterError, Problem, aggregative_problem,
                       assembly_line_problem, coupled_resource_problem, incentives, nonconvex_problem, run_planner)
from mechanism.core.exploration import coupled_rastrigin_problem
from mechanism.engines.batched import ENGINES, TRACE_AFTER, batched_plan
from mechanism.problems.dispatch import dispatch_problem
from mechanism.problems.supply_chain import supply_chain_problem

TOL = 1e-12


def _random_actions(problem, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    lo = torch.clamp(problem.lower, min=-3.0)
    hi = torch.clamp(problem.upper, max=3.0)
    hi = torch.where(hi > lo, hi, lo + 1.0)
    return lo + (hi - lo) * torch.rand(batch, problem.n_agents, problem.action_dim, dtype=torch.float64, generator=gen)


def _assert_equal_to_reference(problem, X, types="belief", engines=("batched", "traced", "auto")):
    ref = incentives(problem, X, method="autograd", engine="autograd", types=types)
    assert ref.engine == "autograd"
    scale_l = max(1.0, float(ref.loss.abs().max()))
    scale_g = max(1.0, float(ref.G.abs().max()))
    for engine in engines:
        got = incentives(problem, X, method="autograd", engine=engine, types=types)
        assert got.engine in ({"batched"} if engine == "batched" else {"batched", "traced", "autograd"})
        assert float((got.loss - ref.loss).abs().max()) <= TOL * scale_l, engine
        assert float((got.G - ref.G).abs().max()) <= TOL * scale_g, engine
    return got


BUILT_INS = {
    "aggregative": lambda: aggregative_problem(7, lam=torch.linspace(0.1, 1.0, 7), true_lam=0.3),
    "assembly_line": assembly_line_problem,
    "coupled_resource": coupled_resource_problem,
    "nonconvex": nonconvex_problem,
    "supply_chain": lambda: supply_chain_problem((3, 4, 4, 3), 4, 2, seed=1),
    "supply_chain_variadic": lambda: supply_chain_problem((3, 4, 4, 3), 4, 2, seed=1, aggregation="variadic"),
    "supply_chain_deep": lambda: supply_chain_problem(5, 6, 3, seed=2),
    "dispatch": lambda: dispatch_problem("ieee118"),
    "dispatch_normalized": lambda: dispatch_problem("ieee30", normalized=True, multiplier=3.0),
    "coupled_rastrigin": lambda: coupled_rastrigin_problem(5, 5.0),
}


@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_batched_engine_equals_autograd_on_every_built_in_problem(name):
    problem = BUILT_INS[name]()
    for batch, seed in ((1, 0), (3, 1)):
        X = _random_actions(problem, batch, seed)
        _assert_equal_to_reference(problem, X)
        _assert_equal_to_reference(problem, X, types="true")


def test_supply_chain_groups_its_facilities_and_both_aggregations_give_the_same_incentives():
    stacked = supply_chain_problem(6, 4, 2, seed=0)
    variadic = supply_chain_problem(6, 4, 2, seed=0, aggregation="variadic")
    X = _random_actions(stacked, 2, 3)
    a, b = incentives(stacked, X), incentives(variadic, X, engine="autograd")
    assert a.engine == "batched"
    assert torch.allclose(a.G, b.G, rtol=0, atol=TOL * max(1.0, float(b.G.abs().max())))
    assert torch.allclose(a.loss, b.loss, rtol=TOL, atol=0)
    assert incentives(stacked, X, engine="traced").engine == "traced"
    plan = batched_plan(stacked.ddag, X, stacked.data())
    nodes = len(stacked.ddag.topological_order())
    assert plan.n_stacked > 0 and plan.n_groups < nodes / 4 and not plan.fallbacks
    assert plan.trace_failure is None and plan.joint_failure is None and plan.joint_runner is not None
    assert plan.traced_loss(X, stacked.data()) is not None and plan.n_traced_ops is not None  # traced on request


# ----------------------------------------------------------------------------- random graphs
def _f_add(a, b):
    return a + b


def _f_mul(a, b):
    return a * b


def _f_sin(a):
    return torch.sin(a)


def _f_scaled_square(c, a):
    return c * a ** 2


def _f_tanh_gate(a, b):
    return torch.tanh(a) * b


def _f_roll(k, a):
    return a.roll(k, dims=-1) - 0.5 * a


def _f_branchy(a):
    """Python control flow on a value: vmap refuses it, so the plan falls back to one call per node."""
    return 2.0 * a if float(a.detach().sum()) > 0 else a - 1.0


def _f_data_scale(a, w):
    return a * w


def _f_agent_shift(c, x, up):
    return x + c * up


def _f_total(*parts):
    return sum(p.sum(dim=(1, 2)) for p in parts)


def _f_stacked_total(s):
    return (s ** 2).sum(dim=tuple(range(1, s.ndim))) * 0.1 + s.sum(dim=tuple(range(1, s.ndim)))


UNARY = [_f_sin, functools.partial(_f_scaled_square, 0.5), functools.partial(_f_scaled_square, 2.0),
         functools.partial(_f_roll, 1), _f_branchy]
BINARY = [_f_add, _f_mul, _f_tanh_gate]


@st.composite
def random_ddags(draw):
    """A random D-DAG: agent nodes of one size, a few node functions reused many times (so levels
    hold groups of the same function), data nodes of two shapes, and a stack or variadic loss."""
    n, d = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    g = DDAG()
    values, used = [], set()
    n_agents = draw(st.integers(2, 7))
    for i in range(n_agents):
        if values and draw(st.booleans()):
            up = draw(st.sampled_from(values))
            g.add_agents(f"a{i}", n=n, dim=d, inputs=[up],
                         output=functools.partial(_f_agent_shift, draw(st.sampled_from([0.5, 1.0]))))
            used.add(up)
        else:
            g.add_agents(f"a{i}", n=n, dim=d)
        values.append(f"a{i}")
    for j in range(draw(st.integers(0, 3))):
        g.add_data(f"w{j}", torch.linspace(0.5, 1.5, d, dtype=torch.float64) * (j + 1) if j % 2 else 0.7 + j)
        w = f"w{j}"
        src = draw(st.sampled_from(values))
        g.add_function(f"dw{j}", _f_data_scale, inputs=[src, w])
        used.add(src)
        values.append(f"dw{j}")
    for k in range(draw(st.integers(1, 14))):
        if draw(st.booleans()):
            fn, ins = draw(st.sampled_from(UNARY)), [draw(st.sampled_from(values))]
        else:
            fn, ins = draw(st.sampled_from(BINARY)), [draw(st.sampled_from(values)), draw(st.sampled_from(values))]
        g.add_function(f"f{k}", fn, inputs=ins)
        used.update(ins)
        values.append(f"f{k}")
    sinks = [v for v in values if v not in used]
    if draw(st.booleans()):
        g.add_stack("all", sinks, dim=draw(st.sampled_from([1, -1, 2])))
        g.add_function("loss", _f_stacked_total, inputs=["all"])
    else:
        g.add_function("loss", _f_total, inputs=sinks)
    g.set_loss("loss")
    return g


@settings(max_examples=25)
@given(random_ddags(), st.integers(1, 3), st.integers(0, 2 ** 16))
def test_batched_engine_equals_autograd_on_random_graphs(g, batch, seed):
    problem = Problem(g, lower=-2.0, upper=2.0)
    X = _random_actions(problem, batch, seed)
    _assert_equal_to_reference(problem, X, engines=("batched", "auto"))
    # the plan is cached and gives the same numbers again at another point
    _assert_equal_to_reference(problem, _random_actions(problem, batch, seed + 1), engines=("batched",))


@pytest.mark.slow
@settings(max_examples=40)
@given(random_ddags(), st.integers(1, 3), st.integers(0, 2 ** 16))
def test_traced_engine_equals_autograd_on_random_graphs(g, batch, seed):
    problem = Problem(g, lower=-2.0, upper=2.0)
    _assert_equal_to_reference(problem, _random_actions(problem, batch, seed), engines=("traced",))
    _assert_equal_to_reference(problem, _random_actions(problem, batch, seed + 1), engines=("traced",))


def test_auto_traces_a_plan_after_its_first_calls():
    chain = supply_chain_problem(2, 3, 1, seed=0)
    X = _random_actions(chain, 1, 0)
    used = [incentives(chain, X).engine for _ in range(TRACE_AFTER + 1)]
    assert used[:TRACE_AFTER] == ["batched"] * TRACE_AFTER and used[-1] == "traced"
    _assert_equal_to_reference(chain, X, engines=("auto",))


def test_a_function_vmap_cannot_run_falls_back_to_one_call_per_node():
    g = DDAG()
    for i in range(4):
        g.add_agents(f"a{i}", n=1)
        g.add_function(f"b{i}", _f_branchy, inputs=[f"a{i}"])
    g.add_function("loss", _f_total, inputs=[f"b{i}" for i in range(4)])
    g.set_loss("loss")
    problem = Problem(g)
    X = _random_actions(problem, 1, 0)
    _assert_equal_to_reference(problem, X)
    plan = batched_plan(g, X, problem.data())
    assert plan.fallbacks and plan.fallbacks[0][0] == [f"b{i}" for i in range(4)]


def test_a_plan_that_cannot_be_traced_runs_eagerly_and_says_so():
    g = DDAG()
    for i in range(3):
        g.add_agents(f"a{i}", n=1)
        g.add_function(f"s{i}", _f_sin, inputs=[f"a{i}"])
    g.add_function("b", _f_branchy, inputs=["s0"])   # value-dependent Python: make_fx cannot trace it
    g.add_function("loss", _f_total, inputs=["b", "s1", "s2"])
    g.set_loss("loss")
    problem = Problem(g)
    for seed in range(3):
        _assert_equal_to_reference(problem, _random_actions(problem, 1, seed))
    X = _random_actions(problem, 1, 0)
    assert incentives(problem, X, engine="traced").engine == "batched"
    plan = batched_plan(g, X, problem.data())
    assert plan.trace_failure is not None and plan.joint_failure is not None


# ----------------------------------------------------------------------------- selection and errors
def test_engine_selection_and_reporting():
    chain = supply_chain_problem(3, 4, 2, seed=0)
    X = _random_actions(chain, 1, 0)
    assert chain.engine == "auto" and incentives(chain, X).engine == "batched"
    assert incentives(chain, X, engine="batched").engine == "batched"
    assert incentives(chain, X, engine="traced").engine == "traced"
    assert incentives(chain, X, engine="autograd").engine == "autograd"
    reference = chain.with_engine("autograd")
    assert reference.engine == "autograd" and chain.engine == "auto"
    assert incentives(reference, X).engine == "autograd"
    assert incentives(reference, X, engine="batched").engine == "batched"
    line = assembly_line_problem()   # nothing to group: auto keeps the reference
    assert incentives(line, torch.ones(2, 1, dtype=torch.float64)).engine == "autograd"
    agg = aggregative_problem(5)
    assert incentives(agg, torch.ones(5, 1, dtype=torch.float64)).engine == "analytic"
    assert incentives(agg, torch.ones(5, 1, dtype=torch.float64), method="autograd").engine in ("autograd", "batched")
    assert set(ENGINES) == {"auto", "autograd", "batched", "traced"}


@pytest.mark.parametrize("bad", ["fast", "Batched", "", None, 3])
def test_bad_engine_names_are_refused_naming_the_parameter(bad):
    chain = supply_chain_problem(2, 3, 1, seed=0)
    X = _random_actions(chain, 1, 0)
    if bad is not None:
        with pytest.raises(InvalidParameterError, match="engine"):
            incentives(chain, X, engine=bad)
    with pytest.raises(InvalidParameterError, match="engine"):
        chain.with_engine(bad)
    with pytest.raises(InvalidParameterError, match="engine"):
        chain.loss(X, engine=bad if bad is not None else 0)
    with pytest.raises(InvalidParameterError, match="engine"):
        Problem(chain.ddag, engine=bad)
    assert chain.engine == "auto"


def test_stack_node_arguments_are_checked():
    g = DDAG()
    g.add_agents("a", n=1)
    with pytest.raises(InvalidParameterError, match="inputs"):
        g.add_stack("s", [])
    with pytest.raises(InvalidParameterError, match="dim"):
        g.add_stack("s", ["a"], dim=1.5)


# ----------------------------------------------------------------------------- caching and data
def test_plan_follows_data_changes_in_place_and_by_override():
    p = dispatch_problem("ieee30", normalized=True)
    X = _random_actions(p, 2, 0)
    _assert_equal_to_reference(p, X)
    _assert_equal_to_reference(p.with_data(mu=7.5, D=200.0), X)
    chain = supply_chain_problem(4, 4, 2, seed=0)
    before = incentives(chain, X[:, :0].new_ones(1, chain.n_agents, 2))
    chain.belief["alpha:plant_1"].mul_(3.0)  # a data value modified in place is seen
    after = _assert_equal_to_reference(chain, X[:, :0].new_ones(1, chain.n_agents, 2))
    assert not torch.equal(before.G, after.G)


def test_plan_is_cached_per_batch_size_and_rebuilt_when_the_graph_changes():
    chain = supply_chain_problem(3, 4, 2, seed=0)
    X1, X4 = _random_actions(chain, 1, 0), _random_actions(chain, 4, 0)
    p1 = batched_plan(chain.ddag, X1, chain.data())
    batched_plan(chain.ddag, X4, chain.data())
    assert batched_plan(chain.ddag, X1, chain.data()) is p1
    g = DDAG()
    g.add_agents("a", n=1)
    g.add_agents("b", n=1)
    g.add_function("sa", _f_sin, inputs=["a"])
    g.add_function("sb", _f_sin, inputs=["b"])
    g.add_function("loss", _f_total, inputs=["sa", "sb"])
    g.set_loss("loss")
    X = torch.ones(1, 2, 1, dtype=torch.float64)
    first = batched_plan(g, X, {})
    g.add_data("unused", 1.0)
    assert batched_plan(g, X, {}) is not first


def test_problem_pickles_after_batched_evaluation():
    chain = supply_chain_problem(3, 4, 2, seed=0)
    X = _random_actions(chain, 1, 0)
    G = incentives(chain, X).G
    clone = pickle.loads(pickle.dumps(chain))
    assert torch.equal(incentives(clone, X).G, G)
    traced = incentives(chain, X, engine="traced").G  # a plan holding a TorchScript graph pickles too
    assert torch.equal(incentives(pickle.loads(pickle.dumps(chain)), X, engine="traced").G, traced)


def test_run_planner_gets_the_batched_engine_with_the_same_iterates():
    chain = supply_chain_problem(3, 4, 2, seed=0)
    x0 = torch.zeros(chain.n_agents, 2, dtype=torch.float64)
    runs = [run_planner(p, GradientAgents(0.05), x0, max_iters=30, eps=0.0, tau=0.0, record_actions=False)
            for p in (chain, chain.with_engine("autograd"))]
    assert runs[0].iterations == runs[1].iterations == 30
    assert float((runs[0].X - runs[1].X).abs().max()) <= TOL * max(1.0, float(runs[1].X.abs().max()))
    assert abs(float(runs[0].loss[0] - runs[1].loss[0])) <= TOL * max(1.0, abs(float(runs[1].loss[0])))


def test_float32_problems_group_too_and_agree_to_float32_rounding():
    chain = supply_chain_problem(4, 4, 2, seed=0).to(dtype=torch.float32)
    X = _random_actions(chain, 2, 0).to(torch.float32)
    ref = incentives(chain, X, engine="autograd")
    for engine in ("batched", "traced"):
        got = incentives(chain, X, engine=engine)
        assert got.engine == engine and got.G.dtype == torch.float32
        assert float((got.G - ref.G).abs().max()) <= 1e-5 * max(1.0, float(ref.G.abs().max()))
    plan = batched_plan(chain.ddag, X, chain.data())
    assert plan.n_stacked > 0 and not plan.fallbacks


def test_the_benchmarks_vectorised_reference_is_the_same_loss():
    from experiments.bench_ddag import _gradient_of, vectorised_supply_chain

    chain = supply_chain_problem(5, 4, 2, seed=3)
    X = _random_actions(chain, 2, 1)
    loss, G = _gradient_of(vectorised_supply_chain(chain))(X)
    ref = incentives(chain, X, engine="autograd")
    assert float((G - ref.G).abs().max()) <= TOL * max(1.0, float(ref.G.abs().max()))
    assert float((loss - ref.loss).abs().max()) <= TOL * max(1.0, float(ref.loss.abs().max()))


def test_bench_script_parses_before_heavy_imports():
    import subprocess
    import sys

    code = ("import sys; sys.argv = ['bench_ddag', '--out', 'x']; import scripts.bench_ddag as b; "
            "b.build_parser().parse_args(['--out', 'x']); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    with pytest.raises(SystemExit):
        __import__("scripts.bench_ddag", fromlist=["main"]).main(["--out", "x", "--repeats", "0"])


def test_planner_result_names_the_ddag_engine_that_ran():
    """run_planner's ``engine`` reports the D-DAG engine of the incentives, not a fixed 'autograd'."""
    import torch
    from mechanism import GradientAgents, aggregative_problem, nonconvex_problem, run_planner
    from mechanism.problems.supply_chain import supply_chain_problem
    p = supply_chain_problem()
    x0 = torch.zeros(p.n_agents, p.action_dim, dtype=torch.float64)
    assert run_planner(p, GradientAgents(1e-3), x0, max_iters=2).engine in ("batched", "traced")
    assert run_planner(p.with_engine("autograd"), GradientAgents(1e-3), x0, max_iters=2).engine == "autograd"
    assert run_planner(nonconvex_problem(), GradientAgents(0.01), torch.ones(2), max_iters=2).engine == "autograd"
    assert run_planner(aggregative_problem(3), GradientAgents(0.1), torch.ones(3), max_iters=2,
                       method="analytic").engine == "analytic"


# ----------------------------------------------------------------------------- the joint graph
def test_traced_incentives_run_one_scripted_graph_of_both_passes_and_equal_the_reference():
    chain = supply_chain_problem(5, 4, 2, seed=0)
    X = _random_actions(chain, 2, 4)
    _assert_equal_to_reference(chain, X, engines=("traced",))
    plan = batched_plan(chain.ddag, X, chain.data())
    assert plan.joint_failure is None and plan.joint_runner == "torchscript"
    assert plan.n_traced_ops is None  # the forward-only graph is traced only when a loss alone is asked for
    plan.traced_loss(X, chain.data())
    assert plan._joint.n_ops > plan.n_traced_ops  # the reverse pass is in the joint graph


def test_joint_graph_falls_back_to_fx_then_to_autograd(monkeypatch):
    import mechanism.engines.batched as batched
    import mechanism.engines.joint as joint

    monkeypatch.setattr(joint, "_script", lambda *a: None)  # no TorchScript: the fx graph runs
    chain = supply_chain_problem(4, 4, 2, seed=1)
    X = _random_actions(chain, 1, 0)
    _assert_equal_to_reference(chain, X, engines=("traced",))
    assert batched_plan(chain.ddag, X, chain.data()).joint_runner == "fx"

    def broken(*args, **kwargs):
        raise RuntimeError("no joint graph here")

    monkeypatch.setattr(batched, "trace_joint", broken)  # no joint graph: autograd through the traced loss
    chain = supply_chain_problem(4, 4, 2, seed=1)
    got = _assert_equal_to_reference(chain, X, engines=("traced",))
    plan = batched_plan(chain.ddag, X, chain.data())
    assert got.engine == "traced" and plan.joint_runner is None
    assert plan.joint_failure == "RuntimeError: no joint graph here"


def test_a_joint_graph_that_disagrees_is_refused():
    from mechanism.engines.joint import trace_joint

    def forward(x, w):
        return (w * x ** 2).sum(dim=(1, 2))

    X, w = torch.ones(1, 3, 1, dtype=torch.float64), torch.full((1, 3, 1), 2.0, dtype=torch.float64)
    good = trace_joint(forward, X, [w], (forward(X, w), 4.0 * X), 1e-12)
    loss, grad = good(X * 3, w)
    assert torch.equal(loss, forward(X * 3, w)) and torch.equal(grad, 12.0 * X)
    with pytest.raises(RuntimeError, match="disagrees"):
        trace_joint(forward, X, [w], (forward(X, w), 5.0 * X), 1e-12)


def test_the_joint_graph_check_is_relative_to_the_scale_and_refuses_shape_and_nan_mismatches():
    """Mutation run 7's survivors: the tolerance is rtol · max(1, |want|), and a different shape or a
    NaN where the reference is finite is refused whatever the difference."""
    from mechanism.engines.joint import trace_joint

    def forward(x, w):
        return (w * x ** 2).sum(dim=(1, 2))

    X, w = torch.ones(1, 3, 1, dtype=torch.float64), torch.full((1, 3, 1), 2.0, dtype=torch.float64)
    loss, grad = forward(X, w), 4.0 * X
    trace_joint(forward, X, [w * 1e6], (loss * 1e6 * (1 + 1e-14), grad * 1e6), 1e-12)  # relative 1e-14: accepted
    small = torch.full((1, 3, 1), 0.1, dtype=torch.float64)
    with pytest.raises(RuntimeError):  # |want| < 1: the absolute floor is 1 · rtol, so 1.5 rtol is refused
        trace_joint(forward, X, [small], (forward(X, small) + 1.5e-12, 0.2 * X), 1e-12)
    with pytest.raises(RuntimeError):
        trace_joint(forward, X, [w], (loss.reshape(1, 1), grad), 1e-12)
    with pytest.raises(RuntimeError):
        trace_joint(forward, X, [w], (loss, torch.full_like(grad, float("nan"))), 1e6)


def test_a_scripted_graph_that_cannot_run_leaves_the_fx_graph(monkeypatch):
    import mechanism.engines.joint as joint

    def unrunnable(*args):
        raise RuntimeError("scripted graph broken")

    monkeypatch.setattr(joint, "_script", lambda *a: unrunnable)
    chain = supply_chain_problem(3, 4, 2, seed=2)
    X = _random_actions(chain, 1, 1)
    _assert_equal_to_reference(chain, X, engines=("traced",))
    assert batched_plan(chain.ddag, X, chain.data()).joint_runner == "fx"


def test_a_plan_is_traced_jointly_once(monkeypatch):
    import mechanism.engines.batched as batched

    calls = []
    real = batched.trace_joint
    monkeypatch.setattr(batched, "trace_joint", lambda *a, **k: calls.append(1) or real(*a, **k))
    chain = supply_chain_problem(3, 4, 2, seed=2)
    X = _random_actions(chain, 1, 2)
    for _ in range(3):
        incentives(chain, X, engine="traced")
    assert len(calls) == 1


def test_auto_traces_the_incentives_of_an_ungrouped_plan_after_more_calls(monkeypatch):
    import mechanism.engines.batched as batched

    assert batched.TRACE_UNGROUPED_AFTER > TRACE_AFTER
    monkeypatch.setattr(batched, "TRACE_UNGROUPED_AFTER", 30)  # the switch, not the constant, is tested
    problem = nonconvex_problem()
    X = _random_actions(problem, 1, 5)
    ref = incentives(problem, X, method="autograd", engine="autograd")
    used = [incentives(problem, X, method="autograd").engine for _ in range(31)]
    assert used[:30] == ["autograd"] * 30 and used[-1] == "traced"
    late = incentives(problem, X, method="autograd")
    assert torch.allclose(late.G, ref.G, rtol=TOL, atol=0) and torch.allclose(late.loss, ref.loss, rtol=TOL, atol=0)
    assert problem.evaluate_loss(X)[1] == "autograd"  # a loss alone keeps the reference


def test_an_ungrouped_plan_that_cannot_be_traced_keeps_the_reference(monkeypatch):
    import mechanism.engines.batched as batched

    monkeypatch.setattr(batched, "TRACE_UNGROUPED_AFTER", 2)

    def broken(*args, **kwargs):
        raise RuntimeError("untraceable")

    monkeypatch.setattr(batched, "trace_joint", broken)
    problem = nonconvex_problem()
    X = _random_actions(problem, 1, 6)
    assert [incentives(problem, X, method="autograd").engine for _ in range(4)] == ["autograd"] * 4


def test_loss_and_grad_rebuild_a_stale_plan_and_take_no_data():
    """A data value that changes shape makes the plan stale: it is rebuilt, under the engine asked for
    (mutation run 7: this path and ``data=None`` were untested)."""
    from mechanism.engines.batched import ddag_loss_and_grad

    g = DDAG()
    for i in range(3):
        g.add_agents(f"a{i}", n=1)
        g.add_data(f"w{i}", torch.ones(1, 1))
        g.add_function(f"s{i}", _f_data_scale, inputs=[f"a{i}", f"w{i}"])
    g.add_function("loss", _f_total, inputs=["s0", "s1", "s2"])
    g.set_loss("loss")
    X = torch.arange(1.0, 4.0, dtype=torch.float64).reshape(1, 3, 1)
    loss, grad, used = ddag_loss_and_grad(g, X, None, "traced")
    assert used == "traced" and torch.equal(grad, torch.ones_like(X)) and float(loss) == 6.0
    wide = {f"w{i}": torch.full((1,), 2.0, dtype=torch.float64) for i in range(3)}  # another shape: stale
    loss, grad, used = ddag_loss_and_grad(g, X, wide, "traced")
    assert used == "traced" and torch.equal(grad, torch.full_like(X, 2.0)) and float(loss) == 12.0


@pytest.mark.parametrize("bad", ["magic", None, 3])
def test_the_engine_functions_refuse_a_bad_engine_name(bad):
    from mechanism.engines.batched import ddag_loss, ddag_loss_and_grad

    chain = supply_chain_problem(3, 4, 2, seed=0)
    X = _random_actions(chain, 1, 0)
    for fn in (ddag_loss, ddag_loss_and_grad):
        with pytest.raises(InvalidParameterError, match="engine"):
            fn(chain.ddag, X, chain.data(), bad)
