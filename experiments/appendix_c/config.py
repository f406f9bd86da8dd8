"""Configuration and small helpers shared by the Appendix C experiments."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mechanism import aggregative_nash, aggregative_problem, run_planner

__all__ = ["Config", "SPEC", "TABLE3", "C4_LAM", "C4_Y", "scalar", "vector", "rel_gap", "uniform_start",
           "run_gd", "nash_losses"]

SPEC = "spec (shared/spec/appendix-c.md), authors' notebook"
TABLE3 = "paper §8.4 Table 3"

#: C.4's heterogeneous problem (also C.13–C.17)
C4_LAM = (0.1, 0.5, 0.2, 0.4, 0.6)
C4_Y = 7.461


@dataclass
class Config:
    """Iteration counts and sizes. ``quick()`` (default), ``full()`` (the paper's counts),
    ``tiny()`` (tests: numbers not converged, never to be quoted)."""

    mode: str = "quick"
    seed: int = 0
    out: Path = Path("runs/appendix_c")
    iters_long: int = 100_000        # C.2/C.3/C.4/C.14/C.17 budget (paper: 100,000)
    early_stop: bool = True          # stop at the planner's convergence test (quick) or run the count (full)
    iters_c8: int = 200_000          # paper: 200,000
    iters_c9: int = 60_000           # per seed (paper: 2,000,000, one run)
    avg_c9: int = 50_000             # average over the last avg_c9 (paper: last 100,000)
    seeds_c9: tuple[int, ...] = (0, 1, 2, 3)  # independent noise seeds: the error bar
    iters_c6_max: int = 200_000      # MBI side of C.6: budget to reach the 1e-10 gap
    global_starts: int = 256
    scaling_ns: tuple[int, ...] = (10, 100, 1_000, 10_000, 100_000, 300_000, 1_000_000)
    scaling_steps: int = 20          # paper: 500
    scaling_repeats: int = 5         # paper: min of 5
    ppo_timesteps: int = 50_000
    ppo_seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    ppo_reward_modes: tuple[str, ...] = ("team", "difference")
    figures: bool = True

    @classmethod
    def quick(cls, **kw: Any) -> "Config":
        return cls(**kw)

    @classmethod
    def full(cls, **kw: Any) -> "Config":
        return cls(**{**dict(mode="full", early_stop=False, iters_c9=2_000_000, avg_c9=100_000,
                             seeds_c9=(0, 1, 2, 3, 4), scaling_steps=500, scaling_repeats=5,
                             ppo_timesteps=1_000_000, ppo_seeds=[0, 1, 2, 3, 4]), **kw})

    @classmethod
    def tiny(cls, **kw: Any) -> "Config":
        return cls(**{**dict(mode="tiny", iters_long=4_000, iters_c8=4_000, iters_c9=8_000, avg_c9=4_000,
                             seeds_c9=(0, 1), iters_c6_max=20_000, global_starts=64,
                             scaling_ns=(10, 1_000, 100_000), scaling_steps=3, scaling_repeats=1,
                             ppo_timesteps=2_000, ppo_seeds=[0], figures=False), **kw})

    def stop(self) -> dict[str, float]:
        """Planner tolerances: early stop at convergence in quick mode, the paper's fixed count in full."""
        return dict(eps=1e-15, tau=1e-12) if self.early_stop else dict(eps=0.0, tau=0.0)


def scalar(x: Any) -> float:
    """The first element of a tensor (or a number) as a float."""
    return float(torch.as_tensor(x).reshape(-1)[0]) if isinstance(x, torch.Tensor) else float(x)


def vector(x: Any) -> list[float]:
    """A tensor flattened to a list of floats."""
    return [float(v) for v in torch.as_tensor(x).reshape(-1)]


def rel_gap(loss: float, ref: float) -> float:
    """``|loss − ref| / |ref|``."""
    return abs(loss - ref) / max(abs(ref), 1e-300)


def uniform_start(n: int, low: float, high: float, seed: int) -> torch.Tensor:
    """A seeded ``U[low, high]^n`` start."""
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(n, generator=g, dtype=torch.float64)


def run_gd(problem, policy, x0, iters: int, cfg: Config, **kw):
    """``run_planner`` with the mode's stopping rule and a history of at most ~2000 points."""
    opts = {**cfg.stop(), "record_actions": False, "record_every": max(1, iters // 2000), **kw}
    return run_planner(problem, policy, x0, max_iters=iters, **opts)


def nash_losses(Y: float, lam: Any, n: int) -> dict[str, float]:
    """Global loss at the uncoordinated NE (closed form, x ≥ 0 is not binding) for share 0 and 1/N."""
    p = aggregative_problem(n, Y, lam)
    out = {}
    for label, share in (("share_0", 0.0), ("share_1_over_N", 1.0 / n)):
        x = aggregative_nash(Y, p.belief["lam"], share)
        out[f"nash_loss_{label}"] = float(p.loss(x.unsqueeze(0), "true")[0])
    return out
