"""Do the fused and autograd engines agree on status and iteration count? 300 random instances
(those of tests/test_fused.py), tolerances 1e-300 and 1e-13, 200 iterations, both fused backends:
1,200 comparisons. Run with PYTHONPATH pointing at the code to test; prints every disagreement.

    PYTHONPATH=. python scripts/ulp_sweep.py                  # about a minute on 2 cores
"""
from __future__ import annotations

from experiments.cli import nonnegative_int, positive_int, script_parser


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--instances", type=positive_int, default=300, help="random instances (default 300)")
    parser.add_argument("--max-iters", type=positive_int, default=200, help="planner iterations (default 200)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the instance draw (default 0)")
    args = parser.parse_args()
    import random

    from experiments.instances import random_aggregative_instance as instance
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
