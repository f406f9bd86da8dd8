"""The planner loop (Algorithm 1) on the paper's problems, against closed forms."""
import math

import pytest
import torch

from mechanism import (BestResponseAgents, GradientAgents, MomentumAgents, NoisyAgents,
                       SatisficingAgents, aggregative_problem, assembly_line_problem, run_planner,
                       stability_limit)


def uniform_start(n, low=0.0, high=2.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(n, generator=gen, dtype=torch.float64)


def test_c1_assembly_line_converges_to_0_2():
    p = assembly_line_problem(Y=2.0, lam=0.5)
    r = run_planner(p, GradientAgents([0.05, 0.1]), [1.0, -1.0], max_iters=50_000, tau=1e-12)
    assert r.status == "converged"
    assert torch.allclose(r.X[0, :, 0], torch.tensor([0.0, 2.0], dtype=torch.float64), atol=1e-9)
    assert float(r.loss[0]) < 1e-18


@pytest.mark.parametrize("name,n,Y,lam,x0", [
    ("C.2", 100, 10.0, 0.1, "uniform"),
    ("C.3", 5, 10.0, [0.1, 0.5, 1.0, 5.0, 10.0], "uniform"),
    ("C.4", 5, 7.461, [0.1, 0.5, 0.2, 0.4, 0.6], "ones"),
])
def test_planner_reaches_closed_form_optimum(name, n, Y, lam, x0):
    p = aggregative_problem(n, Y, lam)
    start = uniform_start(n) if x0 == "uniform" else torch.ones(n, dtype=torch.float64)
    step = 0.9 * stability_limit(p)
    r = run_planner(p, GradientAgents(step), start, max_iters=200_000, tau=1e-12,
                    record_actions=False)
    opt = p.optimum()
    assert r.status == "converged", name
    assert torch.allclose(r.X[0], opt.x, atol=1e-10, rtol=0), name
    assert abs(float(r.loss[0]) - opt.loss) <= 1e-10 * max(1.0, opt.loss), name


def test_c2_closed_form_values():
    opt = aggregative_problem(100, 10.0, 0.1).optimum()
    assert float(opt.x[0, 0]) == pytest.approx(10 / 100.1, abs=1e-15)
    assert opt.loss == pytest.approx(0.1 * 100 / 100.1, abs=1e-15)


@pytest.mark.parametrize("n,lam", [(1, 0.5), (100, 0.1), (100, 0.01), (37, 2.0)])
def test_symmetric_stability_limit_is_one_over_n_plus_lambda(n, lam):
    assert stability_limit(aggregative_problem(n, 10.0, lam)) == pytest.approx(1 / (n + lam), rel=1e-12)


def test_lanczos_path_of_stability_limit():
    p = aggregative_problem(400, 10.0, 0.1)
    assert stability_limit(p) == pytest.approx(1 / 400.1, rel=1e-8)


def test_step_above_limit_is_reported_as_diverged_with_its_iteration():
    p = aggregative_problem(100, 10.0, 0.01, lower=-math.inf)
    limit = stability_limit(p)
    r = run_planner(p, GradientAgents(1.1 * limit), torch.ones(100, dtype=torch.float64), max_iters=10_000)
    assert r.status == "diverged"
    assert r.diverged_at is not None and 1 <= r.diverged_at <= 10_000
    assert math.isfinite(float(r.loss[0]))  # last finite state, nothing invented
    stable = run_planner(p, GradientAgents(0.9 * limit), torch.ones(100, dtype=torch.float64), max_iters=200)
    assert stable.status != "diverged"


def test_clamped_problem_above_limit_oscillates_instead_of_diverging():
    """With x >= 0 the projection keeps an unstable step bounded: a limit cycle, not divergence."""
    p = aggregative_problem(100, 10.0, 0.01)
    r = run_planner(p, GradientAgents(1.1), torch.ones(100, dtype=torch.float64), max_iters=200)
    assert r.status == "budget_exhausted"
    assert float(r.loss[0]) > 50.0


def test_momentum_and_nesterov_reach_optimum():
    p = aggregative_problem(100, 10.0, 0.1)
    opt = p.optimum()
    for nesterov in (False, True):
        r = run_planner(p, MomentumAgents(0.5 * stability_limit(p), beta=0.9, nesterov=nesterov),
                        uniform_start(100), max_iters=50_000, tau=1e-12, record_actions=False)
        assert r.status == "converged"
        assert torch.allclose(r.X[0], opt.x, atol=1e-10)


def test_best_response_sequential_converges_simultaneous_diverges():
    """Gauss-Seidel best responses converge; Jacobi (simultaneous) ones have spectral radius
    (N-1)/(1+lam) on the symmetric problem and diverge for N = 10, lam = 1."""
    p = aggregative_problem(10, 10.0, 1.0, lower=-math.inf)
    opt = p.optimum()
    seq = run_planner(p, BestResponseAgents(schedule="sequential"), uniform_start(10),
                      max_iters=2000, tau=1e-11, record_actions=False)
    assert seq.status == "converged"
    assert torch.allclose(seq.X[0], opt.x, atol=1e-9)
    assert seq.evaluations >= 10 * seq.iterations  # one reverse pass per agent move
    sim = run_planner(p, BestResponseAgents(), uniform_start(10), max_iters=2000)
    assert sim.status == "diverged"
    two = aggregative_problem(2, 10.0, 0.1)
    assert run_planner(two, BestResponseAgents(), [0.0, 0.0], max_iters=2000, tau=1e-12).status == "converged"


def test_noisy_agents_are_seeded_and_stay_near_optimum():
    p = aggregative_problem(100, 10.0, 0.1)
    opt = p.optimum()
    runs = [run_planner(p, NoisyAgents(1e-3, noise_std=math.sqrt(5e-7), seed=s), opt.x.reshape(-1).clone(),
                        max_iters=2000, eps=0.0, tau=0.0, record_actions=False) for s in (3, 3, 4)]
    assert torch.equal(runs[0].X, runs[1].X)
    assert not torch.equal(runs[0].X, runs[2].X)
    # started at x*, the noise moves them off it but they stay near: the excess loss stays below
    # twice the stationary (Lyapunov) excess ½Σ h_k σ²/(1−(1−ηh_k)²) = 0.0125, and each x_i within 0.1
    for r in runs:
        excess = float(r.loss[0]) - opt.loss
        assert 0.0 < excess < 0.025
        assert float((r.X - opt.x).abs().max()) < 0.1


def test_satisficing_agents_choose_their_stop_and_larger_rho_stops_earlier_higher():
    p = aggregative_problem(1, 2.0, 0.1, offset=2.0)  # C.11: x2 fixed at 2
    results = {}
    for rho in (1e-8, 1e-4, 1e-1):
        agents = SatisficingAgents(0.05, time_cost=rho)
        r = run_planner(p, agents, [10.0], max_iters=100_000)
        assert r.status == "satisficed"
        results[rho] = (int(agents.stop_time[0, 0]), float(r.loss[0]))
    stops = [results[r][0] for r in sorted(results)]
    losses = [results[r][1] for r in sorted(results)]
    assert stops[0] > stops[1] > stops[2] >= 0
    assert losses[0] < losses[1] < losses[2]
    # the agent stops exactly where one more step gains no more than rho: on L = 1.1 x², a step
    # maps x → (1 − 0.05·2.2) x, so the stop x_T has gain(x_T) ≤ ρ < gain(x_{T−1})
    rho, r = 1e-1, 1 - 0.05 * 2.2
    x_stop = math.sqrt(results[rho][1] / 1.1)
    gain = lambda x: 1.1 * x ** 2 * (1 - r ** 2)  # noqa: E731
    assert gain(x_stop) <= rho < gain(x_stop / r)


def test_history_stride_and_budget():
    p = aggregative_problem(10, 10.0, 0.1)
    r = run_planner(p, GradientAgents(1e-3), torch.zeros(10), max_iters=95, record_every=10)
    assert r.status == "budget_exhausted" and r.iterations == 95
    assert list(r.history.iterations) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95]
    assert r.history.actions.shape == (11, 1, 10, 1)
    assert r.evaluations == 96


def test_x0_of_another_float_dtype_warns_and_max_iters_zero_evaluates_the_start():
    """Deprecation path for an x0 that the problem's dtype rounds (float64 start, float32 problem:
    both dtypes named); a float32 start on a float64 problem is exact and silent; max_iters=0 is the start."""
    import warnings

    import numpy as np
    p32 = aggregative_problem(3, dtype=torch.float32)
    with pytest.warns(FutureWarning, match=r"x0 has dtype torch.float64 but problem 'aggregative' is torch.float32"):
        run_planner(p32, GradientAgents(0.1), torch.ones(3, dtype=torch.float64), max_iters=1)
    with pytest.warns(FutureWarning, match="float64"):
        run_planner(p32, GradientAgents(0.1), np.ones(3), max_iters=1)
    p = aggregative_problem(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_planner(p, GradientAgents(0.1), [1.0, 1.0, 1.0], max_iters=1)          # lists: no dtype to check
        run_planner(p, GradientAgents(0.1), torch.tensor([1.0, 1.0, 1.0]), max_iters=1)  # float32: exact
        run_planner(p32, GradientAgents(0.1), np.ones(3, dtype=np.float32), max_iters=1)
    r = run_planner(p, GradientAgents(0.1), torch.ones(3, dtype=torch.float64), max_iters=0)
    assert (r.iterations, r.status) == (0, "budget_exhausted")
    assert float(r.loss[0]) == pytest.approx(float(p.loss(torch.ones(1, 3, 1, dtype=torch.float64))[0]))
