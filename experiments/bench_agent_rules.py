"""The other agent rules on the aggregative family, three ways, measured in one run (what is timed
and why: ``scripts/bench_agent_rules.py --help``). :func:`run_bench_agent_rules` is the whole
measurement; :func:`torch_path` the in-place torch candidate; :func:`markdown` the report.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numba
import torch

from mechanism import (BestResponseAgents, MomentumAgents, NoisyAgents, SatisficingAgents, aggregative_problem,
                       run_planner)

__all__ = ["RULES", "make_policy", "torch_path", "rule_rows", "markdown", "run_bench_agent_rules"]

Y, LAM, BETA, SIGMA, RHO, CHECK_EVERY = 10.0, 0.1, 0.8, 1e-6, 1e-12, 16
RULES = ("heavy_ball", "nesterov", "best_response", "noisy", "satisficing")


def load() -> str:
    """The 1, 5 and 15 minute load averages (``/proc/loadavg``), or ``?``."""
    return ", ".join(Path("/proc/loadavg").read_text().split(" ")[:3]) if Path("/proc/loadavg").exists() else "?"


def make_policy(rule: str, n: int) -> Any:
    """The agents of ``rule`` at ``N = n``, with a step that is stable for thousands of iterations:
    η = 0.5 / (N + λ) (half the gradient limit; Nesterov and heavy ball with β = 0.8 a tenth of it),
    best responses damped to the same step, noise σ = 1e-6 (seed 0), satisficing time cost ρ = 1e-12
    (small enough that no agent halts within the timed iterations: a per-iteration cost is measured)."""
    eta = 0.5 / (n + LAM)
    if rule == "heavy_ball":
        return MomentumAgents(0.1 * eta, beta=BETA)
    if rule == "nesterov":
        return MomentumAgents(0.1 * eta, beta=BETA, nesterov=True)
    if rule == "best_response":
        return BestResponseAgents(damping=eta * (2.0 + 2.0 * LAM))
    if rule == "noisy":
        return NoisyAgents(eta, noise_std=SIGMA, seed=0)
    if rule == "satisficing":
        return SatisficingAgents(eta, time_cost=RHO)
    raise ValueError(f"unknown rule {rule!r}")


def start(n: int) -> torch.Tensor:
    """x0 uniform on [0, 2), seed 0, float64."""
    return 2.0 * torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


def torch_path(rule: str, problem: Any, policy: Any, x0: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The candidate "torch path with fewer host syncs": ``k`` iterations of ``rule`` written as in-place
    torch ops on preallocated buffers, the closed-form incentive ``G = −(2r + 2λx)`` with ``r`` kept as a
    0-d tensor (never read on the host), the loss of every iteration kept in a device buffer, and one
    divergence test (one host read) per ``CHECK_EVERY`` iterations. Satisficing: the halted count per
    iteration stays on the device too (once every agent has halted the state is fixed, so the halting
    iteration is recovered at the next check). Returns the final ``X`` (B, N, 1) and the losses (k,)."""
    X = problem.project(problem.as_actions(x0)).clone()
    policy.reset(problem, X)
    n = problem.n_agents
    lam = problem.data()["lam"].reshape(1, n, 1).to(torch.float64)
    lo, hi = problem.lower.reshape(1, -1, 1), problem.upper.reshape(1, -1, 1)
    shift = -Y
    eta = policy._inv_h if rule == "best_response" else policy._eta
    g, w, losses = torch.empty_like(X), torch.empty_like(X), torch.empty(k, dtype=torch.float64)
    r = X.sum(dtype=torch.float64) + shift
    v = torch.zeros_like(X) if rule == "heavy_ball" else None
    zp = X.clone() if rule == "nesterov" else None
    noise = torch.empty_like(X) if rule == "noisy" else None
    halted_count = torch.empty(k, dtype=torch.long) if rule == "satisficing" else None
    if rule == "satisficing":
        steps = torch.zeros(1, n, 1, dtype=torch.float64)
        stopped = torch.zeros(1, n, 1, dtype=torch.bool)
        h_half = 0.5 * policy._h
    for j in range(k):
        torch.mul(X, 2.0 * lam, out=g)
        g.add_(2.0 * r).neg_()  # G
        if rule == "heavy_ball":
            v.mul_(BETA).add_(eta * g)
            torch.add(X, v, out=w)
            torch.clamp(w, lo, hi, out=w)
            torch.sub(w, X, out=v)
            X.copy_(w)
        elif rule == "nesterov":
            torch.add(X, eta * g, out=w)
            torch.clamp(w, lo, hi, out=w)  # z
            torch.sub(w, zp, out=X).mul_(BETA).add_(w)
            torch.clamp(X, lo, hi, out=X)  # y
            zp.copy_(w)
        elif rule == "noisy":
            noise.normal_(generator=policy._rng)
            X.add_(eta * g).add_(SIGMA * noise)
            torch.clamp(X, lo, hi, out=X)
        elif rule == "satisficing":
            torch.add(X, eta * g, out=w)
            torch.clamp(w, lo, hi, out=w)
            dx = w - X
            gain = g * dx - h_half * dx * dx
            moving = ~stopped & (gain > RHO * (steps + 1.0) - RHO * steps)
            stopped |= ~moving
            steps.add_(moving)
            torch.where(moving, w, X, out=X)
            halted_count[j] = stopped.sum()
        else:  # best response: a gradient step with step α/h
            X.add_(eta * g)
            torch.clamp(X, lo, hi, out=X)
        s = X.sum(dtype=torch.float64)
        r = s + shift
        losses[j] = r * r + (lam * X * X).sum(dtype=torch.float64)
        if (j + 1) % CHECK_EVERY == 0 or j + 1 == k:
            block = losses[max(0, j + 1 - CHECK_EVERY):j + 1]
            if not bool(torch.isfinite(block).all()):  # the one host read per block
                raise FloatingPointError(f"{rule} diverged within the timed iterations")
            if rule == "satisficing" and int(halted_count[j]) == n:
                raise RuntimeError("satisficing agents halted within the timed iterations")
    return X, losses


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _planner(rule: str, n: int, k: int, method: str) -> Any:
    problem = aggregative_problem(n, Y=Y, lam=LAM)
    res = run_planner(problem, make_policy(rule, n), start(n), max_iters=k, method=method, eps=0.0, tau=0.0,
                      record_every=max(k, 1), record_actions=False)
    if res.iterations != k:
        raise RuntimeError(f"{rule} N={n} {method}: {res.status} after {res.iterations} of {k} iterations")
    return res


def rule_rows(rule: str, ns: list[int], repeats: int, quick: bool) -> list[dict]:
    """Per N, over the same ``k = clamp(1e7 / N, 64, 2000)`` iterations from the same start (the cost
    of an iteration depends on the state: a decayed velocity, say), seconds per iteration of (a)
    ``run_planner(method="analytic")`` (marginal cost: the median k-iteration run minus the median
    run of 0 iterations, over k),
    (b) :func:`torch_path`, (c) ``run_planner(method="fused")`` (the compiled kernel, the planner
    around it; marginal as (a)); interleaved ``repeats`` rounds, medians, ratios to (a). Also the
    kernel's first-call (compile) seconds and how far (b) and (c) end from (a)'s iterates (max |ΔX|
    over the larger of max |X| and max |x0|)."""
    rows = []
    compile_s = _timed(lambda: _planner(rule, 64, 32, "fused"))  # the first call compiles (per process)
    for n in ns:
        k = 20 if quick else max(64, min(2_000, int(1e7 // n)))  # the same iterations for all three
        problem = aggregative_problem(n, Y=Y, lam=LAM)
        ref = _planner(rule, n, k, "analytic")
        fast = _planner(rule, n, k, "fused")
        X_t, _ = torch_path(rule, problem, make_policy(rule, n), start(n), k)
        # relative to the iterates' scale over the run (the start's: a converging X shrinks, and a rounding
        # of the early iterates stays at the start's scale)
        scale = max(float(ref.X.abs().max()), float(start(n).abs().max()))
        agree = {"torch_path": float((X_t - ref.X).abs().max()) / scale,
                 "compiled": float((fast.X - ref.X).abs().max()) / scale}
        samples: dict[str, list[float]] = {"analytic": [], "torch_path": [], "compiled": []}
        empty: dict[str, list[float]] = {"analytic": [], "compiled": []}  # runs of 0 iterations (the fixed cost)
        for _ in range(repeats):
            for method, key in (("analytic", "analytic"), ("fused", "compiled")):
                samples[key].append(_timed(lambda: _planner(rule, n, k, method)) / k)
                empty[key].append(_timed(lambda: _planner(rule, n, 0, method)) / k)
            pol = make_policy(rule, n)
            samples["torch_path"].append(_timed(lambda: torch_path(rule, problem, pol, start(n), k)) / k)
        # the marginal cost per iteration: median of the k-iteration runs minus median of the empty ones
        med = {key: statistics.median(vals) - (statistics.median(empty[key]) if key in empty else 0.0)
               for key, vals in samples.items()}
        row = {"rule": rule, "n_agents": n, "engine": fast.engine, "iterations": {"analytic": k,
               "torch_path": k, "compiled": k}, "seconds_per_iteration": med,
               "speedup_vs_analytic": {key: med["analytic"] / med[key] for key in med},
               "max_rel_diff_vs_analytic": agree, "compile_seconds_first_call": compile_s, "samples": samples, "empty_run_samples": empty}
        rows.append(row)
        sp = row["speedup_vs_analytic"]
        print(f"{rule:<13} N={n:>8.0e} analytic {med['analytic'] * 1e6:9.1f} us/it | torch path "
              f"{med['torch_path'] * 1e6:9.1f} (x{sp['torch_path']:5.2f}) | compiled {med['compiled'] * 1e6:9.2f} "
              f"(x{sp['compiled']:6.1f}, {fast.engine}) | X diff torch {agree['torch_path']:.1e} compiled "
              f"{agree['compiled']:.1e}", flush=True)
    return rows


def markdown(payload: dict) -> str:
    """``agent_rules.md`` from the payload."""
    m = payload["machine"]
    lines = [f"# Other agent rules: analytic vs torch path vs compiled kernel ({m['cpu']}, {m['cores']} cores, "
             f"torch {m['torch']} on {m['threads']} threads, numba {m['numba']})", "",
             f"Load average before: {payload['load_before']}, after: {payload['load_after']}. float64, "
             f"Y = {Y}, λ = {LAM}, x0 uniform on [0, 2); medians of {payload['repeats']} interleaved repeats; "
             "speed-ups are against `run_planner(method=\"analytic\")` in the same run. X diff: max |X − X_analytic| "
             "/ max(max |X_analytic|, max |x0|) after the same iterations.", "",
             "| rule | N | analytic µs/it | torch path µs/it (×) | compiled µs/it (×) | engine | X diff torch / compiled |",
             "|---|---|---|---|---|---|---|"]
    for r in payload["rows"]:
        s, sp, d = r["seconds_per_iteration"], r["speedup_vs_analytic"], r["max_rel_diff_vs_analytic"]
        lines.append(f"| {r['rule']} | {r['n_agents']:.0e} | {s['analytic'] * 1e6:.4g} | {s['torch_path'] * 1e6:.4g} "
                     f"({sp['torch_path']:.2f}×) | {s['compiled'] * 1e6:.3g} ({sp['compiled']:.1f}×) | {r['engine']} | "
                     f"{d['torch_path']:.0e} / {d['compiled']:.0e} |")
    comp = {r["rule"]: r["compile_seconds_first_call"] for r in payload["rows"]}
    lines += ["", "First fused call per rule in this process (numba compile, N = 64, 32 iterations): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in comp.items()) + "."]
    return "\n".join(lines) + "\n"


def run_bench_agent_rules(rules: list[str], ns: list[int], repeats: int = 3, quick: bool = False,
                          out: str | Path = "runs/speed", threads: int | None = None, name: str = "agent_rules") -> dict:
    """Every rule × N (torch on ``threads`` intra-op threads if given); the machine and the load
    before and after; writes ``OUT/NAME.json`` and ``OUT/NAME.md`` and prints the report."""
    if threads is not None:
        torch.set_num_threads(threads)
    cpu = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
           if line.startswith("model name")] if Path("/proc/cpuinfo").exists() else []
    payload = {"machine": {"cpu": cpu[0] if cpu else (platform.processor() or platform.machine()),
                           "cores": os.cpu_count(), "torch": torch.__version__, "numba": numba.__version__,
                           "threads": torch.get_num_threads()},
               "load_before": load(), "repeats": repeats, "quick": quick, "command": " ".join(sys.argv),
               "settings": {"Y": Y, "lam": LAM, "beta": BETA, "sigma": SIGMA, "rho": RHO, "check_every": CHECK_EVERY}}
    payload["rows"] = [row for rule in rules for row in rule_rows(rule, ns, repeats, quick)]
    payload["load_after"] = load()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(payload, indent=1))
    (out / f"{name}.md").write_text(markdown(payload))
    print(markdown(payload))
    print("wrote", out / f"{name}.json", out / f"{name}.md")
    return payload
