"""The multi-minimum landscapes of the hit-rate studies and the rules compared on them.

Shared by :mod:`experiments.real_problems` (the real-problems run) and :mod:`experiments.hit_rates`
(the many-start table), so both measure the same problems, starts and agents.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mechanism import GradientAgents, MomentumAgents, global_minimum, nonconvex_problem, stability_limit
from mechanism.core.exploration import AnnealedLangevinAgents, RestartAgents, coupled_rastrigin_problem

__all__ = ["C10_HIT_TOL", "RASTRIGIN_HIT_TOL", "landscapes", "starts", "policies"]

C10_HIT_TOL = 0.01      # the second-best minimum of C.10 lies 0.046 above the global one
RASTRIGIN_HIT_TOL = 1e-3  # every other minimum of the coupled Rastrigin has L > 0.9


def landscapes() -> dict[str, dict[str, Any]]:
    """C.10 and the coupled Rastrigin (N = 3, A = 5): each problem, its global minimum ``L_star`` and
    where that comes from, the hit tolerance, the step size, the budget, the start box and the
    search box and temperature of the exploring agents."""
    c10 = nonconvex_problem()
    best = global_minimum(c10, search_box=(-10.0, 10.0), n_starts=64)
    rast = coupled_rastrigin_problem(3, 5.0)
    return {
        "C.10": {"problem": c10, "L_star": float(best.loss), "L_star_source": "best of 64 multi-start L-BFGS-B runs",
                 "tol": C10_HIT_TOL, "eta": 0.02, "iters": 8000, "start_low": -5.0, "start_high": 5.0,
                 "search": (-10.0, 10.0), "temperature": 0.3},
        "coupled_rastrigin_N3_A5": {"problem": rast, "L_star": 0.0, "L_star_source": "closed form (x* = shift)",
                                    "tol": RASTRIGIN_HIT_TOL, "eta": 0.9 * stability_limit(rast, rast.optimum().x),
                                    "iters": 6000, "start_low": rast.lower, "start_high": rast.upper,
                                    "search": (rast.lower, rast.upper), "temperature": 3.0},
    }


def starts(spec: dict[str, Any], n_runs: int) -> torch.Tensor:
    """``n_runs`` starts uniform in the landscape's start box, run ``k`` from seed ``k`` ``(n_runs, N, 1)``."""
    p = spec["problem"]
    rows = [torch.as_tensor(np.random.default_rng(seed).uniform(size=(p.n_agents, 1))) for seed in range(n_runs)]
    u = torch.stack(rows)
    lo, hi = torch.as_tensor(spec["start_low"]), torch.as_tensor(spec["start_high"])
    return lo + (hi - lo) * u


def policies(spec: dict[str, Any]) -> dict[str, Any]:
    """The four incentive-only rules compared on a landscape (gradient, momentum, annealed Langevin, restarts)."""
    eta, iters = spec["eta"], spec["iters"]
    return {"gradient": GradientAgents(eta), "momentum": MomentumAgents(eta, beta=0.9),
            "annealed_langevin": AnnealedLangevinAgents(eta, spec["temperature"], int(0.75 * iters), seed=0),
            "restart": RestartAgents(eta, *spec["search"], n_restarts=5, patience=5, tol=1e-2, max_hop=0.05, seed=0)}
