"""Do the fused and autograd engines agree on status and iteration count? 300 random instances
(those of tests/test_fused.py), tolerances 1e-300 and 1e-13, 200 iterations, both fused backends:
1,200 comparisons. Run with PYTHONPATH pointing at the code to test; prints every disagreement.

    PYTHONPATH=. python scripts/ulp_sweep.py                  # about a minute on 2 cores
"""
from __future__ import annotations

from experiments.cli import nonnegative_int, positive_int, script_parser


def instance(seed, n, bounded):  # as tests/test_fused.py::_random_instance
    """A random aggregative problem, start and step sizes (those of tests/test_fused.py)."""
    import torch

    from mechanism import aggregative_problem

    g = torch.Generator().manual_seed(seed)
    lam = 0.05 + torch.rand(n, generator=g, dtype=torch.float64)
    lower = -0.5 * torch.rand(n, 1, generator=g, dtype=torch.float64) if bounded else float("-inf")
    upper = 0.05 + 0.3 * torch.rand(n, 1, generator=g, dtype=torch.float64) if bounded else float("inf")
    problem = aggregative_problem(n, Y=3.0 + 5 * float(torch.rand(1, generator=g)), lam=lam,
                                  offset=float(torch.rand(1, generator=g)) - 0.5, lower=lower, upper=upper)
    x0 = torch.rand(2, n, 1, generator=g, dtype=torch.float64)
    eta = 0.9 / (n + float(lam.max())) * (0.5 + 0.5 * torch.rand(n, generator=g, dtype=torch.float64))
    return problem, x0, eta


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--instances", type=positive_int, default=300, help="random instances (default 300)")
    parser.add_argument("--max-iters", type=positive_int, default=200, help="planner iterations (default 200)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the instance draw (default 0)")
    args = parser.parse_args()
    import random

    from mechanism import GradientAgents, run_planner

    bad = conv = total = 0
    rng = random.Random(args.seed)
    for _ in range(args.instances):
        seed, n, bounded = rng.randint(0, 10000), rng.choice([1, 1, 2, 3, 5, rng.randint(1, 120)]), rng.random() < 0.5
        problem, x0, eta = instance(seed, n, bounded)
        for tol in (1e-300, 1e-13):
            kw = dict(max_iters=args.max_iters, eps=tol, tau=tol, record_actions=False)
            ref = run_planner(problem, GradientAgents(eta), x0, method="autograd", **kw)
            for backend in ("torch", "numba"):
                f = run_planner(problem, GradientAgents(eta), x0, method="fused", backend=backend, **kw)
                total += 1
                conv += ref.status == "converged"
                if (f.status, f.iterations) != (ref.status, ref.iterations):
                    bad += 1
                    print(f"seed={seed} n={n} bounded={bounded} tol={tol} {backend}: autograd {ref.status} at "
                          f"{ref.iterations} (KKT {ref.kkt_residual:.3g}), fused {f.status} at {f.iterations} "
                          f"(KKT {f.kkt_residual:.3g})")
    print(f"{bad} of {total} comparisons disagree; autograd converged in {conv}")


if __name__ == "__main__":
    main()
