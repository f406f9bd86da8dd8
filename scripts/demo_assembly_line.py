"""Solve the paper's two-agent assembly line (C.1) with the Differentiable Price Mechanism.

    python scripts/demo_assembly_line.py

Two agents in a line A1 -> A2 must deliver Y = 2; stage 1 costs λ x1² (λ = 0.5). Each agent
follows only its own incentive G_i = −∂L/∂x_i with its own step size (0.05, 0.1), from (1, −1).
"""
from __future__ import annotations

from experiments.cli import script_parser


def main(argv: list[str] | None = None) -> None:
    script_parser(__doc__).parse_args(argv)
    from mechanism import GradientAgents, assembly_line_problem, classify_point, run_planner

    problem = assembly_line_problem(Y=2.0, lam=0.5)
    result = run_planner(problem, GradientAgents([0.05, 0.1]), [1.0, -1.0], max_iters=50_000, tau=1e-12)
    optimum = problem.optimum()
    x = result.X[0, :, 0].tolist()
    print(f"status: {result.status} after {result.iterations} iterations ({result.wall_seconds:.3f} s)")
    print(f"x = ({x[0]:.3e}, {x[1]:.12f}); closed form x* = (0, 2)")
    print(f"L = {float(result.loss[0]):.3e}; L* = {optimum.loss}")
    print(f"point class: {classify_point(problem, result.X)[0]}")


if __name__ == "__main__":
    main()
