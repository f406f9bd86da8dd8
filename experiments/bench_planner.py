"""Planner speed against hand-written references of the same computation, measured in one run
(what is timed and why: ``scripts/bench_planner.py --help``). :func:`run_bench_planner` is the
whole measurement; each ``*_row(s)`` function one table of it; :func:`markdown` the report.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
import torch

from mechanism import GradientAgents, aggregative_problem, run_planner
from mechanism.engines.fused import FusedAggregative

__all__ = ["reference_loop", "per_iteration_rows", "c2_row", "large_row", "import_row", "markdown",
           "run_bench_planner"]

ROOT = Path(__file__).resolve().parents[1]
Y, LAM = 10.0, 0.1


@numba.njit(fastmath={"reassoc", "nsz", "contract"}, cache=False)
def reference_loop(x, e, lam, lo, hi, shift, k, losses):  # pragma: no cover - compiled
    """The hand-written reference: k gradient-agent iterations on the aggregative problem in one
    compiled call, float64 sums, the loss of every iteration kept."""
    s = 0.0
    for i in range(x.shape[0]):
        s += np.float64(x[i])
    for j in range(k):
        r = s + shift
        s = 0.0
        q = 0.0
        for i in range(x.shape[0]):
            xi = x[i]
            v = min(max(xi - e * (r + lam * xi), lo), hi)
            x[i] = v
            s += v
            q += lam * v * v
        losses[j] = (s + shift) ** 2 + q
    return s


def load() -> str:
    """The 1, 5 and 15 minute load averages (``/proc/loadavg``), or ``?``."""
    return ", ".join(Path("/proc/loadavg").read_text().split(" ")[:3]) if Path("/proc/loadavg").exists() else "?"


def start(n: int, dtype: torch.dtype) -> torch.Tensor:
    """The start x0: uniform on [0, 2), seed 0, drawn in float64 then cast."""
    return 2.0 * torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).to(dtype)


def time_reference(n: int, dtype: torch.dtype, eta: float, k: int) -> float:
    """Seconds of one :func:`reference_loop` call of ``k`` iterations."""
    x = start(n, dtype).numpy()
    npd = x.dtype.type
    losses = np.empty(k)
    t0 = time.perf_counter()
    reference_loop(x, npd(2 * eta), npd(LAM), npd(0.0), npd(np.inf), 0.0 - Y, k, losses)
    return time.perf_counter() - t0


def time_engine(n: int, dtype: torch.dtype, eta: float, k: int, variant: str) -> float:
    """Seconds of one ``run_planner`` call of ``k`` iterations in the engine ``variant``."""
    problem = aggregative_problem(n, Y=Y, lam=LAM, dtype=dtype)
    x0 = start(n, dtype)
    kw = dict(max_iters=k, record_every=max(k, 1), record_actions=False)
    if variant != "default tolerances":
        kw.update(eps=0.0, tau=0.0)
    if variant == "analytic (per-iteration Python)":
        kw["method"] = "analytic"
    original = FusedAggregative.compiled_loop
    if variant == "fused, one kernel call per iteration":
        kw["method"] = "fused"
        FusedAggregative.compiled_loop = property(lambda self: False)
    try:
        t0 = time.perf_counter()
        res = run_planner(problem, GradientAgents(eta), x0, **kw)
        seconds = time.perf_counter() - t0
    finally:
        FusedAggregative.compiled_loop = original
    assert res.iterations == k, (variant, res.status, res.iterations)
    return seconds


def marginal(fn, k: int) -> float:
    """(T(k) − T(0)) / k: the fixed cost of a run (validation, projection, final incentives) removed."""
    return (fn(k) - fn(0)) / k


def per_iteration_rows(ns: list[int], dtypes: list[str], repeats: int, quick: bool) -> list[dict]:
    """The per-iteration table: every engine variant against the reference, per N and dtype."""
    rows = []
    variants = ["default call", "default tolerances", "fused, one kernel call per iteration",
                "analytic (per-iteration Python)"]
    for dname in dtypes:
        dtype = getattr(torch, dname)
        for n in ns:
            eta = 0.5 / (n + LAM)
            k_fast = 200 if quick else max(2_000, int(2e7 // n))
            k_slow = 20 if quick else max(200, int(2e5 // max(n // 100, 1)) // 10)
            time_reference(n, dtype, eta, 10)
            for v in variants:
                time_engine(n, dtype, eta, 20, v)  # warm-up: numba compiles
            ref, eng = [], {v: [] for v in variants}
            for _ in range(repeats):
                ref.append(marginal(lambda k: time_reference(n, dtype, eta, k), k_fast))
                for v in variants:
                    k = k_fast if v in ("default call", "default tolerances") else k_slow
                    eng[v].append(marginal(lambda k, v=v: time_engine(n, dtype, eta, k, v), k))
            ref_s = statistics.median(ref)
            for v in variants:
                s = statistics.median(eng[v])
                rows.append({"n_agents": n, "dtype": dname, "engine": v, "seconds_per_iteration": s,
                             "reference_seconds_per_iteration": ref_s, "ratio_to_reference": s / ref_s,
                             "samples": eng[v], "reference_samples": ref})
                print(f"N={n:>6} {dname}  {v:<40} {s * 1e6:9.3f} us/it  ref {ref_s * 1e6:7.3f}  x{s / ref_s:7.2f}",
                      flush=True)
    return rows


def c2_row(repeats: int, quick: bool) -> dict:
    """C.2 end to end: a default call to a relative gap of 1e-10 against the reference."""
    n, eta = 100, 1e-3
    problem = aggregative_problem(n, Y=Y, lam=LAM)
    x0 = start(n, torch.float64)
    opt = problem.optimum().loss
    budget = 2_000 if quick else 200_000
    rec = run_planner(problem, GradientAgents(eta), x0, max_iters=budget, record_every=1, record_actions=False)
    gaps = (rec.history.loss[:, 0] - opt) / abs(opt)
    hits = np.nonzero(gaps <= 1e-10)[0]
    k = int(rec.history.iterations[hits[0]]) if hits.size else budget
    time_reference(n, torch.float64, eta, 10)
    ref, eng, slow = [], [], []
    for _ in range(repeats):
        ref.append(time_reference(n, torch.float64, eta, k))
        t0 = time.perf_counter()
        res = run_planner(problem, GradientAgents(eta), x0, max_iters=k, record_every=k, record_actions=False)
        eng.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run_planner(problem, GradientAgents(eta), x0, max_iters=min(k, 5_000), record_every=k, record_actions=False,
                    method="analytic", eps=0.0, tau=0.0)
        slow.append((time.perf_counter() - t0) * k / min(k, 5_000))
    row = {"iterations_to_gap_1e-10": k, "reached": bool(hits.size), "engine": res.engine,
           "final_rel_gap": float((float(res.loss[0]) - opt) / opt), "seconds": statistics.median(eng),
           "reference_seconds": statistics.median(ref), "analytic_seconds_extrapolated": statistics.median(slow),
           "samples": eng, "reference_samples": ref}
    row["ratio_to_reference"] = row["seconds"] / row["reference_seconds"]
    print(f"C.2 to 1e-10: {k} iterations, {row['seconds']:.4f} s ({res.engine}) vs reference "
          f"{row['reference_seconds']:.5f} s: x{row['ratio_to_reference']:.2f}; analytic ~{row['analytic_seconds_extrapolated']:.2f} s",
          flush=True)
    return row


def large_row(n: int, repeats: int) -> dict:
    """A default float32 call at large N per iteration against one in-place numpy multiply."""
    dtype = torch.float32
    problem = aggregative_problem(n, Y=Y, lam=LAM, dtype=dtype)
    x0 = start(n, dtype)
    eta = 0.5 / (n + LAM)
    a = x0.numpy().copy()

    def numpy_pass() -> float:
        t0 = time.perf_counter()
        np.multiply(a, np.float32(0.999999), out=a)
        return time.perf_counter() - t0

    def default_call(k: int) -> float:
        t0 = time.perf_counter()
        res = run_planner(problem, GradientAgents(eta), x0, max_iters=k, record_every=max(k, 1), record_actions=False)
        assert res.iterations == k
        return time.perf_counter() - t0

    default_call(1)
    numpy_pass()
    ref, eng, engine = [], [], run_planner(problem, GradientAgents(eta), x0, max_iters=1, record_actions=False).engine
    for _ in range(repeats):
        ref.append(numpy_pass())
        eng.append(marginal(default_call, 10))
    row = {"n_agents": n, "dtype": "float32", "engine": engine, "seconds_per_iteration": statistics.median(eng),
           "numpy_pass_seconds": statistics.median(ref), "samples": eng, "reference_samples": ref}
    row["ratio_to_numpy_pass"] = row["seconds_per_iteration"] / row["numpy_pass_seconds"]
    print(f"N={n:.0e} float32 default call {row['seconds_per_iteration']:.4f} s/it ({engine}) vs numpy pass "
          f"{row['numpy_pass_seconds']:.4f} s: x{row['ratio_to_numpy_pass']:.2f}", flush=True)
    return row


def import_row(repeats: int) -> dict:
    """``import mechanism`` against ``import torch`` in fresh interpreters (medians)."""
    def t(stmt: str) -> float:
        code = f"import time; t=time.perf_counter(); {stmt}; print(time.perf_counter()-t)"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                    check=True).stdout)
    torch_s, mech_s = [], []
    for _ in range(repeats):
        torch_s.append(t("import torch"))
        mech_s.append(t("import mechanism"))
    code = "import sys, mechanism; print(int('scipy' in sys.modules), int('torch._dynamo' in sys.modules))"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    scipy_loaded, dynamo_loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                 env=env, check=True).stdout.split()
    row = {"import_torch_seconds": statistics.median(torch_s), "import_mechanism_seconds": statistics.median(mech_s),
           "scipy_imported": scipy_loaded == "1", "torch_dynamo_imported": dynamo_loaded == "1",
           "samples_torch": torch_s, "samples_mechanism": mech_s}
    print(f"import torch {row['import_torch_seconds']:.2f} s, import mechanism {row['import_mechanism_seconds']:.2f} s "
          f"(scipy loaded: {row['scipy_imported']}, torch._dynamo loaded: {row['torch_dynamo_imported']})", flush=True)
    return row


def markdown(payload: dict) -> str:
    """``bench_planner.md`` from the payload."""
    lines = [f"# Planner speed ({payload['machine']['cpu']}, {payload['machine']['cores']} cores, torch "
             f"{payload['machine']['torch']}, numba {payload['machine']['numba']})", "",
             f"Load average before: {payload['load_before']}, after: {payload['load_after']}. Medians of "
             f"{payload['repeats']} interleaved repeats; ratios are to the one-call reference in the same run.", "",
             "| N | dtype | engine | µs / iteration | reference µs / iteration | × reference |", "|---|---|---|---|---|---|"]
    for r in payload["per_iteration"]:
        lines.append(f"| {r['n_agents']:.0e} | {r['dtype']} | {r['engine']} | {r['seconds_per_iteration'] * 1e6:.3g} | "
                     f"{r['reference_seconds_per_iteration'] * 1e6:.3g} | {r['ratio_to_reference']:.2f} |")
    c = payload.get("c2")
    if c:
        lines += ["", f"C.2 to a relative gap of 1e-10: {c['iterations_to_gap_1e-10']} iterations; default call "
                  f"{c['seconds']:.4g} s ({c['engine']}), reference {c['reference_seconds']:.4g} s, "
                  f"**{c['ratio_to_reference']:.2f}×**; the analytic engine ≈ {c['analytic_seconds_extrapolated']:.3g} s."]
    big = payload.get("large")
    if big:
        lines += ["", f"N = {big['n_agents']:.0e} float32, default call: {big['seconds_per_iteration']:.4g} s per "
                  f"iteration ({big['engine']}), one numpy pass {big['numpy_pass_seconds']:.4g} s: "
                  f"**{big['ratio_to_numpy_pass']:.2f}×**."]
    imp = payload.get("imports")
    if imp:
        lines += ["", f"`import torch` {imp['import_torch_seconds']:.2f} s, `import mechanism` "
                  f"{imp['import_mechanism_seconds']:.2f} s (scipy loaded: {imp['scipy_imported']}, torch._dynamo "
                  f"loaded: {imp['torch_dynamo_imported']})."]
    return "\n".join(lines) + "\n"


def run_bench_planner(ns: list[int], dtypes: list[str], repeats: int = 5, quick: bool = False, c2: bool = True,
                      large_n: int = 0, out: str | Path = "runs/speed") -> dict:
    """Every table (per iteration for ``ns`` × ``dtypes``; C.2 unless not ``c2``; ``large_n`` if > 0;
    imports), the machine and the load before and after; writes ``OUT/bench_planner.json`` and
    ``OUT/bench_planner.md`` and prints the report."""
    payload = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                           "torch": torch.__version__, "numba": numba.__version__, "threads": torch.get_num_threads()},
               "load_before": load(), "repeats": repeats, "quick": quick, "command": " ".join(sys.argv)}
    cpu = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
           if line.startswith("model name")] if Path("/proc/cpuinfo").exists() else []
    if cpu:
        payload["machine"]["cpu"] = cpu[0]
    payload["per_iteration"] = per_iteration_rows(ns, dtypes, repeats, quick)
    if c2:
        payload["c2"] = c2_row(repeats, quick)
    if large_n:
        payload["large"] = large_row(int(large_n), max(3, repeats // 2))
    payload["imports"] = import_row(repeats)
    payload["load_after"] = load()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_planner.json").write_text(json.dumps(payload, indent=1))
    (out / "bench_planner.md").write_text(markdown(payload))
    print(markdown(payload))
    print("wrote", out / "bench_planner.json", out / "bench_planner.md")
    return payload
