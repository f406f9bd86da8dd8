"""The scale benchmark: the real DPM planner against the paper's mock step, N = 1e3 … 1e9.

For each N the engine builds the symmetric aggregative problem (the paper's C.2/C.18 family,
``L = (Σx − Y)² + λ Σ x²``, ``x ≥ 0``), starts the agents at a seeded uniform point and times
``iters`` real planner iterations of gradient agents (``run_planner``, the method asked for:
``fused``, ``analytic`` or ``autograd``; η = ½ · 1/(N + λ), half the closed-form stability limit).
In the same run it times, on the same N and dtype:

* the paper's **mock** step (C.18 of its notebook: a mean, a scalar update and Gaussian noise;
  no gradient is computed), and
* one **in-place numpy pass** over an array of N values (CPU only): the memory-bandwidth
  reference a one-pass kernel cannot beat by much.

Seconds per iteration is the marginal cost of an iteration: a run of ``iters`` iterations minus
a run of 0 iterations (which validates and projects x0 and computes the final incentives and
KKT residual, a few passes over memory); ``run_seconds`` keeps the whole run. Where the first is
not slower than the second (the iterations cost less than the timing noise), the record says
``marginal_resolved: false`` and carries the bound ``run_seconds / iters`` instead.

Speed is reported as ratios measured in one run (the machine is shared and noisy). The scaling
exponent is the slope of log(seconds per iteration) against log N over N ≥ ``fit_min_n``, with a
95% confidence interval from the regression's standard error (Student t). Peak memory is the
CUDA allocator's peak on a GPU, and the process's peak resident set (``VmHWM``, reset before each
configuration where Linux allows) on the CPU.

Outputs (:func:`write_outputs`): ``scale.json`` (records + machine info + fits + target checks),
``scale.md`` and a log–log ``scale.png``.
"""
from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import scipy.stats
import torch

from mechanism import GradientAgents, aggregative_problem, run_planner
from mechanism.engines.distributed import ShardSpec, initial_actions, launch_local
from mechanism.errors import InvalidParameterError, require_int_at_least
from mechanism.core.problem import resolve_device, resolve_dtype
from mechanism.problems import aggregative_optimal_loss

__all__ = ["ScaleConfig", "run_scale", "convergence_status", "relative_gap", "compare_backends", "check_every_cost", "write_outputs", "fit_exponent", "machine_info", "target_checks",
           "time_mock_step", "time_numpy_pass", "measure_planner", "scale_jobs", "scale_point", "scale_payload"]

METHODS = ("fused", "analytic", "autograd")
Y, LAM = 10.0, 0.1


@dataclass
class ScaleConfig:
    """What :func:`run_scale` measures (every field is written into ``scale.json``)."""

    n_agents: Sequence[int] = (10**4, 10**5, 10**6)
    iters: int = 50
    device: str = "cpu"
    dtype: str = "float32"
    methods: Sequence[str] = ("fused",)
    world_size: int = 1
    mock: bool = True
    repeats: int = 3
    seed: int = 0
    fit_min_n: int = 10**5
    mock_budget_seconds: float = 5.0
    check_every: int = 0  # 0: only at the end of the timed run (pure iteration cost)

    def validate(self) -> None:
        """Raise :class:`InvalidParameterError` naming the first bad field."""
        if not self.n_agents:
            raise InvalidParameterError("n_agents must list at least one N")
        for n in self.n_agents:
            require_int_at_least("n_agents", n, 1)
        require_int_at_least("iters", self.iters, 1)
        require_int_at_least("repeats", self.repeats, 1)
        require_int_at_least("world_size", self.world_size, 1)
        require_int_at_least("check_every", self.check_every, 0)
        resolve_device(self.device)
        resolve_dtype(self.dtype)
        for m in self.methods:
            if m not in METHODS:
                raise InvalidParameterError(f"method must be one of {METHODS}, got {m!r}")
        if self.world_size > 1 and tuple(self.methods) != ("fused",):
            raise InvalidParameterError(f"world_size > 1 shards the fused method only, got methods={list(self.methods)}")


# ------------------------------------------------------------------------------------- timing
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:  # Linux: "5" resets the peak resident set size (VmHWM) of this process
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def time_mock_step(n: int, dtype: torch.dtype, device: torch.device, iters: int, budget: float,
                   seed: int = 0) -> tuple[float, int]:
    """Seconds per step of the paper's mock (``x − η(mean − Y/N) + η ε``) and how many were timed."""
    g = torch.Generator(device=device).manual_seed(seed)
    x = torch.rand(n, dtype=dtype, device=device, generator=g)

    def mock() -> None:
        nonlocal x
        m = x.mean()
        x = x - 1e-3 * (m - Y / n) + 1e-3 * torch.randn(n, generator=g, dtype=dtype, device=device)

    mock()
    _sync(device)
    t0 = time.perf_counter()
    mock()
    _sync(device)
    one = time.perf_counter() - t0
    steps = max(1, min(iters, int(budget / max(one, 1e-9))))
    t0 = time.perf_counter()
    for _ in range(steps):
        mock()
    _sync(device)
    return (time.perf_counter() - t0) / steps, steps


def time_numpy_pass(n: int, dtype: torch.dtype, repeats: int = 5) -> float:
    """Best-of seconds of one in-place numpy multiply over ``n`` values (the bandwidth reference)."""
    a = np.random.default_rng(0).random(n).astype(np.float32 if dtype == torch.float32 else np.float64)
    factor = a.dtype.type(0.999)
    np.multiply(a, factor, out=a)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.multiply(a, factor, out=a)
        best = min(best, time.perf_counter() - t0)
    return best


def marginal_seconds(t_full: float, t_zero: float, iters: int) -> tuple[float, bool]:
    """Seconds per iteration from a run of ``iters`` iterations (``t_full``) and one of 0 (``t_zero``),
    and whether the difference was resolved.

    ``(t_full − t_zero) / iters`` when the longer run took longer. When it did not (the iterations
    cost less than the timing noise of the fixed part: small N, few iterations), the marginal cost
    is not measured; the bound ``t_full / iters`` is returned with ``False``, so the record says it
    is an upper bound (scale.md prints "≤") and the exponent fits leave it out."""
    if t_full > t_zero:
        return (t_full - t_zero) / iters, True
    return t_full / iters, False


def _timed_run(problem: Any, eta: float, n: int, iters: int, method: str, cfg: ScaleConfig,
               device: torch.device, dtype: torch.dtype) -> tuple[float, Any]:
    x0 = initial_actions(n, cfg.seed, dtype=dtype, device=device)
    check = min(cfg.check_every or max(iters, 1), max(iters, 1))
    _sync(device)
    t0 = time.perf_counter()
    res = run_planner(problem, GradientAgents(eta), x0, method=method, max_iters=iters, eps=0.0, tau=0.0,
                      record_every=max(iters, 1), record_actions=False, check_every=check, keep_last_finite=False)
    _sync(device)
    return time.perf_counter() - t0, res


def measure_planner(n: int, method: str, cfg: ScaleConfig) -> dict[str, Any]:
    """Time real planner runs on one process: ``cfg.iters`` iterations and, to remove the fixed
    cost of a run (validating and projecting x0, the final incentives and KKT residual: a few
    passes over memory), the same run with 0 iterations. Seconds per iteration is the marginal
    cost ``(T_iters − T_0) / iters``; ``run_seconds`` is the whole run. Best of ``cfg.repeats``."""
    device, dtype = resolve_device(cfg.device), resolve_dtype(cfg.dtype)
    problem = aggregative_problem(n, Y=Y, lam=LAM, dtype=dtype, device=device)
    eta = 0.5 / (n + LAM)
    _timed_run(problem, eta, n, 2, method, cfg, device, dtype)  # warm-up: numba compiles, caches fill
    best_full, best_zero, result, peak = math.inf, math.inf, None, 0
    for _ in range(cfg.repeats):
        _reset_peak(device)
        seconds, res = _timed_run(problem, eta, n, cfg.iters, method, cfg, device, dtype)
        peak = max(peak, _peak_bytes(device) or 0)
        if seconds < best_full:
            best_full, result = seconds, res
        best_zero = min(best_zero, _timed_run(problem, eta, n, 0, method, cfg, device, dtype)[0])
    assert result is not None
    per_iteration, resolved = marginal_seconds(best_full, best_zero, cfg.iters)
    return {"seconds_per_iteration": per_iteration, "marginal_resolved": resolved, "run_seconds": best_full,
            "fixed_seconds": best_zero,
            "final_loss": float(result.loss[0]), "status": result.status, "peak_memory_bytes": peak or None}


def measure_sharded(n: int, cfg: ScaleConfig) -> dict[str, Any]:
    """Time the fused planner sharded over ``cfg.world_size`` local processes: the slowest rank's
    run of ``cfg.iters`` iterations minus its run of 0 iterations (the same marginal cost as
    :func:`measure_planner`; process start-up is outside both)."""
    def run(iters: int) -> list[dict[str, Any]]:
        spec = ShardSpec(n_agents=n, iters=iters, Y=Y, lam=LAM, seed=cfg.seed, dtype=cfg.dtype, device=cfg.device,
                         check_every=cfg.check_every or max(iters, 1))
        return launch_local(spec, cfg.world_size)

    full, zero = run(cfg.iters), run(0)
    t_full = max(r["seconds"] for r in full)
    t_zero = max(r["seconds"] for r in zero)
    per_iteration, resolved = marginal_seconds(t_full, t_zero, cfg.iters)
    return {"seconds_per_iteration": per_iteration, "marginal_resolved": resolved, "run_seconds": t_full,
            "fixed_seconds": t_zero, "final_loss": full[0]["final_loss"], "status": full[0]["status"],
            "peak_memory_bytes": None}


# ------------------------------------------------------------------------------------- the run
def run_scale(cfg: ScaleConfig, progress: bool = True,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    """Measure every (N, method) of ``cfg``; returns the ``scale.json`` payload."""
    cfg.validate()
    device, dtype = resolve_device(cfg.device), resolve_dtype(cfg.dtype)
    records = []
    plan = [(int(n), m) for n in sorted(cfg.n_agents) for m in cfg.methods]
    from tqdm.auto import tqdm

    bar = tqdm(plan, desc="scale", disable=not progress)
    mock_cache: dict[int, tuple[float, int]] = {}
    for n, method in bar:
        bar.set_postfix(N=f"{n:.0e}", method=method)
        measured = measure_sharded(n, cfg) if cfg.world_size > 1 else measure_planner(n, method, cfg)
        if cfg.mock and n not in mock_cache:
            mock_cache[n] = time_mock_step(n, dtype, device, cfg.iters, cfg.mock_budget_seconds, cfg.seed)
        mock_s = mock_cache[n][0] if cfg.mock else None
        numpy_s = time_numpy_pass(n, dtype) if device.type == "cpu" else None
        rec = {"n_agents": n, "device": str(device), "dtype": cfg.dtype, "method": method,
               "world_size": cfg.world_size, "iters": cfg.iters, **measured,
               "agent_updates_per_second": n / measured["seconds_per_iteration"],
               "mock_seconds_per_iteration": mock_s,
               "mock_steps_timed": mock_cache[n][1] if cfg.mock else None,
               "numpy_pass_seconds": numpy_s,
               "optimal_loss": aggregative_optimal_loss(Y, torch.tensor(LAM).expand(n))}
        rec["speedup_vs_mock"] = mock_s / rec["seconds_per_iteration"] if mock_s else None
        rec["ratio_to_numpy_pass"] = rec["seconds_per_iteration"] / numpy_s if numpy_s else None
        records.append(rec)
        log(f"N={n:.0e} {method}: {rec['seconds_per_iteration']:.3e} s/it, "
            f"{rec['agent_updates_per_second']:.3e} updates/s"
            + (f", {rec['speedup_vs_mock']:.1f}x the mock" if mock_s else ""))
    payload = {"config": asdict(cfg), "machine": machine_info(device), "records": records,
               "fits": _fits(records, cfg)}
    payload["targets"] = target_checks(records)
    return payload


def scale_jobs(cfg: ScaleConfig) -> list:
    """``cfg`` as a job set (``experiments.jobs``): one job per N (all of ``cfg.methods`` at that N)."""
    from .jobs import Job

    cfg.validate()
    fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()}
    return [Job(scale_point, {**fields, "n_agents": [int(n)]}, label=f"N={int(n):.0e}") for n in sorted(cfg.n_agents)]


def scale_point(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of one :func:`scale_jobs` job (one N)."""
    return run_scale(ScaleConfig(**job), progress=False)["records"]


def scale_payload(cfg: ScaleConfig, records: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`run_scale`'s payload from the records of its jobs (fits and targets recomputed)."""
    payload = {"config": asdict(cfg), "machine": machine_info(resolve_device(cfg.device)), "records": records,
               "fits": _fits(records, cfg)}
    payload["targets"] = target_checks(records)
    return payload


def fit_exponent(ns: Sequence[float], seconds: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """Slope of log10(seconds) on log10(N) with its ``confidence`` interval (needs ≥ 3 points for a CI)."""
    x, y = np.log10(np.asarray(ns, float)), np.log10(np.asarray(seconds, float))
    if len(x) < 2:
        return {"slope": None, "ci_low": None, "ci_high": None, "points": int(len(x))}
    fit = scipy.stats.linregress(x, y)
    if len(x) < 3:
        return {"slope": float(fit.slope), "ci_low": None, "ci_high": None, "points": int(len(x))}
    half = scipy.stats.t.ppf(0.5 + confidence / 2, len(x) - 2) * fit.stderr
    if not math.isfinite(half):  # e.g. every point equal: linregress's stderr is NaN
        return {"slope": float(fit.slope), "ci_low": None, "ci_high": None, "points": int(len(x))}
    return {"slope": float(fit.slope), "ci_low": float(fit.slope - half), "ci_high": float(fit.slope + half),
            "points": int(len(x))}


def _fits(records: list[dict[str, Any]], cfg: ScaleConfig) -> dict[str, Any]:
    out = {}
    for method in cfg.methods:
        rows = [r for r in records if r["method"] == method and r["n_agents"] >= cfg.fit_min_n
                and r.get("marginal_resolved", True)]
        out[method] = fit_exponent([r["n_agents"] for r in rows], [r["seconds_per_iteration"] for r in rows])
    mocks = {r["n_agents"]: r["mock_seconds_per_iteration"] for r in records
             if r["mock_seconds_per_iteration"] and r["n_agents"] >= cfg.fit_min_n}
    out["mock"] = fit_exponent(list(mocks), list(mocks.values()))
    out["fit_min_n"] = cfg.fit_min_n
    return out


def target_checks(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The scale issue's targets, each decided from the records (``None`` when not measured here)."""
    def find(n: int, dtype: str | None = None, device: str = "cpu", world: int = 1) -> dict[str, Any] | None:
        rows = [r for r in records if r["n_agents"] == n and r["method"] == "fused" and r["world_size"] == world
                and r["device"].startswith(device) and (dtype is None or r["dtype"] == dtype)]
        return rows[0] if rows else None

    checks = []
    r = find(10**6)
    checks.append(_check("N=1e6 CPU: fused iteration >= 90x faster than the mock step",
                         r and r["speedup_vs_mock"], 90.0, ">="))
    r = find(10**8, "float32")
    checks.append(_check("N=1e8 float32 CPU: >= 0.5e9 agent-updates/s", r and r["agent_updates_per_second"], 5e8, ">="))
    checks.append(_check("N=1e8 float32 CPU: within 3x of one in-place numpy pass", r and r["ratio_to_numpy_pass"], 3.0, "<="))
    r = find(10**9, "float32", "cuda")
    checks.append(_check("N=1e9 float32 on one GPU: >= 2.0e11 agent-updates/s", r and r["agent_updates_per_second"], 2e11, ">="))
    return checks


def _check(what: str, value: float | None, threshold: float, op: str) -> dict[str, Any]:
    passed = None if value is None else (value >= threshold if op == ">=" else value <= threshold)
    return {"target": what, "value": value, "threshold": threshold, "op": op, "passed": passed}


def machine_info(device: torch.device | None = None) -> dict[str, Any]:
    """CPU model, core count, library versions and, on CUDA, the GPU name."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "numpy": np.__version__,
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "platform": platform.platform()}
    try:
        import numba

        info["numba"] = numba.__version__
        info["numba_threads"] = numba.get_num_threads()
    except ImportError:  # pragma: no cover
        info["numba"] = None
    if device is not None and device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


# ------------------------------------------------------------------------------------- outputs
def write_outputs(payload: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """Write ``scale.json``, ``scale.md`` and ``scale.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "scale.json", "md": out / "scale.md", "png": out / "scale.png"}
    paths["json"].write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    paths["md"].write_text(to_markdown(payload))
    plot(payload, paths["png"])
    return paths


def _fmt(v: Any, spec: str = ".3g") -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def convergence_status(record: dict[str, Any]) -> str:
    """"converged after K iterations" or "not converged after K iterations" for a scale record."""
    iters = record.get("iters")
    after = f" after {iters} iterations" if iters is not None else ""
    return f"converged{after}" if record.get("status") == "converged" else f"not converged{after}"


def relative_gap(record: dict[str, Any]) -> float | None:
    """(final loss − optimal loss) / |optimal loss| of a scale record (None without both or at L* = 0)."""
    final, opt = record.get("final_loss"), record.get("optimal_loss")
    if final is None or opt is None or opt == 0 or not math.isfinite(final):
        return None
    return (final - opt) / abs(opt)


def to_markdown(payload: dict[str, Any]) -> str:
    """The human-readable summary of a scale run."""
    m, cfg = payload["machine"], payload["config"]
    lines = [f"# Scale run: {cfg['device']}, {cfg['dtype']}, world size {cfg['world_size']}", "",
             f"Machine: {m['cpu']}, {m['cores']} cores" + (f", GPU {m['gpu']}" if m.get("gpu") else "")
             + f"; torch {m['torch']}, numba {m.get('numba')}; {cfg['iters']} timed iterations, best of {cfg['repeats']}.",
             "", "| N | method | s / iteration | agent-updates / s | mock s / step | × faster than mock "
             "| numpy pass s | × one numpy pass | peak memory | final loss | optimal loss | status | relative gap |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in payload["records"]:
        mem = None if r["peak_memory_bytes"] is None else r["peak_memory_bytes"] / 2**20
        bound = "" if r.get("marginal_resolved", True) else "≤ "
        lines.append(f"| {r['n_agents']:.0e} | {r['method']} | {bound}{_fmt(r['seconds_per_iteration'])} | "
                     f"{_fmt(r['agent_updates_per_second'])} | {_fmt(r['mock_seconds_per_iteration'])} | "
                     f"{_fmt(r['speedup_vs_mock'], '.1f')} | {_fmt(r['numpy_pass_seconds'])} | "
                     f"{_fmt(r['ratio_to_numpy_pass'], '.2f')} | {'—' if mem is None else f'{mem:.0f} MiB'} | "
                     f"{_fmt(r['final_loss'], '.6g')} | {_fmt(r['optimal_loss'], '.6g')} | {convergence_status(r)} | "
                     f"{_fmt(relative_gap(r), '.3g')} |")
    if not all(r.get("marginal_resolved", True) for r in payload["records"]):
        lines += ["", "≤: the run of all iterations was not slower than the run of none (the iterations cost less than "
                  "the timing noise), so the marginal cost is not resolved; the entry is the bound whole run / "
                  "iterations, its rates are lower bounds, and the exponent fits leave it out."]
    if any(r.get("status") != "converged" for r in payload["records"]):
        lines += ["", "Not converged, by design: these are timings of a fixed budget of iterations with the stopping "
                  "tests off (eps = tau = 0), step 0.5 / (N + λ) from a random start, so the final loss says where the "
                  "iterate is after that budget, not how accurate the planner is (relative gap = (final − optimal) / "
                  "|optimal|)."]
    lines += ["", f"Scaling exponents (slope of log time on log N for N ≥ {payload['fits']['fit_min_n']:.0e}, 95% CI):", ""]
    for name, fit in payload["fits"].items():
        if isinstance(fit, dict):
            ci = "" if fit["ci_low"] is None else f" [{fit['ci_low']:.2f}, {fit['ci_high']:.2f}]"
            lines.append(f"- {name}: {_fmt(fit['slope'], '.2f')}{ci} ({fit['points']} points)")
    if payload.get("backends"):
        lines += ["", "CPU tools for the fused step (same N and dtype, one run; best of 3):", "",
                  "| N | tool | s / iteration | agent-updates / s |", "|---|---|---|---|"]
        for b in payload["backends"]:
            lines.append(f"| {b['n_agents']:.0e} | {b['tool']} | {_fmt(b['seconds'])} | {_fmt(b['agent_updates_per_second'])} |")
    if payload.get("check_every_cost"):
        lines += ["", "Cost of the stopping tests (µs per planner iteration, analytic DPM, one thread):", "",
                  "| N | check_every | µs / iteration |", "|---|---|---|"]
        for c in payload["check_every_cost"]:
            lines.append(f"| {c['n_agents']} | {c['check_every']} | {c['microseconds_per_iteration']:.1f} |")
    lines += ["", "Targets (computed from the records above; — = not measured in this run):", "",
              "| target | measured | threshold | passed |", "|---|---|---|---|"]
    for c in payload["targets"]:
        lines.append(f"| {c['target']} | {_fmt(c['value'])} | {c['op']} {c['threshold']:.3g} | {_fmt(c['passed'])} |")
    lines.append("")
    return "\n".join(lines)


def plot(payload: dict[str, Any], path: Path) -> None:
    """Log–log seconds per iteration against N, one line per method, and the mock."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    recs = payload["records"]
    for method in sorted({r["method"] for r in recs}):
        rows = sorted((r for r in recs if r["method"] == method), key=lambda r: r["n_agents"])
        ax.plot([r["n_agents"] for r in rows], [r["seconds_per_iteration"] for r in rows], "o-",
                label=f"real DPM planner ({method})")
    mock = sorted({(r["n_agents"], r["mock_seconds_per_iteration"]) for r in recs if r["mock_seconds_per_iteration"]})
    if mock:
        ax.plot([n for n, _ in mock], [s for _, s in mock], "s--", color="grey", label="paper's mock step (no gradient)")
    numpy_ref = sorted({(r["n_agents"], r["numpy_pass_seconds"]) for r in recs if r["numpy_pass_seconds"]})
    if numpy_ref:
        ax.plot([n for n, _ in numpy_ref], [s for _, s in numpy_ref], ":", color="black", label="one in-place numpy pass")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N agents")
    ax.set_ylabel("seconds per iteration")
    cfg = payload["config"]
    ax.set_title(f"DPM scale: {cfg['device']}, {cfg['dtype']}, world size {cfg['world_size']}")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ------------------------------------------------------------------------------------- tool choice
def compare_backends(n: int, dtype: str = "float32", iters: int = 20, repeats: int = 3) -> list[dict[str, Any]]:
    """Seconds per gradient-agent iteration of each way to run the aggregative DPM step on the CPU.

    * ``torch-unfused``: a float64 sum, then in-place ``sub``/``clamp`` over the whole array
      (several passes over memory);
    * ``torch-chunked`` and ``numba``: the two backends of :class:`mechanism.engines.fused.FusedAggregative`;
    * ``torch-compile``: the same update written as a function for ``torch.compile`` (Inductor
      fuses it into one C++ loop, out of place);
    * ``numpy-pass``: one in-place numpy multiply (the bandwidth reference, not a DPM step).
    All on the same array size and dtype in one run; best of ``repeats``.
    """
    from mechanism.engines.fused import FusedAggregative

    dt = resolve_dtype(dtype)
    problem = aggregative_problem(n, Y=Y, lam=LAM, dtype=dt)
    eta = 0.5 / (n + LAM)
    x = initial_actions(n, 0, dtype=dt)

    def best_of(step: Callable[[], Any]) -> float:
        step()
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(iters):
                step()
            best = min(best, (time.perf_counter() - t0) / iters)
        return best

    rows = []
    for backend in ("torch", "numba"):
        kernel = FusedAggregative(problem, eta, x.clone().reshape(1, n, 1), backend=backend)
        rows.append({"tool": f"{backend}-chunked" if backend == "torch" else "numba", "seconds": best_of(kernel.step)})
    xu = x.clone()

    def unfused() -> None:
        r = float(xu.sum(dtype=torch.float64)) - Y
        xu.sub_(2 * eta * (LAM * xu + r)).clamp_(min=0.0)
    rows.append({"tool": "torch-unfused", "seconds": best_of(unfused)})
    try:
        compiled = torch.compile(_compiled_update, dynamic=False)
        state = {"x": x.clone(), "s": x.sum(dtype=torch.float64)}
        e = torch.tensor(2 * eta, dtype=torch.float64)

        def via_compile() -> None:  # r and e as tensors: a Python float would recompile every call
            state["x"], state["s"] = compiled(state["x"], state["s"] - Y, e)
        rows.append({"tool": "torch-compile", "seconds": best_of(via_compile)})
    except Exception as exc:  # pragma: no cover - Inductor needs a C++ compiler
        rows.append({"tool": "torch-compile", "seconds": None, "error": repr(exc)[:200]})
    rows.append({"tool": "numpy-pass", "seconds": time_numpy_pass(n, dt)})
    for row in rows:
        row.update(n_agents=n, dtype=dtype, agent_updates_per_second=n / row["seconds"] if row["seconds"] else None)
    return rows


def _compiled_update(x: torch.Tensor, r: torch.Tensor, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    y = (x - (e * (LAM * x + r)).to(x.dtype)).clamp(min=0.0)
    return y, y.sum(dtype=torch.float64)


def check_every_cost(n_values: Sequence[int] = (2, 100, 1000), choices: Sequence[int] = (1, 4, 16, 64),
                     iters: int = 3000, repeats: int = 3) -> list[dict[str, Any]]:
    """Microseconds per planner iteration (analytic DPM, gradient agents, one torch thread) for each
    ``check_every``: what the stopping tests cost, the measurement behind the planner's default."""
    rows = []
    for n in n_values:
        problem = aggregative_problem(n, Y=Y, lam=LAM)
        x0 = initial_actions(n, 0)
        for every in choices:
            best = math.inf
            for _ in range(repeats):
                t0 = time.perf_counter()
                run_planner(problem, GradientAgents(0.5 / (n + LAM)), x0, max_iters=iters, eps=0.0, tau=0.0,
                            check_every=every, record_every=iters, record_actions=False)
                best = min(best, time.perf_counter() - t0)
            rows.append({"n_agents": n, "check_every": every, "microseconds_per_iteration": 1e6 * best / iters})
    return rows
