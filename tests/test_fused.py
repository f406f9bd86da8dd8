"""The fused one-pass DPM step equals the generic autograd planner; device/dtype plumbing."""
import math
import pickle

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings, strategies as st

from mechanism import (BestResponseAgents, GradientAgents, InvalidParameterError, MomentumAgents, aggregative_problem,
                       run_planner)
from mechanism.engines.fused import FusedAggregative, numba_available
from mechanism.problems import aggregative_optimal_loss
from experiments.instances import random_aggregative_instance

BACKENDS = ["torch"] + (["numba"] if numba_available() else [])


_random_instance = random_aggregative_instance


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 120), bounded=st.booleans())
@example(seed=432, n=1, bounded=False)  # issue 22: autograd's KKT residual 0.0, fused 4.4e-16 at the same point
def test_fused_trajectory_equals_autograd(backend, seed, n, bounded):
    """Heterogeneous λ, per-agent η, offsets, box bounds, B = 2: every recorded loss and the final
    actions agree with the generic autograd planner to 1e-12 (catches a wrong coefficient, a
    missed projection, a stale residual or a batch row mixed up). ``eps = tau = 0`` is a fixed
    budget, so the status and iteration count cannot hinge on the last ulp of a residual."""
    problem, x0, eta = _random_instance(seed, n, bounded)
    kw = dict(max_iters=40, eps=0.0, tau=0.0, record_actions=False)
    ref = run_planner(problem, GradientAgents(eta), x0, method="autograd", **kw)
    fused = run_planner(problem, GradientAgents(eta), x0, method="fused", backend=backend, **kw)
    assert fused.iterations == ref.iterations and fused.status == ref.status
    torch.testing.assert_close(fused.X, ref.X, rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.as_tensor(fused.history.loss), torch.as_tensor(ref.history.loss),
                               rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fused.G, ref.G, rtol=0, atol=1e-11)
    assert fused.kkt_residual == pytest.approx(ref.kkt_residual, rel=1e-9, abs=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stopping_does_not_hinge_on_the_last_ulp(backend):
    """The issue-22 example: at the same point autograd's KKT residual is 0.0 and the fused
    kernel's 4.4e-16 (one ulp of x = 2.69). With tolerances at or below rounding both engines
    converge at the same check (the floors ρu|L| and ρu‖|X|+|G|‖); with eps = tau = 0 both run
    the whole budget."""
    problem, x0, eta = _random_instance(432, 1, False)
    for tol, status, iters in [(0.0, "budget_exhausted", 40), (1e-300, "converged", 16)]:
        kw = dict(max_iters=40, eps=tol, tau=tol, record_actions=False)
        ref = run_planner(problem, GradientAgents(eta), x0, method="autograd", **kw)
        fused = run_planner(problem, GradientAgents(eta), x0, method="fused", backend=backend, **kw)
        assert (ref.status, ref.iterations) == (fused.status, fused.iterations) == (status, iters)
    # the residuals differ exactly as described: both below the floor, not both zero
    assert ref.kkt_residual <= 8 * 2.2205e-16 * float(x0.abs().max() + 3)
    # a tolerance above the floor is a plain tolerance: far from converged after 5 iterations
    far = run_planner(problem, GradientAgents(eta), x0, max_iters=5, eps=1e-300, tau=1e-300, check_every=1)
    assert far.status == "budget_exhausted"


def _divergence_closed_form(factor: float) -> int:
    """N = 1, λ = 1, Y = 10, no bounds, η = 1: z = x − 5 maps to −3z, L_t = 2·9^t + 50 from
    x0 = 6 (L_0 = 52). The first t with L_t > factor · 52."""
    t = 0
    while 2.0 * 9.0 ** t + 50.0 <= factor * 52.0:
        t += 1
    return t


@pytest.mark.parametrize("method,backend", [("autograd", "auto"), ("analytic", "auto")]
                         + [("fused", b) for b in BACKENDS])
@pytest.mark.parametrize("check_every", [1, 4, 7, 16])
@pytest.mark.parametrize("factor", [1e3, 1e12])
def test_diverged_at_is_exact(method, backend, check_every, factor):
    """``diverged_at`` is the first iteration whose loss exceeds the limit (closed form above),
    whatever the check stride; the state returned is the last checked one, ``x* + (−3)^t``."""
    problem = aggregative_problem(1, Y=10.0, lam=1.0, lower=float("-inf"))
    expected = _divergence_closed_form(factor)
    assert expected == {1e3: 5, 1e12: 15}[factor]  # the closed form, by hand: 2·9^4+50 < 52e3 < 2·9^5+50
    r = run_planner(problem, GradientAgents(1.0), [6.0], max_iters=100, method=method, backend=backend,
                    divergence_factor=factor, check_every=check_every, record_actions=False)
    assert r.status == "diverged" and r.diverged_at == expected
    checked = (expected - 1) // check_every * check_every
    assert r.iterations == checked
    assert float(r.X[0, 0, 0]) == 5.0 + (-3.0) ** checked
    assert list(r.history.iterations) == list(range(checked + 1))
    assert r.evaluations == checked + 1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("Y,bound", [(100.0, "upper"), (-100.0, "lower")])
def test_scalar_coefficient_kernel_applies_both_clamps(backend, Y, bound):
    """Scalar η, λ and bounds take the scalar kernel: the optimum of the unconstrained problem
    (x ≈ ±2) lies outside [−0.25, 0.5], so every agent ends on the bound, never beyond it, and
    the trajectory equals the generic planner's."""
    problem = aggregative_problem(50, Y=Y, lam=0.1, lower=-0.25, upper=0.5)
    x0 = torch.linspace(-0.2, 0.45, 50, dtype=torch.float64)
    kernel = FusedAggregative(problem, 0.01, problem.as_actions(x0).clone(), backend=backend)
    assert all(getattr(kernel.coef, k).numel() == 1 for k in ("e", "lam", "lo", "hi"))
    kw = dict(max_iters=300, record_actions=True, eps=0.0, tau=0.0)
    fused = run_planner(problem, GradientAgents(0.01), x0, method="fused", backend=backend, **kw)
    ref = run_planner(problem, GradientAgents(0.01), x0, method="analytic", **kw)
    acts = torch.as_tensor(fused.history.actions)
    assert float(acts.max()) <= 0.5 and float(acts.min()) >= -0.25
    assert torch.all(fused.X == (0.5 if bound == "upper" else -0.25))
    torch.testing.assert_close(acts, torch.as_tensor(ref.history.actions), rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fused_converges_to_closed_form_and_stops_like_generic(backend):
    problem = aggregative_problem(50, Y=10.0, lam=0.1)
    x0 = torch.rand(50, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    eta = 0.9 / (50 + 0.1)
    ref = run_planner(problem, GradientAgents(eta), x0, method="analytic", max_iters=20_000, record_actions=False)
    fused = run_planner(problem, GradientAgents(eta), x0, method="fused", backend=backend, max_iters=20_000,
                        record_actions=False)
    assert ref.status == fused.status == "converged"
    assert abs(fused.iterations - ref.iterations) <= 1
    assert float(fused.loss[0]) == pytest.approx(problem.optimum().loss, rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_storage_tracks_float64(backend):
    """float32 storage with float64 sums: the loss after 200 steps is within float32 accuracy of
    the float64 run (a float32 accumulator at N = 2e5 would be off by ~1e-4 relative)."""
    n = 200_000
    x0 = torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    eta = 0.5 / (n + 0.1)
    runs = {}
    for dtype in (torch.float64, torch.float32):
        problem = aggregative_problem(n, Y=10.0, lam=0.1, dtype=dtype)
        res = run_planner(problem, GradientAgents(eta), x0.to(dtype), method="fused", backend=backend,
                          max_iters=200, eps=0.0, tau=0.0, record_every=200, record_actions=False)
        assert res.X.dtype == dtype
        runs[dtype] = float(res.loss[0])
    assert runs[torch.float32] == pytest.approx(runs[torch.float64], rel=1e-5)
    assert runs[torch.float64] < 0.01 * float(aggregative_problem(n).loss(x0.reshape(1, n, 1))[0])


def test_generic_float32_path_keeps_dtype_and_matches_float64():
    problem32 = aggregative_problem(30, lam=0.2, dtype="float32")
    problem64 = aggregative_problem(30, lam=0.2)
    x0 = torch.rand(30, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    r32 = run_planner(problem32, MomentumAgents(0.02, beta=0.5), x0.float(), max_iters=300, record_actions=False)
    r64 = run_planner(problem64, MomentumAgents(0.02, beta=0.5), x0, max_iters=300, record_actions=False)
    assert r32.X.dtype == torch.float32 and r32.G.dtype == torch.float32
    torch.testing.assert_close(r32.X.double(), r64.X, rtol=0, atol=1e-5)


def test_scalar_lambda_and_bounds_cost_no_memory():
    problem = aggregative_problem(10**9, dtype=torch.float32)  # would be 16 GB if materialised
    assert problem.data()["lam"].stride() == (0,) and problem.lower.stride() == (0, 0)
    assert problem.optimum_fn is not None
    assert aggregative_optimal_loss(10.0, problem.data()["lam"]) == pytest.approx(0.1 * 100 / (1e9 + 0.1))


def test_check_every_keeps_divergence_iteration_exact():
    """Unclamped problem, step 1.5× the stability limit: diverged_at is the same whether the
    stopping tests run every iteration or every 7, and the returned state is finite."""
    problem = aggregative_problem(20, lam=0.1, lower=float("-inf"))
    eta = 1.5 * 2.0 / (2 * (20 + 0.1))
    x0 = torch.ones(20, dtype=torch.float64)
    every = run_planner(problem, GradientAgents(eta), x0, max_iters=5000, record_actions=False, check_every=1)
    sparse = run_planner(problem, GradientAgents(eta), x0, max_iters=5000, record_actions=False, check_every=7)
    fused = run_planner(problem, GradientAgents(eta), x0, max_iters=5000, record_actions=False, check_every=7,
                        method="fused")
    assert every.status == sparse.status == fused.status == "diverged"
    assert every.diverged_at == sparse.diverged_at == fused.diverged_at
    assert every.iterations == every.diverged_at - 1
    assert sparse.iterations <= sparse.diverged_at - 1 and sparse.iterations % 7 == 0
    assert torch.isfinite(sparse.X).all() and torch.isfinite(fused.X).all()
    assert sparse.history.iterations.max() == sparse.iterations


def test_check_every_stops_within_a_check_of_exact():
    problem = aggregative_problem(10, lam=0.5)
    x0 = torch.zeros(10, dtype=torch.float64)
    exact = run_planner(problem, GradientAgents(0.05), x0, max_iters=5000, record_actions=False, check_every=1)
    sparse = run_planner(problem, GradientAgents(0.05), x0, max_iters=5000, record_actions=False, check_every=16)
    assert exact.status == sparse.status == "converged"
    assert exact.iterations <= sparse.iterations < exact.iterations + 16


def test_fused_rejects_what_it_cannot_run():
    problem = aggregative_problem(5)
    with pytest.raises(InvalidParameterError, match="GradientAgents"):
        run_planner(problem, BestResponseAgents(schedule="sequential"), torch.zeros(5), method="fused")
    from mechanism import nonconvex_problem
    with pytest.raises(InvalidParameterError, match="fused family"):
        run_planner(nonconvex_problem(), GradientAgents(0.01), torch.zeros(2), method="fused")
    with pytest.raises(InvalidParameterError, match="backend"):
        FusedAggregative(problem, 0.01, torch.zeros(1, 5, 1, dtype=torch.float64), backend="cuda-magic")


def test_bad_device_dtype_and_inputs_are_named():
    with pytest.raises(InvalidParameterError, match="device"):
        aggregative_problem(5, device="tpu")
    with pytest.raises(InvalidParameterError, match="dtype"):
        aggregative_problem(5, dtype=torch.int64)
    with pytest.raises(InvalidParameterError, match="n_agents"):
        aggregative_problem(0)
    if not torch.cuda.is_available():
        with pytest.raises(InvalidParameterError, match="cuda"):
            aggregative_problem(5, device="cuda")
    problem = aggregative_problem(5)
    with pytest.raises(Exception, match="x0"):
        run_planner(problem, GradientAgents(0.01), torch.tensor([0.0, 1.0, float("nan"), 0.0, 0.0]), method="fused")
    with pytest.raises(InvalidParameterError, match="check_every"):
        run_planner(problem, GradientAgents(0.01), torch.zeros(5), check_every=0)


def test_problem_to_and_pickle_round_trip():
    problem = aggregative_problem(7, lam=torch.linspace(0.1, 1.0, 7), lower=-1.0, upper=2.0)
    p32 = problem.to(dtype=torch.float32)
    assert p32.dtype == torch.float32 and p32.lower.dtype == torch.float32
    assert p32.lower.stride() == (0, 0)
    x = torch.rand(3, 7, 1, dtype=torch.float64)
    torch.testing.assert_close(p32.loss(x.float()).double(), problem.loss(x), rtol=1e-6, atol=1e-6)
    clone = pickle.loads(pickle.dumps(problem))
    assert torch.equal(clone.loss(x), problem.loss(x))
    with pytest.raises(InvalidParameterError, match="device"):
        problem.as_actions(torch.zeros(7, device="meta"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_fused_equals_cpu():  # pragma: no cover - runs on GPU machines only
    n = 100_000
    x0 = torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    eta = 0.5 / (n + 0.1)
    cpu = run_planner(aggregative_problem(n), GradientAgents(eta), x0, method="fused", max_iters=50,
                      eps=0, tau=0, record_actions=False)
    gpu = run_planner(aggregative_problem(n, device="cuda"), GradientAgents(eta), x0.cuda(), method="fused",
                      max_iters=50, eps=0, tau=0, record_actions=False)
    torch.testing.assert_close(gpu.X.cpu(), cpu.X, rtol=0, atol=1e-12)


def _instance(seed: int, n: int, bounded: bool, scalar: bool, unstable: bool):
    """A random aggregative instance: per-agent or scalar coefficients; a stable or (unbounded,
    step 1.3× the limit) diverging gradient step."""
    problem, x0, eta = _random_instance(seed, n, bounded and not unstable)
    if scalar:
        problem = aggregative_problem(n, Y=7.0, lam=0.3, offset=0.2, lower=-0.4 if bounded else float("-inf"),
                                      upper=0.5 if bounded else float("inf"))
        eta = 0.9 / (n + 0.3)
    if unstable:
        problem = aggregative_problem(n, Y=7.0, lam=0.3, lower=float("-inf"))
        eta = 1.3 / (n + 0.3)
    return problem, x0, eta


@pytest.mark.skipif(not numba_available(), reason="numba not installed")
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.sampled_from([1, 2, 7, 64, 300]), bounded=st.booleans(),
       scalar=st.booleans(), unstable=st.booleans(), max_iters=st.integers(0, 90),
       check_every=st.sampled_from([1, 3, 16, 50]), record_every=st.sampled_from([1, 5, 16, 100]),
       record_actions=st.booleans(), tol=st.sampled_from([0.0, 1e-300, 1e-9]), whole_loop=st.booleans())
@example(seed=432, n=1, bounded=False, scalar=False, unstable=False, max_iters=40, check_every=16,
         record_every=1, record_actions=False, tol=1e-300, whole_loop=True)
def test_compiled_loop_equals_per_iteration_engine(seed, n, bounded, scalar, unstable, max_iters, check_every,
                                                   record_every, record_actions, tol, whole_loop):
    """The compiled numba loop gives exactly (bit for bit) what one kernel call per iteration
    gives: status, iterations, diverged_at, evaluations, history stride and values, X, loss, G and
    the KKT residual, for stable, converging and diverging runs, B = 2."""
    problem, x0, eta = _instance(seed, n, bounded, scalar, unstable)
    kw = dict(max_iters=max_iters, eps=tol, tau=tol, check_every=check_every, record_every=record_every,
              record_actions=record_actions, method="fused", backend="numba")
    pays, original_loop, calls = FusedAggregative.whole_loop_pays, FusedAggregative.run_planner_loop, []
    try:  # whole_loop: the whole planner loop in one call (no actions recorded); else a block per call
        FusedAggregative.whole_loop_pays = lambda self, m: whole_loop and self.compiled_loop
        FusedAggregative.run_planner_loop = lambda self, *a: calls.append(1) or original_loop(self, *a)
        fast = run_planner(problem, GradientAgents(eta), x0, **kw)
    finally:
        FusedAggregative.whole_loop_pays, FusedAggregative.run_planner_loop = pays, original_loop
    assert calls == ([1] if whole_loop and not record_actions else [])
    original = FusedAggregative.compiled_loop
    try:
        FusedAggregative.compiled_loop = property(lambda self: False)
        slow = run_planner(problem, GradientAgents(eta), x0, **kw)
    finally:
        FusedAggregative.compiled_loop = original
    assert fast.engine == "fused-numba-loop" and slow.engine == "fused-numba"
    assert (fast.status, fast.iterations, fast.diverged_at, fast.evaluations) == \
        (slow.status, slow.iterations, slow.diverged_at, slow.evaluations)
    assert np.array_equal(fast.history.iterations, slow.history.iterations)
    assert np.array_equal(fast.history.loss, slow.history.loss)
    if record_actions:
        assert np.array_equal(fast.history.actions, slow.history.actions)
    assert torch.equal(fast.X, slow.X) and torch.equal(fast.loss, slow.loss) and torch.equal(fast.G, slow.G)
    assert fast.kkt_residual == slow.kkt_residual or (math.isnan(fast.kkt_residual) and math.isnan(slow.kkt_residual))


def test_auto_picks_the_fused_engine_where_it_applies():
    problem = aggregative_problem(40, lam=0.2)
    x0 = torch.rand(40, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    eta = 0.9 / 40.2
    auto = run_planner(problem, GradientAgents(eta), x0, max_iters=500, record_actions=False)
    fused = run_planner(problem, GradientAgents(eta), x0, max_iters=500, record_actions=False, method="fused")
    analytic = run_planner(problem, GradientAgents(eta), x0, max_iters=500, record_actions=False, method="analytic")
    assert auto.engine == fused.engine == ("fused-numba-loop" if numba_available() else "fused-torch")
    assert analytic.engine == "analytic"
    assert torch.equal(auto.X, fused.X)
    torch.testing.assert_close(auto.X, analytic.X, rtol=0, atol=1e-12)
    assert run_planner(problem, BestResponseAgents(schedule="sequential"), x0, max_iters=5).engine == "analytic"
    from mechanism import nonconvex_problem
    nc = nonconvex_problem()
    expected = "analytic" if nc.gradient_fn is not None else "autograd"
    assert run_planner(nc, GradientAgents(0.01), torch.zeros(2), max_iters=5).engine == expected
    assert run_planner(problem, GradientAgents(eta), x0, max_iters=5, method="autograd").engine == "autograd"


@pytest.mark.slow
def test_numba_kernels_compile_without_warnings():
    """A fresh process compiling the scalar and per-agent kernels emits no warning (numba's SSA
    pass warned on conditionals inside the broadcast helpers)."""
    import subprocess
    import sys
    code = ("import warnings, torch, mechanism as m\n"
            "warnings.simplefilter('error')\n"
            "for lam in (0.1, [0.1, 0.2, 0.3]):\n"
            "    r = m.run_planner(m.aggregative_problem(3, lam=lam), m.GradientAgents(0.1), torch.ones(3),"
            " max_iters=3000, method='fused')\n"
            "    assert r.status == 'converged', r.status\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
