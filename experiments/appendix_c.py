"""Honest reproduction of the MBI paper's Appendix C (C.1–C.18).

Each experiment ``cK(cfg) -> dict`` returns

    {"claim": {...}, "measured": {...}, "reference": {...}, "verdict": ..., "explanation": ...,
     "figures": [png names], "_plots": {png name: plot spec}}

* ``claim``: what the paper reports. The paper's own Appendix C text is only its Table 3
  (``paper §8.4, Table 3``); the per-experiment parameters and numbers come from the authors'
  notebook as documented in ``shared/spec/appendix-c.md`` (cited as ``spec``).
* ``measured``: numbers from our run (``loss`` = final global loss where there is one).
* ``reference``: closed form, exact solver or global optimizer (``loss`` = true optimal loss).
* ``verdict``: ``reproduced`` | ``paper_incorrect`` | ``not_computed_by_paper``.

``_plots`` are drawn by :mod:`experiments.report` and never written to JSON.
"""
from __future__ import annotations

import functools
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.stats
import torch

from mechanism import (GradientAgents, NoisyAgents, SatisficingAgents,
                       aggregative_nash, aggregative_optimum, aggregative_problem,
                       assembly_line_problem, centralized_optimum, classify_point,
                       coupled_resource_problem, global_minimum, incentives, nash_equilibrium,
                       nonconvex_problem, run_planner, stability_limit)
from mechanism.payments import dpm_prices, misreport_gain, vcg_payments
from baselines.ppo_experiment import run_ppo_symmetric
from mbi_envs.evaluation import json_safe

__all__ = ["Config", "EXPERIMENTS", "VERDICTS", "run_all", "sanitize", "key_number"]

VERDICTS = ("reproduced", "paper_incorrect", "not_computed_by_paper")
SPEC = "spec (shared/spec/appendix-c.md), authors' notebook"
TABLE3 = "paper §8.4 Table 3"

# Parameters shared by several experiments (the paper's)
C4_LAM = (0.1, 0.5, 0.2, 0.4, 0.6)
C4_Y = 7.461


@dataclass
class Config:
    """Iteration counts and sizes. ``quick()`` (default), ``full()`` (the paper's counts),
    ``tiny()`` (tests)."""

    mode: str = "quick"
    seed: int = 0
    out: Path = Path("results/appendix_c")
    # C.2/C.3/C.4 budget (paper: 100,000) and whether to stop early at convergence
    iters_long: int = 100_000
    early_stop: bool = True
    iters_c8: int = 200_000          # paper: 200,000
    iters_c9: int = 150_000          # paper: 2,000,000
    avg_c9: int = 100_000            # paper: last 100,000
    iters_c6_max: int = 200_000      # MBI side of C.6: budget to reach the 1e-10 gap
    global_starts: int = 256
    scaling_ns: tuple[int, ...] = (10, 100, 1_000, 10_000, 100_000, 300_000, 1_000_000)
    scaling_steps: int = 20          # paper: 500
    scaling_repeats: int = 5         # paper: min of 5
    ppo_timesteps: int = 50_000
    ppo_seeds: list[int] = field(default_factory=lambda: [0])
    ppo_reward_modes: tuple[str, ...] = ("team", "difference")
    figures: bool = True

    @classmethod
    def quick(cls, **kw: Any) -> "Config":
        return cls(**kw)

    @classmethod
    def full(cls, **kw: Any) -> "Config":
        return cls(**{**dict(mode="full", early_stop=False, iters_c9=2_000_000, scaling_steps=500,
                             scaling_repeats=5, ppo_timesteps=1_000_000, ppo_seeds=[0, 1, 2, 3, 4]), **kw})

    @classmethod
    def tiny(cls, **kw: Any) -> "Config":
        return cls(**{**dict(mode="tiny", iters_long=4_000, iters_c8=4_000, iters_c9=20_000, avg_c9=10_000,
                             iters_c6_max=20_000, global_starts=64, scaling_ns=(10, 1_000, 100_000),
                             scaling_steps=3, scaling_repeats=1, ppo_timesteps=2_000, ppo_seeds=[0],
                             figures=False), **kw})

    def stop(self) -> dict[str, float]:
        """Planner tolerances: early stop at convergence in quick mode, the paper's fixed count in full."""
        return dict(eps=1e-15, tau=1e-12) if self.early_stop else dict(eps=0.0, tau=0.0)


# ---------------------------------------------------------------------------- helpers
def _f(x: Any) -> float:
    return float(torch.as_tensor(x).reshape(-1)[0]) if isinstance(x, torch.Tensor) else float(x)


def _vec(x: Any) -> list[float]:
    return [float(v) for v in torch.as_tensor(x).reshape(-1)]


def _rel_gap(loss: float, ref: float) -> float:
    return abs(loss - ref) / max(abs(ref), 1e-300)


def _entry(claim, measured, reference, verdict, explanation, plots=None) -> dict[str, Any]:
    assert verdict in VERDICTS, verdict
    plots = plots or {}
    return {"claim": claim, "measured": measured, "reference": reference, "verdict": verdict,
            "explanation": explanation, "figures": list(plots), "_plots": plots}


def _uniform_start(n: int, low: float, high: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(n, generator=g, dtype=torch.float64)


def _run(problem, policy, x0, iters, cfg: Config, **kw):
    opts = {**cfg.stop(), "record_actions": False, "record_every": max(1, iters // 2000), **kw}
    return run_planner(problem, policy, x0, max_iters=iters, **opts)


def _nash_losses(Y: float, lam: Any, n: int) -> dict[str, float]:
    """Global loss at the uncoordinated NE (closed form, x ≥ 0 is not binding) for share 0 and 1/N."""
    p = aggregative_problem(n, Y, lam)
    out = {}
    for label, share in (("share_0", 0.0), ("share_1_over_N", 1.0 / n)):
        x = aggregative_nash(Y, p.belief["lam"], share)
        out[f"nash_loss_{label}"] = float(p.loss(x.unsqueeze(0), "true")[0])
    return out


# ---------------------------------------------------------------------------- C.1
def c1(cfg: Config) -> dict:
    p = assembly_line_problem(Y=2.0, lam=0.5)
    eta = [0.05, 0.1]
    r = run_planner(p, GradientAgents(eta), torch.tensor([1.0, -1.0]), max_iters=200, eps=0.0, tau=0.0)
    G_max = float(r.G.abs().max())
    starts = (torch.rand(50, 2, 1, generator=torch.Generator().manual_seed(cfg.seed), dtype=torch.float64) * 10 - 5)
    rb = run_planner(p, GradientAgents(eta), starts, max_iters=200, eps=0.0, tau=0.0)
    dist = (rb.X - torch.tensor([[0.0], [2.0]], dtype=torch.float64)).flatten(1).norm(dim=1)
    # A real satisficing agent chooses when to stop from a time cost ρ (Theorem 2)
    sat = {}
    for rho in (1e-4, 1e-8):
        pol = SatisficingAgents(eta, time_cost=rho)
        rs = run_planner(p, pol, torch.tensor([1.0, -1.0]), max_iters=20_000, eps=0.0, tau=0.0)
        sat[f"rho_{rho:g}"] = {"status": rs.status, "stop_time_agent1": int(pol.stop_time[0, 0]),
                               "stop_time_agent2": int(pol.stop_time[0, 1]), "loss": _f(rs.loss),
                               "G_max": float(rs.G.abs().max())}
    traj = run_planner(p, GradientAgents(eta), starts[:10], max_iters=200, eps=0.0, tau=0.0, record_actions=True)
    main = run_planner(p, GradientAgents(eta), torch.tensor([1.0, -1.0]), max_iters=200, eps=0.0, tau=0.0,
                       record_actions=True)
    acts = traj.history.actions  # (T, B, 2, 1)
    series = [{"x": acts[:, b, 0, 0], "y": acts[:, b, 1, 0], "label": None, "alpha": 0.4} for b in range(acts.shape[1])]
    series.append({"x": main.history.actions[:, 0, 0, 0], "y": main.history.actions[:, 0, 1, 0],
                   "label": "start (1, −1)", "alpha": 1.0})
    plots = {"c1_trajectories.png": {"kind": "xy", "series": series, "points": [(0.0, 2.0, "x* = (0, 2)")],
                                     "xlabel": "x1", "ylabel": "x2", "title": "C.1: GD trajectories (200 iterations)"}}
    return _entry(
        {"source": SPEC, "x_star": [0.0, 2.0], "loss_star": 0.0, "G_max_at_200": 1.8e-3,
         "text": "converges to x*=(0,2); final |G|max≈1.8e-3 is evidence of satisficing (bounded rationality)"},
        {"x": _vec(r.X), "loss": _f(r.loss), "G_max_at_200": G_max, "iterations": r.iterations,
         "random_starts": 50, "random_starts_max_dist_to_opt": float(dist.max()),
         "random_starts_max_loss": float(rb.loss.max()), "satisficing_agents": sat},
        {"x": [0.0, 2.0], "loss": 0.0},
        "not_computed_by_paper",
        f"GD converges (|G|max={G_max:.2g} after 200 its, only because the loop stops there); the paper has no "
        f"stopping rule, so 'satisficing' was never computed: our satisficing agents pick their own stop "
        f"(ρ=1e-4: agent 1 stops at T={sat['rho_0.0001']['stop_time_agent1']}).",
        plots if cfg.figures else None)


# ---------------------------------------------------------------------------- C.2
@functools.lru_cache(maxsize=4)
def _c2_run(iters: int, early: bool, seed: int):
    cfg = Config(iters_long=iters, early_stop=early, seed=seed)
    p = aggregative_problem(100, 10.0, 0.1)
    x0 = _uniform_start(100, 0.0, 2.0, seed)
    r = run_planner(p, GradientAgents(1e-3), x0, max_iters=iters, record_every=1, record_actions=False, **cfg.stop())
    return p, r


def c2(cfg: Config) -> dict:
    p, r = _c2_run(cfg.iters_long, cfg.early_stop, cfg.seed)
    opt = p.optimum()
    x = r.X.reshape(-1)
    xs = 10.0 / 100.1
    return _entry(
        {"source": SPEC + "; " + TABLE3, "x_star": 10 / 100.1, "loss_star": 0.1 * 100 / 100.1,
         "iterations": 100_000, "nash_baseline_loss": 100.0,
         "text": "converges to the global optimum x*=Y/(N+λ), L*=λY²/(N+λ) at N=100; NE baseline x=0, L=100"},
        {"loss": _f(r.loss), "iterations": r.iterations, "status": r.status,
         "max_abs_x_error": float((x - xs).abs().max()), "rel_loss_gap": _rel_gap(_f(r.loss), opt.loss),
         "kkt_residual": r.kkt_residual},
        {"loss": opt.loss, "x_star": xs, **_nash_losses(10.0, 0.1, 100)},
        "reproduced",
        "GD reaches the closed-form optimum; the paper's 'NE' is the share-0 equilibrium (x=0, L=Y²=100); "
        "with a 1/N share of the system loss the NE loss is far lower (see reference).")


# ---------------------------------------------------------------------------- C.3
def c3(cfg: Config) -> dict:
    lam = (0.1, 0.5, 1.0, 5.0, 10.0)
    p = aggregative_problem(5, 10.0, lam)
    r = _run(p, GradientAgents(0.01), torch.full((5,), 1.0, dtype=torch.float64), cfg.iters_long, cfg)
    opt = p.optimum()
    return _entry(
        {"source": SPEC + "; " + TABLE3, "loss_star_formula": "Y²/(1+Σ1/λ_j)", "nash_baseline_loss": 100.0,
         "iterations": 100_000, "text": "heterogeneous system converges to x_i*=Y/(λ_i(1+Σ1/λ_j)); NE baseline 100"},
        {"loss": _f(r.loss), "x": _vec(r.X), "iterations": r.iterations, "status": r.status,
         "max_abs_x_error": float((r.X[0] - opt.x).abs().max()), "rel_loss_gap": _rel_gap(_f(r.loss), opt.loss)},
        {"loss": opt.loss, "x_star": _vec(opt.x), **_nash_losses(10.0, lam, 5)},
        "reproduced",
        "GD reaches the closed form; the 'NE baseline 100' is never computed in the paper: it equals our share-0 "
        "NE (x=0); the 1/N-share NE is reported too. Start x=1 (unspecified in the spec).")


# ---------------------------------------------------------------------------- C.4
def c4(cfg: Config) -> dict:
    p = aggregative_problem(5, C4_Y, C4_LAM)
    r = _run(p, GradientAgents(1e-3), torch.ones(5, dtype=torch.float64), cfg.iters_long, cfg)
    vcg = vcg_payments(p)
    alloc_diff = float((r.X[0] - vcg.x).abs().max())
    prices = dpm_prices(p, vcg.x).reshape(-1)
    reports = np.linspace(0.05, 1.0, 20 if cfg.mode != "tiny" else 6)
    gains = [misreport_gain(p, i, reports)["max_gain"] for i in range(5)]
    xs = vcg.x.reshape(-1).numpy()
    return _entry(
        {"source": SPEC + "; " + TABLE3, "text": "MBI is formally VCG-equivalent: the GD result equals the VCG allocation",
         "iterations": 100_000, "payments_computed": False},
        {"loss": _f(r.loss), "x_gd": _vec(r.X), "iterations": r.iterations, "status": r.status,
         "max_abs_diff_gd_vs_vcg_allocation": alloc_diff, "vcg_transfers": vcg.transfers.tolist(),
         "vcg_true_utilities": vcg.true_utilities.tolist(), "dpm_price": prices.tolist(),
         "dpm_linear_payment": (prices * xs).tolist(),
         "ic_max_gain_from_misreport_per_agent": gains, "ic_max_gain_from_misreport": max(gains),
         "misreport_grid": [float(reports[0]), float(reports[-1]), len(reports)]},
        {"loss": vcg.social_cost, "x_star": xs.tolist(), "vcg_null_action": 0.0},
        "not_computed_by_paper",
        f"The paper's 'VCG' side is the closed-form minimiser (equal by construction) and no payments exist. We "
        f"compute Clarke-pivot transfers; GD allocation matches to {alloc_diff:.1e}; the best misreport of λ_i gains "
        f"at most {max(gains):.1e} (truthful reporting dominant).")


# ---------------------------------------------------------------------------- C.5
def c5(cfg: Config) -> dict:
    p = coupled_resource_problem(10.0, 0.5, 0.0, 10.0)
    start = torch.tensor([5.0, 5.0], dtype=torch.float64)
    gd = run_planner(p, GradientAgents(0.1), start, max_iters=100_000, eps=0.0, tau=1e-5, record_actions=False)
    saddle = torch.full((2,), 20.0 / 4.5, dtype=torch.float64)
    kind, eig = classify_point(p, saddle)
    lb = centralized_optimum(p, x0=start)
    gm = global_minimum(p, n_starts=min(cfg.global_starts, 64), seed=cfg.seed)
    pert = run_planner(p, GradientAgents(0.1), torch.tensor([5.01, 4.99], dtype=torch.float64),
                       max_iters=100_000, eps=0.0, tau=1e-5, record_actions=False)
    ne = nash_equilibrium(p, share=0.5, x0=start)
    return _entry(
        {"source": SPEC + "; " + TABLE3, "x_opt": [4.444, 4.444], "loss_opt": 11.11, "failure_point": [3.75, 3.75],
         "text": "MBI finds the 'global optimum' (4.444, 4.444), L=11.11, faster than L-BFGS-B; decentralized failure at (3.75, 3.75)"},
        {"loss": _f(gd.loss), "x_gd": _vec(gd.X), "gd_status": gd.status, "gd_iterations": gd.iterations,
         "gd_gradient_evaluations": gd.evaluations, "lbfgsb_x": _vec(lb.x), "lbfgsb_loss": lb.loss,
         "lbfgsb_evaluations": lb.evaluations, "paper_point_class": kind, "paper_point_hessian_eigenvalues": eig.tolist(),
         "gd_from_perturbed_start_x": _vec(pert.X), "gd_from_perturbed_start_loss": _f(pert.loss),
         "nash_share_half_x": _vec(ne.x), "nash_share_half_loss": ne.loss},
        {"loss": gm.loss, "x_global": _vec(gm.x), "n_local_minima_found": len(gm.minima),
         "saddle_point": _vec(saddle), "saddle_loss": float(p.loss(saddle.reshape(1, 2, 1))[0])},
        "paper_incorrect",
        f"(4.444, 4.444) is a {kind} (Hessian eigenvalues {eig[0]:.2f}, {eig[-1]:.2f}); GD and L-BFGS-B from the "
        f"symmetric start stay on the diagonal and stop there. The box minimum is L={gm.loss:.3g} at a corner; a "
        f"0.01 perturbation of the start reaches it. (3.75, 3.75) is hard-coded, not computed.")


# ---------------------------------------------------------------------------- C.6
def _first_hit(history, target: float, ref: float) -> int | None:
    gaps = np.abs(history.loss[:, 0] - ref) / ref
    idx = np.nonzero(gaps <= target)[0]
    return None if idx.size == 0 else int(history.iterations[idx[0]])


def c6(cfg: Config) -> dict:
    """MBI vs PPO on C.2's problem, both measured: the paper hard-coded its PPO result."""
    p = aggregative_problem(100, 10.0, 0.1)
    opt = p.optimum()
    ppo = {mode: run_ppo_symmetric(cfg.ppo_timesteps, list(cfg.ppo_seeds), n_agents=100, Y=10.0, lam=0.1,
                                   reward_mode=mode) for mode in cfg.ppo_reward_modes}
    best_ppo_gap = min(r["loss_gap_mean"] for r in ppo.values())
    x0 = _uniform_start(100, 0.0, 2.0, cfg.seed)
    eta_max = stability_limit(p)
    mbi = {}
    for label, eta in (("paper_eta", 1e-3), ("near_max_stable_eta", 0.99 * eta_max)):
        r = run_planner(p, GradientAgents(eta), x0, max_iters=cfg.iters_c6_max, eps=1e-15, tau=1e-12,
                        record_every=1, record_actions=False)
        hit = _first_hit(r.history, 1e-10, opt.loss)
        hit_ppo = _first_hit(r.history, best_ppo_gap / opt.loss, opt.loss)
        per_iter = r.wall_seconds / max(r.iterations, 1)
        mbi[label] = {"eta": eta, "iterations_to_gap_1e-10": hit,
                      "env_steps_to_gap_1e-10": None if hit is None else hit * 100,
                      "wall_seconds_to_gap_1e-10": None if hit is None else per_iter * hit,
                      "env_steps_to_best_ppo_gap": None if hit_ppo is None else hit_ppo * 100,
                      "wall_seconds_to_best_ppo_gap": None if hit_ppo is None else per_iter * hit_ppo,
                      "final_rel_loss_gap": _rel_gap(_f(r.loss), opt.loss),
                      "wall_clock_method": "run wall-clock × (iterations to the gap / iterations run)"}
    paper_mbi = mbi["paper_eta"]
    step_ratio = (None if not paper_mbi["env_steps_to_best_ppo_gap"]
                  else cfg.ppo_timesteps / paper_mbi["env_steps_to_best_ppo_gap"])
    team = ppo[cfg.ppo_reward_modes[0]]
    summary_keys = ("mean_abs_error", "mean_abs_error_std", "loss_gap_mean", "loss_gap_std", "env_steps", "wall_seconds")
    return _entry(
        {"source": SPEC + "; " + TABLE3, "ppo_env_steps": 5_000_000, "speedup": 50.0,
         "text": "PPO converged in 5,000,000 steps; MBI is 50× faster and exact (PPO result was a hard-coded constant)"},
        {"loss": team["loss_gap_mean"] + opt.loss, "mbi": mbi,
         "ppo": {mode: {k: r.get(k) for k in summary_keys} for mode, r in ppo.items()},
         "ppo_per_seed": {mode: [{k: v for k, v in s.items() if k != "curve"} for s in r["per_seed"]]
                          for mode, r in ppo.items()},
         "ppo_timesteps": cfg.ppo_timesteps, "ppo_seeds": list(cfg.ppo_seeds),
         "best_ppo_loss_gap": best_ppo_gap,
         "env_step_ratio_ppo_over_mbi_paper_eta_at_best_ppo_gap": step_ratio},
        {"loss": opt.loss, "stability_limit_eta": eta_max},
        "not_computed_by_paper",
        f"The paper trained no RL. Real PPO after {cfg.ppo_timesteps} agent-steps: best loss gap "
        f"{best_ppo_gap:.3g} (team {team['loss_gap_mean']:.3g}); MBI (paper η) reaches that gap in "
        f"{paper_mbi['env_steps_to_best_ppo_gap']} agent-steps and 1e-10 in {paper_mbi['env_steps_to_gap_1e-10']}.")


# ---------------------------------------------------------------------------- C.7
def c7(cfg: Config) -> dict:
    runs, limits = {}, {}
    for lam_label, lam in (("code_lam_0.01", 0.01), ("text_lam_0.1", 0.1)):
        limits[lam_label] = stability_limit(aggregative_problem(100, 10.0, lam, lower=float("-inf")))
    eta_max = limits["code_lam_0.01"]
    for clamp, lower in (("unclamped", float("-inf")), ("clamped_x_ge_0", 0.0)):
        p = aggregative_problem(100, 10.0, 0.01, lower=lower)
        for eta in (5e-4, 5e-3, 1.01 * eta_max, 1.1):
            r = run_planner(p, GradientAgents(eta), torch.ones(100, dtype=torch.float64), max_iters=1000,
                            eps=0.0, tau=0.0, record_actions=False)
            tail = r.history.loss[-100:, 0]
            runs[f"{clamp}/eta_{eta:.6g}"] = {
                "eta": eta, "status": r.status, "diverged_at": r.diverged_at, "iterations": r.iterations,
                "loss": _f(r.loss), "tail_loss_min": float(tail.min()), "tail_loss_max": float(tail.max())}
    opt = aggregative_optimum(10.0, torch.full((100,), 0.01))
    un = runs["unclamped/eta_1.1"]
    cl = runs["clamped_x_ge_0/eta_1.1"]
    return _entry(
        {"source": SPEC + "; " + TABLE3, "eta_max_text": 0.999, "diverging_loss": 1e300, "stops_at": 5,
         "etas": [5e-4, 5e-3, 1.1], "text": "stable below η_max≈0.999, divergence above (loss 1e+300 at t=5)"},
        {"loss": runs["unclamped/eta_0.005"]["loss"], "runs": runs,
         "unclamped_eta_1.1_status": un["status"], "unclamped_eta_1.1_diverged_at": un["diverged_at"],
         "clamped_eta_1.1_status": cl["status"], "clamped_eta_1.1_tail_loss_max": cl["tail_loss_max"]},
        {"loss": opt.loss, "stability_limit": limits, "formula": "η_max = 1/(N+λ)",
         "closed_form_lam_0.01": 1 / 100.01, "closed_form_lam_0.1": 1 / 100.1},
        "paper_incorrect",
        f"η_max = 1/(N+λ) = {eta_max:.6g}, not 0.999. Unclamped, η=1.1 diverges (status {un['status']} at iteration "
        f"{un['diverged_at']}); with the clamp x≥0 it is a bounded limit cycle ({cl['status']}, loss ≤ "
        f"{cl['tail_loss_max']:.3g}). The paper's 1e+300 is a placeholder.")


# ---------------------------------------------------------------------------- C.8
def c8(cfg: Config) -> dict:
    p = aggregative_problem(100, 10.0, 0.11, true_lam=0.1)
    r = _run(p, GradientAgents(1e-3), _uniform_start(100, 0.0, 2.0, cfg.seed), cfg.iters_c8, cfg)
    true_loss = float(p.loss(r.X, "true")[0])
    opt_true = p.optimum("true").loss
    x_mis = p.optimum("belief").x
    mis_closed = float(p.loss(x_mis.unsqueeze(0), "true")[0])
    nash = _nash_losses(10.0, 0.1, 100)
    retained = {k.replace("nash_loss_", "vs_"): (v - true_loss) / (v - opt_true) for k, v in nash.items()}
    return _entry(
        {"source": SPEC + "; " + TABLE3, "welfare_gain_retained": 1.0, "nash_loss_table": 2.847,
         "planner_lam": 0.11, "true_lam": 0.1, "text": "100% of welfare gain retained under misspecification"},
        {"loss": true_loss, "iterations": r.iterations, "status": r.status, "welfare_gain_retained": retained,
         "excess_true_loss": true_loss - opt_true},
        {"loss": opt_true, "closed_form_misspecified_true_loss": mis_closed, **nash},
        "reproduced",
        f"Scored with the true λ, the misspecified planner loses {true_loss - opt_true:.2e} "
        f"({100 * retained['vs_share_0']:.5f}% of the gain over the share-0 NE retained). The table's NE loss "
        f"2.847 matches neither NE definition.")


# ---------------------------------------------------------------------------- C.9
def _lyapunov_excess(N: int, lam: float, eta: float, sigma2: float) -> float:
    """Stationary E[L] − L* of x ← x − η∇L + ε (unclamped, linear): ½ Σ_k h_k σ²/(1−(1−ηh_k)²)."""
    h = np.array([2 * lam] * (N - 1) + [2 * (N + lam)])
    return float(0.5 * np.sum(h * sigma2 / (1 - (1 - eta * h) ** 2)))


def c9(cfg: Config) -> dict:
    sigma2, eta = 5e-7, 1e-3
    p = aggregative_problem(100, 10.0, 0.1)
    x0 = p.optimum().x.reshape(-1).clone()
    r = run_planner(p, NoisyAgents(eta, math.sqrt(sigma2), seed=cfg.seed), x0, max_iters=cfg.iters_c9,
                    eps=0.0, tau=0.0, record_every=1, record_actions=False)
    tail = r.history.loss[-cfg.avg_c9:, 0]
    # standard error from 20 batch means (the slow mode decorrelates in ~1/(2ηλ) = 5000 iterations)
    batches = np.array_split(tail, 20)
    se = float(np.std([b.mean() for b in batches], ddof=1) / math.sqrt(len(batches)))
    opt = p.optimum()
    excess = _lyapunov_excess(100, 0.1, eta, sigma2)
    mean = float(tail.mean())
    return _entry(
        {"source": SPEC + "; " + TABLE3, "sigma2": sigma2, "iterations": 2_000_000, "average_over_last": 100_000,
         "text": "steady-state loss slightly above L* (resilient to noise)"},
        {"loss": mean, "steady_state_mean_loss": mean, "standard_error": se, "iterations": r.iterations,
         "averaged_over_last": int(tail.size), "excess_over_optimum": mean - opt.loss, "start": "x* (spec: the '1% offset' is not what the code does)"},
        {"loss": opt.loss, "lyapunov_steady_state_loss": opt.loss + excess, "lyapunov_excess": excess},
        "reproduced",
        f"Mean loss {mean:.5f} ± {se:.1g} vs the Lyapunov prediction {opt.loss + excess:.5f} "
        f"(L*={opt.loss:.5f}): slightly above L*, as claimed; the clamp x≥0 is essentially never active.")


# ---------------------------------------------------------------------------- C.10
def c10(cfg: Config) -> dict:
    p = nonconvex_problem(5.0, 0.1, 0.5, 4 * math.pi)
    gd = run_planner(p, GradientAgents(0.01), torch.zeros(2, dtype=torch.float64), max_iters=5000,
                     eps=0.0, tau=0.0, record_actions=False)
    gm = global_minimum(p, search_box=(-3.0, 8.0), n_starts=cfg.global_starts, seed=cfg.seed)
    rank = gm.rank_of(gd.X[0], atol=1e-4)
    ne = nash_equilibrium(p, share=0.0)
    return _entry(
        {"source": SPEC + "; " + TABLE3, "loss": 1.12, "text": "MBI reaches a globally optimal local minimum (L≈1.12) in a non-convex landscape"},
        {"loss": _f(gd.loss), "x_gd": _vec(gd.X), "gd_rank_among_local_minima": rank,
         "n_local_minima_found": len(gm.minima), "nash_share_0_x": _vec(ne.x), "nash_share_0_loss": ne.loss},
        {"loss": gm.loss, "x_global": _vec(gm.x), "search_box": [-3.0, 8.0], "starts": cfg.global_starts,
         "best_5_local_minima": [m.loss for m in gm.minima[:5]]},
        "paper_incorrect",
        f"GD from (0,0) stops at a local minimum with L={_f(gd.loss):.4f}, ranked {rank} of {len(gm.minima)} local "
        f"minima found; the global minimum is L={gm.loss:.4f} at ({_vec(gm.x)[0]:.3f}, {_vec(gm.x)[1]:.3f}).")


# ---------------------------------------------------------------------------- C.11
def _c11_reference(x0: float, eta: float, rho: float, curvature: float = 2.2, T_max: int = 200_000) -> tuple[int, float]:
    """argmin_T L_T + ρT with L_T = ½h x0² r^{2T}, r = 1 − ηh (exact for the 1-D quadratic)."""
    r = 1 - eta * curvature
    T = np.arange(T_max + 1)
    L = 0.5 * curvature * x0 ** 2 * np.exp(2 * T * np.log(abs(r)))
    J = L + rho * T
    t = int(np.argmin(J))
    return t, float(L[t])


def c11(cfg: Config) -> dict:
    # x2 fixed at 2 is a constant offset: L = (x1 + 2 − 2)² + 0.1 x1² = 1.1 x1²
    p = aggregative_problem(1, 2.0, 0.1, offset=2.0, lower=float("-inf"))
    rhos = [1e-8, 1e-6, 1e-4, 1e-2, 1.0]
    rows = []
    for rho in rhos:
        pol = SatisficingAgents(0.005, time_cost=rho)
        r = run_planner(p, pol, torch.tensor([10.0], dtype=torch.float64), max_iters=50_000, eps=0.0, tau=0.0,
                        record_actions=False)
        T_ref, L_ref = _c11_reference(10.0, 0.005, rho)
        rows.append({"rho": rho, "status": r.status, "stop_time": int(pol.stop_time[0, 0]), "loss": _f(r.loss),
                     "reference_stop_time": T_ref, "reference_loss": L_ref})

    def implied_rho(eta: float, T: int) -> list[float]:
        r = 1 - 2.2 * eta
        gain = lambda t: 110.0 * r ** (2 * t) * (1 - r ** 2)  # L_t − L_{t+1}  # noqa: E731
        return [gain(T), gain(T - 1)]

    stops = [row["stop_time"] for row in rows]
    losses = [row["loss"] for row in rows]
    monotone = all(a >= b for a, b in zip(stops, stops[1:])) and all(a <= b for a, b in zip(losses, losses[1:]))
    plots = {"c11_rho_tradeoff.png": {"kind": "line", "x": rhos, "series": {"stop time T*": stops},
                                      "series2": {"final loss": losses}, "logx": True, "logy2": True,
                                      "xlabel": "time cost ρ", "ylabel": "T*", "ylabel2": "loss",
                                      "title": "C.11: satisficing agents choose T* from ρ"}}
    return _entry(
        {"source": SPEC + "; " + TABLE3, "precision": {"eta": 0.005, "T": 5000}, "speed": {"eta": 0.05, "T": 10},
         "text": "agents trade precision for speed by choosing T from the time cost ρ (T and η were set by hand)"},
        {"loss": rows[2]["loss"], "runs": rows, "larger_rho_stops_earlier_with_higher_loss": monotone,
         "all_match_reference_stop_time": all(r_["stop_time"] == r_["reference_stop_time"] for r_ in rows)},
        {"loss": 0.0, "optimal_stop_rule": "T* = argmin_T L_T + ρT (enumerated)",
         "rho_interval_implying_paper_precision_T5000": implied_rho(0.005, 5000),
         "rho_interval_implying_paper_speed_T10": implied_rho(0.05, 10)},
        "not_computed_by_paper",
        f"ρ never appears in the paper's code. Our satisficing agent chooses T* from ρ: T*={stops} for ρ={rhos}, "
        f"equal to the enumerated optimum; larger ρ → earlier stop, higher loss.",
        plots if cfg.figures else None)


# ---------------------------------------------------------------------------- C.12
class _PaperPenaltyAgents(GradientAgents):
    """The paper's C.12 dynamics (for comparison only): agent 1 descends ``L + κ t x1²``."""

    def __init__(self, step_size: float, kappa: float) -> None:
        super().__init__(step_size)
        self.kappa = kappa

    def act(self, X, G, t):
        extra = torch.zeros_like(X)
        extra[:, 0] = -2.0 * self.kappa * t * X[:, 0]
        return self._project(X + self._eta * (G + extra))


def c12(cfg: Config) -> dict:
    kappa, eta = 5e-5, 0.05
    p = aggregative_problem(2, 2.0, 0.1)
    start = torch.ones(2, dtype=torch.float64)
    paper = {}
    for T in (5000, 20_000):
        r = run_planner(p, _PaperPenaltyAgents(eta, kappa), start, max_iters=T, eps=0.0, tau=0.0, record_actions=False)
        paper[f"T_{T}"] = {"loss": _f(r.loss), "x": _vec(r.X)}
    weights = torch.tensor([kappa, 0.0], dtype=torch.float64)
    pol = SatisficingAgents(eta, effort_cost=lambda T: weights * T ** 2)
    sat = run_planner(p, pol, start, max_iters=20_000, eps=0.0, tau=0.0, record_actions=False)
    x1 = _vec(sat.X)[0]
    x2_br = (2.0 - x1) / 1.1
    loss_given_x1 = (x1 + x2_br - 2) ** 2 + 0.1 * (x1 ** 2 + x2_br ** 2)
    L_star = 4.0 / 21.0
    return _entry(
        {"source": SPEC + "; " + TABLE3, "loss": 0.2458, "loss_star": 4 / 21, "kappa": kappa, "iterations": 5000,
         "text": "agent 1 satisfices under effort cost κ·t·x1², agent 2 compensates; L≈0.2458 vs L*=4/21"},
        {"loss": _f(sat.loss), "satisficing_status": sat.status, "x": _vec(sat.X),
         "stop_time_agent1": int(pol.stop_time[0, 0]), "stop_time_agent2": int(pol.stop_time[0, 1]),
         "iterations": sat.iterations, "paper_dynamics": paper,
         "paper_dynamics_drift_5000_to_20000": paper["T_20000"]["loss"] - paper["T_5000"]["loss"]},
        {"loss": L_star, "loss_given_agent1_stop": loss_given_x1, "effort_cost": "κ(T) = κ T² for agent 1, 0 for agent 2"},
        "paper_incorrect",
        f"Under the paper's dynamics the penalty κt grows forever: the loss is {paper['T_5000']['loss']:.4f} at 5000 "
        f"its but {paper['T_20000']['loss']:.4f} at 20000 (an artefact of stopping). A satisficing agent 1 (κ(T)=κT²) "
        f"stops at T={int(pol.stop_time[0, 0])} and agent 2 compensates: L={_f(sat.loss):.4f}.")


# ---------------------------------------------------------------------------- C.13 / C.15 / C.16
@functools.lru_cache(maxsize=2)
def _c13_runs():
    p = aggregative_problem(5, C4_Y, C4_LAM)
    a = run_planner(p, GradientAgents(5e-3), torch.full((5,), 0.1, dtype=torch.float64), max_iters=5000,
                    eps=0.0, tau=0.0, record_every=10, record_actions=True)
    pb = p.with_data(Y=10.0)
    b = run_planner(pb, GradientAgents(5e-3), a.X, max_iters=5000, eps=0.0, tau=0.0, record_every=10,
                    record_actions=True)
    long = run_planner(p, GradientAgents(5e-3), torch.full((5,), 0.1, dtype=torch.float64), max_iters=100_000,
                       eps=1e-15, tau=1e-12, record_every=100, record_actions=False)
    return p, pb, a, b, long


def c13(cfg: Config) -> dict:
    p, _, a, _, long = _c13_runs()
    opt = p.optimum()
    S = float(a.X.sum())
    S_star = float(opt.x.sum())
    plots = {"c13_convergence.png": {"kind": "line", "x": a.history.iterations.tolist(),
                                     "series": {"L − L*": np.maximum(a.history.loss[:, 0] - opt.loss, 1e-300).tolist()},
                                     "logy": True, "xlabel": "iteration", "ylabel": "loss gap",
                                     "title": "C.13: convergence on C.4's problem (η=5e-3)"}}
    return _entry(
        {"source": SPEC + "; " + TABLE3, "sum_x_star": 7.1244135, "iterations": 5000, "dtype": "float32",
         "text": "convergence is clearly observable; Σx close to Σx* = 7.1244135"},
        {"loss": _f(a.loss), "sum_x_at_5000": S, "abs_sum_error_at_5000": abs(S - S_star),
         "rel_loss_gap_at_5000": _rel_gap(_f(a.loss), opt.loss), "iterations_to_converge_float64": long.iterations,
         "status_long_run": long.status, "dtype": "float64"},
        {"loss": opt.loss, "sum_x_star": S_star},
        "reproduced",
        f"Σx = {S:.7f} after 5000 its vs Σx* = {S_star:.7f}: the residual {abs(S - S_star):.1e} comes from stopping "
        f"early (the run converges to 1e-12 KKT in {long.iterations} its), not from rounding.",
        plots if cfg.figures else None)


def c15(cfg: Config) -> dict:
    p, pb, a, b, _ = _c13_runs()
    SA, SB = float(p.optimum().x.sum()), float(pb.optimum().x.sum())
    its = np.concatenate([a.history.iterations, 5000 + b.history.iterations])
    sums = np.concatenate([a.history.actions.sum(axis=(2, 3))[:, 0], b.history.actions.sum(axis=(2, 3))[:, 0]])
    target = np.where(its < 5000, SA, SB)
    plots = {"c15_tracking.png": {"kind": "line", "x": its.tolist(), "series": {"Σx": sums.tolist(), "Σx* (target)": target.tolist()},
                                  "xlabel": "iteration", "ylabel": "Σx", "title": "C.15: Y switches 7.461 → 10 at t=5000"}}
    return _entry(
        {"source": SPEC + "; " + TABLE3, "Y_switch": [C4_Y, 10.0], "switch_at": 5000, "iterations": 10_000,
         "text": "re-converges to Σx*_B after the target switch (optimal dynamic tracking)"},
        {"loss": _f(b.loss), "sum_x_before_switch": float(a.X.sum()), "sum_x_at_end": float(b.X.sum()),
         "abs_sum_error_end": abs(float(b.X.sum()) - SB), "rel_loss_gap_end": _rel_gap(_f(b.loss), pb.optimum().loss)},
        {"loss": pb.optimum().loss, "sum_x_star_A": SA, "sum_x_star_B": SB},
        "reproduced",
        f"Σx tracks the switch: {float(b.X.sum()):.6f} at t=10000 vs Σx*_B = {SB:.6f} (residual from the 5000-iteration leg).",
        plots if cfg.figures else None)


def c16(cfg: Config) -> dict:
    p, _, a, _, _ = _c13_runs()
    opt = p.optimum()
    lam = np.array(C4_LAM)
    xs = opt.x.reshape(-1).numpy()
    acts = a.history.actions[:, 0, :, 0]
    plots = {"c16_actions.png": {"kind": "line", "x": a.history.iterations.tolist(),
                                 "series": {f"x{i + 1} (λ={lam[i]})": acts[:, i].tolist() for i in range(5)},
                                 "hlines": xs.tolist(), "xlabel": "iteration", "ylabel": "x_i",
                                 "title": "C.16: individual actions (dashed: x_i*)"}}
    corr = float(np.corrcoef(xs, 1 / lam)[0, 1])
    return _entry(
        {"source": SPEC + "; " + TABLE3, "text": "each x_i → x_i*, with x_i* 'proportional to cost'"},
        {"loss": _f(a.loss), "x_final": _vec(a.X), "max_abs_x_error": float(np.abs(acts[-1] - xs).max()),
         "corr_x_star_with_lambda": float(np.corrcoef(xs, lam)[0, 1]), "corr_x_star_with_inverse_lambda": corr},
        {"loss": opt.loss, "x_star": xs.tolist(), "lambda_times_x_star": (lam * xs).tolist()},
        "paper_incorrect",
        f"Every x_i converges to x_i*, but λ_i x_i* is the same for all agents: x_i* is inversely proportional to "
        f"the cost (correlation with 1/λ: {corr:.3f}), not proportional.",
        plots if cfg.figures else None)


# ---------------------------------------------------------------------------- C.14 / C.17
C14_TRUE = (0.3, 0.5, 0.2, 0.4, 0.6)
C17_PRIOR = {"support": [0.1, 0.3], "probabilities": [0.5, 0.5]}  # E[λ1] = 0.2


def _belief_problem(belief_lam1: float, true_lam1: float):
    lam = list(C4_LAM)
    lam[0] = belief_lam1
    true = list(C14_TRUE)
    true[0] = true_lam1
    return aggregative_problem(5, C4_Y, lam, true_lam=true)


@functools.lru_cache(maxsize=8)
def _hidden_cost(belief_lam1: float, true_lam1: float, iters: int, early: bool) -> dict[str, float]:
    """GD under the planner's belief, scored with the truth (shared by C.14 and C.17)."""
    p = _belief_problem(belief_lam1, true_lam1)
    cfg = Config(iters_long=iters, early_stop=early)
    r = _run(p, GradientAgents(1e-3), torch.ones(5, dtype=torch.float64), iters, cfg)
    true_loss = float(p.loss(r.X, "true")[0])
    closed = float(p.loss(p.optimum("belief").x.unsqueeze(0), "true")[0])
    ideal = p.optimum("true").loss
    return {"true_loss": true_loss, "true_loss_closed_form": closed, "ideal_loss": ideal,
            "penalty": true_loss - ideal, "penalty_closed_form": closed - ideal, "iterations": r.iterations,
            "x1": _vec(r.X)[0]}


def c14(cfg: Config) -> dict:
    h = _hidden_cost(0.1, 0.3, cfg.iters_long, cfg.early_stop)
    return _entry(
        {"source": SPEC + "; " + TABLE3, "true_loss_rise": 1.08, "max_rise_percent": 30.0,
         "text": "agent 1 (true λ1=0.3, planner uses 0.1) contributes less; true loss rises by 1.08 (up to 30%)"},
        {"loss": h["true_loss"], "penalty": h["penalty"], "penalty_percent": 100 * h["penalty"] / h["ideal_loss"],
         "x1": h["x1"], "iterations": h["iterations"]},
        {"loss": h["ideal_loss"], "true_loss_under_belief_closed_form": h["true_loss_closed_form"],
         "penalty_closed_form": h["penalty_closed_form"]},
        "paper_incorrect",
        f"Agents follow the planner's λ̂1=0.1, so agent 1 contributes *more* than is efficient; true loss "
        f"{h['true_loss']:.4f} vs ideal {h['ideal_loss']:.4f}: penalty {h['penalty']:.4f} "
        f"({100 * h['penalty'] / h['ideal_loss']:.1f}%), not 1.08; identical to C.17's λ̂=0.1 row.")


def c17(cfg: Config) -> dict:
    support, probs = C17_PRIOR["support"], C17_PRIOR["probabilities"]
    mean = float(np.dot(support, probs))
    h01 = _hidden_cost(0.1, 0.3, cfg.iters_long, cfg.early_stop)     # the same run as C.14
    h02 = _hidden_cost(mean, 0.3, cfg.iters_long, cfg.early_stop)
    mitigation = 1 - h02["penalty"] / h01["penalty"]
    expected = {}
    for label, b in (("belief_0.1", 0.1), ("belief_mean_0.2", mean)):
        rows = [_hidden_cost(b, t, cfg.iters_long, cfg.early_stop) for t in support]
        expected[label] = {"expected_true_loss": float(np.dot(probs, [r["true_loss"] for r in rows])),
                           "expected_penalty": float(np.dot(probs, [r["penalty"] for r in rows]))}
    # Bayes-optimal belief on a grid (L is linear in λ1, so E[L(x; λ1)] = L(x; E[λ1]): the mean is optimal)
    grid = np.linspace(0.1, 0.3, 21)
    exp_grid = [float(np.dot(probs, [float(_belief_problem(b, t).loss(
        _belief_problem(b, t).optimum("belief").x.unsqueeze(0), "true")[0]) for t in support])) for b in grid]
    # Reporting game: under VCG with the true λ1 in the prior's support, truthful reporting is best
    gains = []
    for t in support:
        lam = list(C14_TRUE)
        lam[0] = t
        gains.append(misreport_gain(aggregative_problem(5, C4_Y, lam), 0, grid)["max_gain"])
    plots = {"c17_penalty.png": {"kind": "bar", "labels": ["λ̂1=0.1\n(true 0.3)", "λ̂1=E[λ1]=0.2\n(true 0.3)",
                                                          "λ̂1=0.1\nexpected, prior", "λ̂1=0.2\nexpected, prior"],
                                 "values": [h01["penalty"], h02["penalty"], expected["belief_0.1"]["expected_penalty"],
                                            expected["belief_mean_0.2"]["expected_penalty"]],
                                 "ylabel": "true loss − ideal loss", "title": "C.14/C.17: hidden-cost penalty"}}
    return _entry(
        {"source": SPEC + "; " + TABLE3, "penalty_belief_0.1": 1.186, "penalty_belief_0.2": 0.124,
         "mitigation": 0.896, "prior_defined": False,
         "text": "Bayesian MBI with E[λ1]=0.2 cuts the penalty from ~1.186 to ~0.124 (89.6% mitigation); guarantees BIC"},
        {"loss": h02["true_loss"], "penalty_belief_0.1": h01["penalty"], "penalty_belief_mean": h02["penalty"],
         "mitigation": mitigation, "expected_under_prior": expected,
         "vcg_max_gain_from_misreporting_lam1_per_true_type": gains},
        {"loss": h01["ideal_loss"], "prior": C17_PRIOR, "prior_mean": mean,
         "bayes_optimal_belief_on_grid": float(grid[int(np.argmin(exp_grid))]),
         "min_expected_true_loss_on_grid": float(min(exp_grid)),
         "penalty_belief_0.1_closed_form": h01["penalty_closed_form"],
         "penalty_belief_mean_closed_form": h02["penalty_closed_form"]},
        "not_computed_by_paper",
        f"No prior existed. With prior λ1∈{{0.1,0.3}} (½ each): expected true loss {expected['belief_mean_0.2']['expected_true_loss']:.4f} "
        f"with the mean belief vs {expected['belief_0.1']['expected_true_loss']:.4f} with λ̂=0.1; at λ1=0.3 the penalty "
        f"falls {h01['penalty']:.4f} → {h02['penalty']:.4f} ({100 * mitigation:.1f}%). BIC is tested via VCG reports.",
        plots if cfg.figures else None)


# ---------------------------------------------------------------------------- C.18
def _time_it(fn: Callable[[], Any], steps: int, repeats: int) -> float:
    fn()  # warm-up (allocator, dispatch caches)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def c18(cfg: Config) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: timings comparable across machines and less noisy
    try:
        return _c18(cfg)
    finally:
        torch.set_num_threads(threads)


def _c18(cfg: Config) -> dict:
    g = torch.Generator().manual_seed(cfg.seed)
    rows = []
    for N in cfg.scaling_ns:
        # at least cfg.scaling_steps calls, more for small N so each timing spans milliseconds
        steps = max(cfg.scaling_steps, min(2000, int(2e5 // N)))
        p = aggregative_problem(N, 10.0, 0.1)
        X = torch.rand(1, N, 1, generator=g, dtype=torch.float64)
        t_auto = _time_it(lambda: incentives(p, X, method="autograd"), steps, cfg.scaling_repeats)
        t_an = _time_it(lambda: incentives(p, X, method="analytic"), steps, cfg.scaling_repeats)
        x = X.reshape(-1).clone()

        def mock():  # the paper's timed step: mean + scalar update + Gaussian noise
            m = x.mean()
            return x - 1e-3 * (m - 10.0 / N) + 1e-3 * torch.randn(N, generator=g, dtype=torch.float64)

        t_mock = _time_it(mock, steps, cfg.scaling_repeats)
        rows.append({"N": N, "steps": steps, "autograd_s": t_auto, "analytic_s": t_an, "mock_s": t_mock,
                     "ratio_autograd_over_mock": t_auto / t_mock, "ratio_analytic_over_mock": t_an / t_mock})
    Ns = np.array([r["N"] for r in rows], float)
    big = Ns >= min(1e5, np.sort(Ns)[-2])  # where the O(N) work dominates the fixed per-call overhead
    fit = {}
    for key in ("autograd_s", "analytic_s", "mock_s"):
        ts = np.array([r[key] for r in rows])
        name = key.replace("_s", "_exponent")
        fit[name] = float(scipy.stats.linregress(np.log10(Ns[big]), np.log10(ts[big])).slope)
        fit[name + "_all_N"] = float(scipy.stats.linregress(np.log10(Ns), np.log10(ts)).slope)
    plots = {"c18_scaling.png": {"kind": "line", "x": Ns.tolist(),
                                 "series": {k: [r[k] for r in rows] for k in ("autograd_s", "analytic_s", "mock_s")},
                                 "logx": True, "logy": True, "xlabel": "N agents", "ylabel": "seconds per step",
                                 "title": "C.18: real DPM reverse pass vs the paper's mock step"}}
    return _entry(
        {"source": SPEC + "; " + TABLE3, "complexity": "O(N)", "feasible_up_to": 1e10, "steps": 500, "repeats": 5,
         "text": "linear O(N) complexity, feasible up to N=1e10 agents (timed step was a mock)"},
        {"loss": None, "timings": rows, "fitted_exponent": fit, "fit_range_min_N": float(Ns[big].min()) if big.any() else None,
         "steps_at_large_N": cfg.scaling_steps, "repeats": cfg.scaling_repeats, "threads": 1, "largest_N_measured": float(Ns.max())},
        {"loss": None, "exponent_linear": 1.0},
        "not_computed_by_paper",
        f"The paper timed a mock step. The real DPM reverse pass scales with exponent {fit['autograd_exponent']:.2f} "
        f"(autograd) / {fit['analytic_exponent']:.2f} (analytic) for N≥{int(Ns[big].min())}, {rows[-1]['ratio_autograd_over_mock']:.1f}× "
        f"the mock at N={int(Ns.max())}; 1e10 was never run (no extrapolation reported as measured).",
        plots if cfg.figures else None)


# ---------------------------------------------------------------------------- registry
EXPERIMENTS: dict[str, Callable[[Config], dict]] = {
    "C.1": c1, "C.2": c2, "C.3": c3, "C.4": c4, "C.5": c5, "C.6": c6, "C.7": c7, "C.8": c8, "C.9": c9,
    "C.10": c10, "C.11": c11, "C.12": c12, "C.13": c13, "C.14": c14, "C.15": c15, "C.16": c16,
    "C.17": c17, "C.18": c18,
}


def run_all(cfg: Config, only: list[str] | None = None, progress: bool = True) -> dict[str, dict]:
    """Run the selected experiments (all by default); an experiment that raises becomes an error
    entry ``{"status": "error", "error": message}`` instead of stopping the run."""
    ids = list(EXPERIMENTS) if not only else list(only)
    unknown = [i for i in ids if i not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment ids {unknown}; choose from {list(EXPERIMENTS)}")
    results: dict[str, dict] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(ids), desc="Appendix C", unit="exp")
    for eid in ids:
        if bar is not None:
            bar.set_postfix_str(eid)
        t0 = time.perf_counter()
        torch.manual_seed(cfg.seed)
        try:
            entry = EXPERIMENTS[eid](cfg)
            entry["status"] = "ok"
        except Exception as exc:  # recorded, never invented
            entry = {"status": "error", "error": f"{type(exc).__name__}: {exc}",
                     "traceback": traceback.format_exc(limit=3), "verdict": None, "figures": []}
        entry["seconds"] = time.perf_counter() - t0
        results[eid] = entry
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return results


def sanitize(obj: Any) -> Any:
    """JSON-safe copy (see :func:`mbi_envs.evaluation.json_safe`) without the ``_plots`` entries."""
    return json_safe(_drop_plots(obj))


def _drop_plots(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_plots(v) for k, v in obj.items() if k != "_plots"}
    if isinstance(obj, (list, tuple)):
        return [_drop_plots(v) for v in obj]
    return obj


def key_number(eid: str, entry: dict) -> str:
    """One key number per experiment for the summary table."""
    if entry.get("status") != "ok":
        return entry.get("error", "error")[:60]
    m, r = entry["measured"], entry["reference"]
    picks = {
        "C.1": lambda: f"|G|max@200={m['G_max_at_200']:.2g}",
        "C.2": lambda: f"rel gap={m['rel_loss_gap']:.1e}",
        "C.3": lambda: f"rel gap={m['rel_loss_gap']:.1e}",
        "C.4": lambda: f"max misreport gain={m['ic_max_gain_from_misreport']:.1e}",
        "C.5": lambda: f"true min L={r['loss']:.3g} (paper 11.11: {m['paper_point_class']})",
        "C.6": lambda: (f"PPO best gap {m['best_ppo_loss_gap']:.3g} in {m['ppo_timesteps']} agent-steps; MBI to it: "
                        f"{m['mbi']['paper_eta']['env_steps_to_best_ppo_gap']} (paper η), "
                        f"{m['mbi']['near_max_stable_eta']['env_steps_to_best_ppo_gap']} (max stable η)"),
        "C.7": lambda: f"η_max={r['stability_limit']['code_lam_0.01']:.5g}",
        "C.8": lambda: f"retained={100 * m['welfare_gain_retained']['vs_share_0']:.4f}%",
        "C.9": lambda: f"L̄={m['steady_state_mean_loss']:.5f} vs {r['lyapunov_steady_state_loss']:.5f}",
        "C.10": lambda: f"global L={r['loss']:.4f} vs GD {m['loss']:.4f}",
        "C.11": lambda: f"T*={[x['stop_time'] for x in m['runs']]}",
        "C.12": lambda: f"L={m['loss']:.4f} (L*={r['loss']:.4f})",
        "C.13": lambda: f"|Σx−Σx*|={m['abs_sum_error_at_5000']:.1e}",
        "C.14": lambda: f"penalty={m['penalty']:.4f}",
        "C.15": lambda: f"|Σx−Σx*_B|={m['abs_sum_error_end']:.1e}",
        "C.16": lambda: f"corr(x*,1/λ)={m['corr_x_star_with_inverse_lambda']:.3f}",
        "C.17": lambda: f"mitigation={100 * m['mitigation']:.1f}%",
        "C.18": lambda: f"exponent={m['fitted_exponent']['autograd_exponent']:.2f}",
    }
    try:
        return picks[eid]()
    except Exception as exc:  # pragma: no cover - defensive
        return f"n/a ({exc})"
