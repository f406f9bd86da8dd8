"""Benchmark scenarios and the budgets of each mode (quick / medium / full)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import mbi_envs

__all__ = ["EPSILONS", "BenchScenario", "MODES", "scenarios"]

EPSILONS = tuple(10.0 ** -k for k in range(1, 11))


@dataclass(frozen=True)
class BenchScenario:
    """One benchmark problem: an env id and kwargs, the paper's step size and the budgets.

    ``mbi_iterations`` is the horizon (joint steps) of the iterative-mode contenders;
    ``ppo_timesteps`` the PPO training budget in agent-steps (0: no PPO here) for each of
    ``ppo_variants`` (``(mode, reward_mode)``); ``ppo_horizon`` the episode length of iterative
    PPO; ``switch_step`` marks a dynamic target (tracking reported after it); ``family`` names
    the scenario family whose tuned PPO configuration applies (``results/ppo_tuned.json``).
    ``ppo_vectorized`` trains PPO through the batched env (``mbi_envs.make_vec``, ``ppo_copies``
    copies), where the dict path is too slow (C.2 with N = 1000, C.15); ``ppo_env_kwargs``
    overrides env kwargs for PPO only (C.15: the switch inside PPO's 50-step episode).
    """

    key: str
    env_id: str
    env_kwargs: dict[str, Any]
    paper: str
    paper_step: Any
    mbi_iterations: int
    ppo_timesteps: int = 0
    ppo_variants: tuple[tuple[str, str], ...] = ()
    ppo_horizon: int = 50
    switch_step: int | None = None
    reference: str = "closed form"
    family: str = ""
    ppo_vectorized: bool = False
    ppo_copies: int = 1
    ppo_env_kwargs: dict[str, Any] = field(default_factory=dict)

    def make(self, **extra: Any):
        return mbi_envs.make(self.env_id, **{**self.env_kwargs, **extra})

    @property
    def n_agents(self) -> int:
        return self.make(mode="one_shot").n_agents


OS_T, OS_D, IT_T = ("one_shot", "team"), ("one_shot", "difference"), ("iterative", "team")

#: budgets per mode; ``--budget F`` multiplies every budget by F
MODES: dict[str, dict[str, Any]] = {
    "quick": {"seeds": (0, 1), "ppo_on": ("C.2-N2", "C.2-N100"), "ppo_variants": {"C.2-N100": (OS_T,), "C.2-N2": (OS_T,)},
              "ppo": {"C.2-N2": 20_000, "C.2-N100": 20_000},
              "mbi": {"C.1": 500, "C.2-N2": 2000, "C.2-N100": 3000, "C.2-N1000": 1500, "C.4": 3000,
                      "C.10": 2000, "C.15": 4000}},
    "medium": {"seeds": (0, 1, 2), "ppo_on": ("C.1", "C.2-N2", "C.2-N100", "C.2-N1000", "C.4", "C.10", "C.15"),
               "ppo_variants": {"C.2-N100": (OS_T, OS_D, IT_T), "C.2-N2": (OS_T, OS_D), "C.1": (OS_T,),
                                "C.2-N1000": (OS_T, OS_D), "C.4": (OS_T,), "C.10": (OS_T,), "C.15": (IT_T,)},
               "ppo": {"C.1": 30_000, "C.2-N2": 30_000, "C.2-N100": 200_000, "C.2-N1000": 200_000, "C.4": 30_000,
                       "C.10": 30_000, "C.15": 200_000},
               "mbi": {"C.1": 2000, "C.2-N2": 20_000, "C.2-N100": 30_000, "C.2-N1000": 6000, "C.4": 30_000,
                       "C.10": 5000, "C.15": 10_000}},
    # full: 115 min as two --scenarios parts side by side on 2 cores (2026-11-23, tuned PPO);
    # PPO gets the paper's C.6 budget (1M agent-steps) where the paper made its claim, C.2 N=100,
    # and on what only the batched path affords (C.2 N=1000, C.15).
    "full": {"seeds": (0, 1, 2, 3, 4), "ppo_on": ("C.1", "C.2-N2", "C.2-N100", "C.2-N1000", "C.4", "C.10", "C.15"),
             "ppo_variants": {"C.2-N100": (OS_T, OS_D, IT_T), "C.2-N2": (OS_T, OS_D, IT_T), "C.1": (OS_T,),
                              "C.2-N1000": (OS_T, OS_D), "C.4": (OS_T, OS_D), "C.10": (OS_T,), "C.15": (IT_T,)},
             "ppo": {"C.1": 100_000, "C.2-N2": 100_000, "C.2-N100": 1_000_000, "C.2-N1000": 1_000_000,
                     "C.4": 100_000, "C.10": 100_000, "C.15": 1_000_000},
             "mbi": {"C.1": 2000, "C.2-N2": 20_000, "C.2-N100": 30_000, "C.2-N1000": 20_000, "C.4": 30_000,
                     "C.10": 5000, "C.15": 10_000}},
}


def scenarios(mode: str = "quick", budget: float = 1.0, keys: Sequence[str] | None = None) -> list[BenchScenario]:
    """The benchmark scenarios with ``mode``'s budgets scaled by ``budget`` (a factor)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
    if not budget > 0:
        raise ValueError(f"budget must be a positive factor, got {budget!r}")
    cfg = MODES[mode]

    def its(key: str) -> int:
        return max(int(round(cfg["mbi"][key] * budget)), 2)

    def ppo(key: str) -> dict[str, Any]:
        if key not in cfg["ppo_on"]:
            return {}
        return {"ppo_timesteps": max(int(round(cfg["ppo"][key] * budget)), 64),
                "ppo_variants": tuple(cfg["ppo_variants"][key])}

    sym = {"Y": 10.0, "lam": 0.1, "mode": "iterative", "reward_mode": "team"}
    c15 = its("C.15")
    every = [
        BenchScenario("C.1", "assembly_line_v0", {}, "C.1 assembly line", (0.05, 0.1), its("C.1"),
                      family="assembly", **ppo("C.1")),
        BenchScenario("C.2-N2", "symmetric_parallel_v0", {**sym, "n_agents": 2}, "C.2 symmetric N=2", 1e-3,
                      its("C.2-N2"), family="symmetric_small", **ppo("C.2-N2")),
        BenchScenario("C.2-N100", "symmetric_parallel_v0", {**sym, "n_agents": 100}, "C.2 symmetric N=100", 1e-3,
                      its("C.2-N100"), family="symmetric_large", **ppo("C.2-N100")),
        BenchScenario("C.2-N1000", "symmetric_parallel_v0", {**sym, "n_agents": 1000}, "C.2 symmetric N=1000", 1e-3,
                      its("C.2-N1000"), family="symmetric_large", ppo_vectorized=True, **ppo("C.2-N1000")),
        BenchScenario("C.4", "heterogeneous_parallel_v0", {"Y": 7.461, "lam": (0.1, 0.5, 0.2, 0.4, 0.6), "x0": 1.0},
                      "C.4 heterogeneous", 1e-3, its("C.4"), family="heterogeneous", **ppo("C.4")),
        BenchScenario("C.10", "nonconvex_v0", {}, "C.10 non-convex (vs global minimum)", 0.01, its("C.10"),
                      reference="global minimum (multi-start L-BFGS-B)", family="nonconvex", **ppo("C.10")),
        BenchScenario("C.15", "dynamic_target_v0", {"switch_step": max(c15 // 2, 1)},
                      "C.15 dynamic target (Y 7.461 → 10)", 5e-3, c15, switch_step=max(c15 // 2, 1),
                      family="dynamic", ppo_vectorized=True, ppo_copies=16, ppo_env_kwargs={"switch_step": 25},
                      **ppo("C.15")),
    ]
    if keys is None:
        return every
    known = {s.key: s for s in every}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ValueError(f"unknown scenario(s) {unknown}; known: {list(known)}")
    return [known[k] for k in keys]
