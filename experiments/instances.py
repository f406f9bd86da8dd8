"""Random problem instances shared by the engine-agreement tests and sweeps (one generator, so the
sweep in ``scripts/ulp_sweep.py`` runs exactly the instances of ``tests/test_fused.py``)."""
from __future__ import annotations

import torch

from mechanism import Problem, aggregative_problem

__all__ = ["random_aggregative_instance"]


def random_aggregative_instance(seed: int, n: int, bounded: bool) -> tuple[Problem, torch.Tensor, torch.Tensor]:
    """A seeded random aggregative problem (λ_i ∈ [0.05, 1.05), Y ∈ [3, 8), offset ∈ [−½, ½), an
    optional box around 0), a start of two batch rows ``(2, n, 1)`` and per-agent step sizes at
    45–90% of ``1/(n + max λ)``."""
    g = torch.Generator().manual_seed(seed)
    lam = 0.05 + torch.rand(n, generator=g, dtype=torch.float64)
    lower = -0.5 * torch.rand(n, 1, generator=g, dtype=torch.float64) if bounded else float("-inf")
    upper = 0.05 + 0.3 * torch.rand(n, 1, generator=g, dtype=torch.float64) if bounded else float("inf")
    problem = aggregative_problem(n, Y=3.0 + 5 * float(torch.rand(1, generator=g)), lam=lam,
                                  offset=float(torch.rand(1, generator=g)) - 0.5, lower=lower, upper=upper)
    x0 = torch.rand(2, n, 1, generator=g, dtype=torch.float64)
    eta = 0.9 / (n + float(lam.max())) * (0.5 + 0.5 * torch.rand(n, generator=g, dtype=torch.float64))
    return problem, x0, eta
