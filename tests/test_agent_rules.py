"""The compiled kernels of the other agent rules (mechanism/engines/rules.py, and simultaneous best
responses on the gradient kernel) against ``method="analytic"``, iteration for iteration: the same
statuses, iterations, ``diverged_at``, history stride, and iterates equal to 1e-12 of their scale
(the kernels add the sums in another order than torch, so not bit for bit)."""
from __future__ import annotations

import pytest
import torch

from mechanism import (BestResponseAgents, GradientAgents, InvalidParameterError, MomentumAgents, NoisyAgents,
                       SatisficingAgents, aggregative_problem, run_planner)
from mechanism.engines import rules
from mechanism.engines.rules import RULE_MIN_ITERATIONS, RuleKernel, rule_kernel_unavailable_reason

N = 24
LAM = torch.linspace(0.05, 0.4, N, dtype=torch.float64)
ETA = 0.5 / (N + 0.4)


def _problem(**kw) -> object:
    return aggregative_problem(N, Y=6.0, lam=LAM, upper=1.2, **kw)  # some agents end on each bound


def _start(batch: int = 2) -> torch.Tensor:
    return 2.0 * torch.rand(batch, N, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(7))


POLICIES = {
    "heavy_ball": lambda: MomentumAgents(0.3 * ETA, beta=0.8),
    "nesterov": lambda: MomentumAgents(0.3 * ETA, beta=0.8, nesterov=True),
    "best_response": lambda: BestResponseAgents(damping=ETA * 2.5),
    "noisy": lambda: NoisyAgents(ETA, noise_std=1e-3, seed=5),
    "satisficing": lambda: SatisficingAgents(ETA, time_cost=1e-7),
}
ENGINES = {"heavy_ball": "rule-numba-heavy_ball", "nesterov": "rule-numba-nesterov",
           "best_response": "fused-numba-loop", "noisy": "rule-numba-noisy", "satisficing": "rule-numba-satisficing"}


def _pair(rule: str, x0: torch.Tensor, **kw):
    problem = kw.pop("problem", None) or _problem()
    kwargs = dict(max_iters=300, eps=0.0, tau=0.0, record_every=1, record_actions=True) | kw
    ref_policy, fast_policy = POLICIES[rule](), POLICIES[rule]()
    ref = run_planner(problem, ref_policy, x0, method="analytic", **kwargs)
    fast = run_planner(problem, fast_policy, x0, method="fused", **kwargs)
    return ref, fast, ref_policy, fast_policy


def _assert_same_run(ref, fast, scale: float) -> None:
    assert (fast.status, fast.iterations, fast.diverged_at) == (ref.status, ref.iterations, ref.diverged_at)
    assert fast.evaluations == ref.evaluations
    assert list(fast.history.iterations) == list(ref.history.iterations)
    tol = 1e-12 * scale
    torch.testing.assert_close(torch.from_numpy(fast.history.loss), torch.from_numpy(ref.history.loss),
                               rtol=1e-12, atol=1e-12)
    if ref.history.actions is not None:
        torch.testing.assert_close(torch.from_numpy(fast.history.actions), torch.from_numpy(ref.history.actions),
                                   rtol=0, atol=tol)
        torch.testing.assert_close(torch.from_numpy(fast.history.incentives),
                                   torch.from_numpy(ref.history.incentives), rtol=0, atol=1e-11 * scale)
    torch.testing.assert_close(fast.X, ref.X, rtol=0, atol=tol)
    torch.testing.assert_close(fast.G, ref.G, rtol=0, atol=1e-11 * scale)
    assert fast.kkt_residual == pytest.approx(ref.kkt_residual, rel=1e-9, abs=1e-12)


# each rule's first call compiles its kernel (seconds): the default suite checks heavy ball here and
# satisficing below; CI (-m "slow or not slow") every rule
@pytest.mark.parametrize("rule", [r if r == "heavy_ball" else pytest.param(r, marks=pytest.mark.slow)
                                  for r in sorted(POLICIES)])
def test_every_iteration_agrees_with_the_analytic_path(rule):
    x0 = _start()
    ref, fast, ref_policy, fast_policy = _pair(rule, x0)
    assert fast.engine == ENGINES[rule] and ref.engine == "analytic"
    _assert_same_run(ref, fast, float(x0.abs().max()))
    if rule == "noisy":  # the kernel consumed the policy's own generator exactly as act() does
        assert torch.equal(fast_policy._rng.get_state(), ref_policy._rng.get_state())
    if rule in ("heavy_ball", "nesterov"):  # the rule's state ends where act() leaves it
        name = "_velocity" if rule == "heavy_ball" else "_z_prev"
        torch.testing.assert_close(getattr(fast_policy, name), getattr(ref_policy, name), rtol=0, atol=1e-12)


def test_satisficing_halts_at_the_same_iteration_with_the_same_stop_times():
    x0 = _start(3)
    ref, fast, ref_policy, fast_policy = _pair("satisficing", x0, max_iters=100_000, record_every=7,
                                               record_actions=False)
    assert ref.status == "satisficed" and 0 < ref.iterations < 100_000
    _assert_same_run(ref, fast, float(x0.abs().max()))
    assert torch.equal(fast_policy.stop_time, ref_policy.stop_time)
    assert torch.equal(fast_policy.steps_taken, ref_policy.steps_taken)
    assert len(set(ref_policy.stop_time.flatten().tolist())) > 3  # agents chose different T*


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["heavy_ball", "best_response"])
def test_divergence_is_found_at_the_same_iteration(rule):
    """Unstable steps on an unbounded problem: the same ``diverged_at``, the same last checked state."""
    problem = aggregative_problem(N, Y=6.0, lam=LAM, lower=-float("inf"))
    unstable = {"heavy_ball": lambda: MomentumAgents(8 * ETA, beta=0.9),
                "best_response": lambda: BestResponseAgents()}  # Jacobi: unstable for N >= 3
    x0 = _start()
    results = []
    for method in ("analytic", "fused"):
        results.append(run_planner(problem, unstable[rule](), x0, method=method, max_iters=2_000, check_every=5,
                                   record_every=3, record_actions=False))
    ref, fast = results
    assert ref.status == "diverged"
    assert (fast.status, fast.iterations, fast.diverged_at) == (ref.status, ref.iterations, ref.diverged_at)
    assert list(fast.history.iterations) == list(ref.history.iterations)
    torch.testing.assert_close(fast.X, ref.X, rtol=1e-10, atol=0)


@pytest.mark.slow
def test_convergence_with_the_default_tolerances_stops_at_the_same_check():
    x0 = _start()
    ref, fast, _, _ = _pair("heavy_ball", x0, max_iters=20_000, eps=1e-15, tau=1e-10, record_every=50,
                            record_actions=False)
    assert ref.status == "converged"
    _assert_same_run(ref, fast, float(x0.abs().max()))


@pytest.mark.slow
@pytest.mark.parametrize("rule", sorted(POLICIES))
def test_scalar_coefficients_strides_and_true_types(rule):
    """One λ for every agent (the kernels' vectorised specialisation), a check and record stride that
    do not divide the budget, actions recorded every 4th iteration, and the true types."""
    problem = aggregative_problem(N, Y=6.0, lam=0.2, true_lam=LAM, upper=1.2)
    x0 = _start()
    for types in ("belief", "true"):
        ref, fast, _, _ = _pair(rule, x0, problem=problem, max_iters=203, check_every=9, record_every=4, types=types)
        _assert_same_run(ref, fast, float(x0.abs().max()))


def test_auto_takes_a_rule_kernel_for_long_runs_only_whatever_was_compiled_before():
    problem, x0 = _problem(), _start(1)
    long = run_planner(problem, POLICIES["heavy_ball"](), x0, max_iters=RULE_MIN_ITERATIONS, record_actions=False)
    assert long.engine == "rule-numba-heavy_ball"
    assert rules.rule_kernel_compiled("heavy_ball")
    short = run_planner(problem, POLICIES["heavy_ball"](), x0, max_iters=50, record_actions=False)
    assert short.engine == "analytic"  # the choice depends on the arguments only: the same bits in any process
    two_rows = run_planner(problem, POLICIES["heavy_ball"](), _start(2), max_iters=RULE_MIN_ITERATIONS // 2,
                           record_actions=False)
    assert two_rows.engine == "rule-numba-heavy_ball"  # max_iters × B
    easy = aggregative_problem(N, Y=6.0, lam=0.2)  # converges in about 900 iterations: the checks below stay short
    torch_backend = run_planner(easy, POLICIES["heavy_ball"](), x0, max_iters=RULE_MIN_ITERATIONS,
                                record_actions=False, backend="torch")
    assert torch_backend.engine == "analytic" and torch_backend.status == "converged"
    br = BestResponseAgents(damping=0.1)
    assert run_planner(problem, br, x0, max_iters=0).engine.startswith("fused-")  # the gradient kernel
    # what the kernels do not implement stays on the analytic path
    effort = SatisficingAgents(ETA, effort_cost=lambda T: 1e-7 * T ** 2)
    assert run_planner(problem, effort, x0, max_iters=RULE_MIN_ITERATIONS, record_actions=False).engine == "analytic"
    seq = BestResponseAgents(schedule="sequential")
    assert run_planner(problem, seq, x0, max_iters=5, record_actions=False).engine == "analytic"
    f32 = aggregative_problem(N, Y=6.0, lam=0.2, dtype="float32")
    assert run_planner(f32, POLICIES["heavy_ball"](), x0.float(), max_iters=RULE_MIN_ITERATIONS,
                       record_actions=False).engine == "analytic"


def test_what_the_kernels_cannot_run_is_refused_before_any_state_changes():
    problem, x0 = _problem(), _start(1)
    with pytest.raises(InvalidParameterError, match="float64 only.*float32"):
        run_planner(aggregative_problem(N, dtype="float32"), MomentumAgents(ETA), x0.float(), method="fused")
    with pytest.raises(InvalidParameterError, match="SatisficingAgents with a time cost; got SatisficingAgents"):
        run_planner(problem, SatisficingAgents(ETA, effort_cost=lambda T: T), x0, method="fused")
    with pytest.raises(InvalidParameterError, match="BestResponseAgents \\(sequential\\)"):
        run_planner(problem, BestResponseAgents(schedule="sequential"), x0, method="fused")
    with pytest.raises(InvalidParameterError, match="backend='torch' runs the gradient kernel only"):
        run_planner(problem, MomentumAgents(ETA), x0, method="fused", backend="torch")
    from mechanism import nonconvex_problem
    with pytest.raises(InvalidParameterError, match="fused family"):
        run_planner(nonconvex_problem(), MomentumAgents(0.01), torch.zeros(2), method="fused")
    assert rule_kernel_unavailable_reason(problem, GradientAgents(ETA)) is not None
    policy = MomentumAgents(ETA)
    X = problem.project(x0.clone())
    policy.reset(problem, X)
    with pytest.raises(InvalidParameterError, match=r"contiguous X of shape \(B, N, 1\)"):
        RuleKernel(problem, policy, X.reshape(N, 1, 1))
    with pytest.raises(InvalidParameterError, match="RuleKernel cannot run this pair.*GradientAgents"):
        RuleKernel(problem, GradientAgents(ETA), X)
    before = x0.clone()
    with pytest.raises(InvalidParameterError, match="max_iters"):
        run_planner(problem, MomentumAgents(ETA), x0, max_iters=-1, method="fused")
    assert torch.equal(x0, before)


@pytest.mark.slow
@pytest.mark.parametrize("rule", sorted(POLICIES))
def test_per_agent_steps_and_bounds(rule):
    """One step size and one pair of bounds per agent (the kernels' array specialisation)."""
    problem = aggregative_problem(N, Y=6.0, lam=LAM, lower=torch.linspace(0.0, 0.2, N).reshape(N, 1),
                                  upper=torch.linspace(0.9, 1.5, N).reshape(N, 1))
    steps = ETA * torch.linspace(0.5, 1.0, N, dtype=torch.float64)
    make = {"heavy_ball": lambda: MomentumAgents(0.3 * steps, beta=0.7),
            "nesterov": lambda: MomentumAgents(0.3 * steps, beta=0.7, nesterov=True),
            "best_response": lambda: BestResponseAgents(curvature=torch.linspace(3.0, 4.0, N), damping=0.2),
            "noisy": lambda: NoisyAgents(steps, noise_std=1e-3, seed=2),
            "satisficing": lambda: SatisficingAgents(steps, time_cost=1e-6, curvature=None)}[rule]
    x0 = _start()
    runs = [run_planner(problem, make(), x0, method=m, max_iters=400, eps=0.0, tau=0.0, record_every=5,
                        check_every=7) for m in ("analytic", "fused")]
    _assert_same_run(*runs, float(x0.abs().max()))
