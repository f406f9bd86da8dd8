"""The experiment registry, the runner, the JSON sanitizer, run metadata and the summary numbers."""
from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import platform
import time
import traceback
from typing import Any, Callable

import torch

from mbi_envs.evaluation import json_safe

from ..jobs import Job
from .config import Config
from .convergence import c1, c1_checks, c2, c2_checks, c3, c3_checks
from .landscape import c5, c5_checks, c10, c10_checks
from .mechanism_design import c4, c4_checks, c14, c14_checks, c17, c17_checks
from .rl import c6, c6_checks
from .satisficing import c11, c11_checks, c12, c12_checks
from .scaling import c18, c18_checks
from .stability import c7, c7_checks, c8, c8_checks, c9, c9_checks
from .tracking import c13, c13_checks, c15, c15_checks, c16, c16_checks

__all__ = ["EXPERIMENTS", "CHECKS", "run_all", "sanitize", "key_number", "run_metadata", "appendix_jobs", "run_entry",
           "error_entry"]

EXPERIMENTS: dict[str, Callable[[Config], dict]] = {
    "C.1": c1, "C.2": c2, "C.3": c3, "C.4": c4, "C.5": c5, "C.6": c6, "C.7": c7, "C.8": c8, "C.9": c9,
    "C.10": c10, "C.11": c11, "C.12": c12, "C.13": c13, "C.14": c14, "C.15": c15, "C.16": c16,
    "C.17": c17, "C.18": c18,
}
#: the verdict logic of each experiment: ``checks(measured, reference) -> list of checks``
CHECKS: dict[str, Callable[[dict, dict], list[dict]]] = {
    "C.1": c1_checks, "C.2": c2_checks, "C.3": c3_checks, "C.4": c4_checks, "C.5": c5_checks, "C.6": c6_checks,
    "C.7": c7_checks, "C.8": c8_checks, "C.9": c9_checks, "C.10": c10_checks, "C.11": c11_checks,
    "C.12": c12_checks, "C.13": c13_checks, "C.14": c14_checks, "C.15": c15_checks, "C.16": c16_checks,
    "C.17": c17_checks, "C.18": c18_checks,
}

RUN_THREADS = 1  # torch threads while the experiments run (small tensors; removes a core-count effect)
PACKAGES = ("torch", "numpy", "scipy", "stable-baselines3", "gymnasium", "pettingzoo", "matplotlib")


def run_all(cfg: Config, only: list[str] | None = None, progress: bool = True) -> dict[str, dict]:
    """Run the selected experiments (all by default); an experiment that raises becomes an error
    entry ``{"status": "error", "error": message}`` instead of stopping the run."""
    ids = list(EXPERIMENTS) if not only else list(only)
    unknown = [i for i in ids if i not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment ids {unknown}; choose from {list(EXPERIMENTS)}")
    results: dict[str, dict] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(RUN_THREADS)
    try:
        return _run(cfg, ids, progress, results)
    finally:
        torch.set_num_threads(threads)


def _run(cfg: Config, ids: list[str], progress: bool, results: dict[str, dict]) -> dict[str, dict]:
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


def appendix_jobs(cfg: Config, only: list[str] | None = None) -> list[Job]:
    """The selected experiments as a job set (``experiments.jobs``): one job per id, configured by
    the id and every field of ``cfg`` but ``out`` (so a changed iteration count is a new job)."""
    ids = list(EXPERIMENTS) if not only else list(only)
    unknown = [i for i in ids if i not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment ids {unknown}; choose from {list(EXPERIMENTS)}")
    fields = json_safe({k: v for k, v in dataclasses.asdict(cfg).items() if k != "out"})
    return [Job(run_entry, {"experiment": eid, "config": fields}, label=eid) for eid in ids]


def run_entry(job: dict[str, Any]) -> dict[str, Any]:
    """One experiment of an :func:`appendix_jobs` job: its JSON-safe entry, plot specs included
    (figures are drawn from the records). An experiment that raises raises: the job gets no
    record, so a resumed run tries it again."""
    defaults = Config()
    cfg = Config(**{k: (tuple(v) if isinstance(getattr(defaults, k), tuple) else v) for k, v in job["config"].items()})
    threads = torch.get_num_threads()
    torch.set_num_threads(RUN_THREADS)
    try:
        t0 = time.perf_counter()
        torch.manual_seed(cfg.seed)
        entry = EXPERIMENTS[job["experiment"]](cfg)
        entry["status"] = "ok"
        entry["seconds"] = time.perf_counter() - t0
    finally:
        torch.set_num_threads(threads)
    return json_safe(entry)


def error_entry(message: str) -> dict[str, Any]:
    """The entry of an experiment that raised (its job's error text), as :func:`run_all` records it."""
    last = message.strip().splitlines()[-1] if message.strip() else "error"
    return {"status": "error", "error": last, "traceback": message, "verdict": None, "figures": []}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_metadata(cfg: Config | None = None) -> dict[str, Any]:
    """What a reader needs to rerun a result: package versions, thread counts, CPU, the full config."""
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    # thread counts and the kernel-dispatch switches that change float results (docs/appendix_c.md)
    threads = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                              "MKL_CBWR", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")}
    meta = {"python": platform.python_version(), "platform": platform.platform(), "cpu_model": _cpu_model(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch_threads_while_running_appendix_c": RUN_THREADS,
            "torch_interop_threads": torch.get_num_interop_threads(), "thread_env": threads,
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "load_average_1_5_15_min_at_end": list(os.getloadavg()),  # timings (C.18) depend on it
            "torch_parallel_info": torch.__config__.parallel_info().splitlines()[:6], "packages": versions}
    if cfg is not None:
        meta["config"] = {k: (str(v) if k == "out" else v) for k, v in dataclasses.asdict(cfg).items()}
    return meta


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
        "C.1": lambda: f"|G|max@200={m['G_max_at_200']:.3g} (paper 1.8e-3)",
        "C.2": lambda: f"rel gap={m['rel_loss_gap']:.1e}",
        "C.3": lambda: f"rel gap={m['rel_loss_gap']:.1e}",
        "C.4": lambda: (f"DPM price DSIC {m['ic_audit']['claim_axis']['dpm_dsic_status']}: regret "
                        f"{m['dpm_price_max_ex_post_regret']:.3g} at the truth, "
                        f"{m['ic_audit']['claim_axis']['dpm_max_regret_over_profiles']:.3g} over profiles"),
        "C.5": lambda: f"true min L={r['loss']:.3g} (paper 11.11: {m['paper_point_class']})",
        "C.6": lambda: (f"PPO median best gap {m['best_ppo_loss_gap']:.3g} ({m['ppo_timesteps']} agent-steps × "
                        f"{len(m['ppo_seeds'])} seeds); MBI to it: "
                        f"{m['mbi']['paper_eta']['env_steps_to_best_ppo_gap']} (paper η), "
                        f"{m['mbi']['near_max_stable_eta']['env_steps_to_best_ppo_gap']} (0.99 η_max)"),
        "C.7": lambda: (f"η_max={r['stability_limit']['code_lam_0.01']:.5g} (paper 0.999); diverge below 0.999: "
                        f"η={', '.join(f'{e:.3g}' for e in m['unclamped_etas_below_0.999_that_diverged'])}"),
        "C.8": lambda: f"retained={100 * m['welfare_gain_retained']['vs_share_0']:.4f}%",
        "C.9": lambda: (f"L̄={m['steady_state_mean_loss']:.5f} ± {m['standard_error']:.1g} vs "
                        f"{r['lyapunov_steady_state_loss']:.5f}"),
        "C.10": lambda: (f"global L={r['loss']:.4f} vs GD {m['loss']:.4f} (rank {m['gd_rank_among_local_minima']} of "
                         f"all {r['n_local_minima_in_plane']} minima in R², enumerated)"),
        "C.11": lambda: f"T*={[x['stop_time'] for x in m['runs']]}",
        "C.12": lambda: (f"paper dynamics L={m['paper_dynamics']['T_5000']['loss']:.4f}@5000, "
                         f"{m['paper_dynamics']['T_20000']['loss']:.4f}@20000"),
        "C.13": lambda: (f"|Σx−Σx*|={m['abs_sum_error_at_5000']:.1e} (float32; float64 "
                         f"{m['float64']['abs_sum_error_at_5000']:.1e})"),
        "C.14": lambda: f"L*_true−L*_belief={m['optimum_shift']:.4f} (paper 1.08); penalty={m['penalty']:.4f}",
        "C.15": lambda: f"|Σx−Σx*_B|={m['abs_sum_error_end']:.1e}",
        "C.16": lambda: (f"max|x_i−x_i*|={m['max_abs_x_error']:.2g} (float32); corr(x*,λ)="
                         f"{m['corr_x_star_with_lambda']:.3f}"),
        "C.17": lambda: (f"penalties {m['penalty_belief_0.1']:.4f} → {m['penalty_belief_mean']:.4f}, "
                         f"mitigation={100 * m['mitigation']:.1f}%; Bayesian MBI {m['ic_audit']['claim_axis']['bayes_dpm_bic_status']}"
                         f" BIC (gain {m['ic_audit']['claim_axis']['bayes_dpm_max_interim_regret']:.3g})"),
        "C.18": lambda: (f"exponent {m['fitted_exponent']['autograd_exponent']:.2f} (DPM), "
                         f"{m['fitted_exponent']['mock_exponent']:.2f} (mock), N ≤ {m['largest_N_measured']:.0e}; "
                         f"1e10 untested"),
    }
    try:
        return picks[eid]()
    except Exception as exc:  # pragma: no cover - defensive
        return f"n/a ({exc})"
