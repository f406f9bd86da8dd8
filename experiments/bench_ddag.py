"""D-DAG incentive speed against hand-written references of the same computation, in one run.

Every timing is one ``incentives`` call (forward and reverse pass, batch 1, float64). Contenders of
one case are timed **interleaved** (``repeats`` rounds; in each round every contender runs ``calls``
times in turn) and compared by their medians, so the ratios hold while the machine's load moves
(recorded before and after).

* **supply chain, 300 agents** (width 100, depth 4, fanout 2): today's path (the generic autograd
  DPM on the graph as it was built before this change, ``aggregation="variadic"``,
  ``engine="autograd"``), the autograd reference on today's graph (``aggregation="stack"``), the new
  default (``incentives(problem, X)``: the batched engine), the batched engine on the variadic graph,
  the traced plan (the default after a plan's first 200 calls), and **the vectorised eager reference** written here (:func:`vectorised_supply_chain_loss`: the
  same loss as a handful of whole-array torch operations, its gradient by autograd; checked equal
  to 1e-12). Target: the default within 3x the vectorised reference.
* **every built-in D-DAG problem at its largest preset size**: today's path (``engine="autograd"``,
  and for the supply chain the variadic graph) against the new default. Target: 10x.
* **plan and trace cost**: the first batched call of a fresh problem (the plan: one reference
  forward pass, the grouping and one check of every stacked group), its first traced call (the
  ``make_fx`` trace and its check), and how many calls repay each.
* ``--compile``: ``torch.compile`` of the vectorised reference and of one small D-DAG's loss (its
  compile time and its per-call time against eager): the measurement behind not compiling.
"""
from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from typing import Any, Callable

import torch

from mechanism import (assembly_line_problem, aggregative_problem, coupled_resource_problem, incentives,
                       nonconvex_problem)
from mechanism.core.exploration import coupled_rastrigin_problem
from mechanism.engines.batched import TRACE_AFTER
from mechanism.problems.dispatch import dispatch_problem
from mechanism.problems.supply_chain import supply_chain_problem

__all__ = ["vectorised_supply_chain", "interleaved_medians", "run_benchmark", "write_markdown"]


# ----------------------------------------------------------------------------- the vectorised reference
def vectorised_supply_chain(problem) -> Callable[[torch.Tensor], torch.Tensor]:
    """The supply chain's loss as one vectorised torch function of ``X`` ``(B, N, fanout)``.

    Written from the layout and the data of ``problem`` (not from its graph):
    ``in = index_add`` of every lane's shipment into its receiving node,
    ``L = Σ_m w (d_m − in_m)² + Σ_{stage ≥ 1} h (in_j − out_j)² + Σ_j (α_j out_j + β_j out_j²)
    + Σ_lanes (τ x + ½ κ x²)``.
    """
    layout, data = problem.layout, problem.data()
    names = [n for stage in layout.names[:-1] for n in stage]
    index = {n: i for i, n in enumerate(names)}
    markets = layout.names[-1]
    index.update({m: len(names) + k for k, m in enumerate(markets)})
    fanout, N, M = layout.fanout, len(names), len(markets)
    dest = torch.empty(N, fanout, dtype=torch.long)
    for receiver, senders in layout.senders.items():
        for sender, o in senders:
            dest[index[sender], o] = index[receiver]
    dest = dest.reshape(-1)
    stack = lambda key: torch.stack([data[f"{key}:{n}"] for n in names])  # noqa: E731
    alpha, beta, tau, kappa = stack("alpha"), stack("beta"), stack("tau"), stack("kappa")
    demand = torch.stack([data[f"demand:{m}"] for m in markets])
    h_of = {}
    for n in names:  # the imbalance weight each facility's cost node was built with (0 for suppliers)
        fn = problem.ddag.node(f"terms:{n}").fn
        h_of[n] = float(fn.args[1])
    h = torch.tensor([h_of[n] for n in names], dtype=torch.float64)
    w = float(problem.ddag.node(markets[0]).fn.args[1])

    def loss(X: torch.Tensor) -> torch.Tensor:
        B = X.shape[0]
        out = X.sum(-1)
        inflow = X.new_zeros(B, N + M).index_add(1, dest, X.reshape(B, N * fanout))
        own = alpha * out + beta * out ** 2 + (tau * X + 0.5 * kappa * X ** 2).sum(-1)
        imbalance = (h * (inflow[:, :N] - out) ** 2).sum(-1)
        shortfall = (w * (demand - inflow[:, N:]) ** 2).sum(-1)
        return imbalance + shortfall + own.sum(-1)

    return loss


def _gradient_of(loss: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    def incentives_of(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            Xg = X.detach().requires_grad_(True)
            value = loss(Xg)
            (grad,) = torch.autograd.grad(value.sum(), Xg)
        return value.detach(), -grad
    return incentives_of


# ----------------------------------------------------------------------------- timing
def interleaved_medians(contenders: dict[str, Callable[[], Any]], repeats: int,
                        budget: float = 0.2) -> dict[str, float]:
    """Median seconds per call of each contender over ``repeats`` interleaved rounds.

    In each round every contender runs in turn for about ``budget`` seconds (its number of calls
    is sized once, from a probe after the warm-up).
    """
    calls = {name: _calls_for(_probe(fn), budget) for name, fn in contenders.items()}  # warms up too
    samples: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            began = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            samples[name].append((time.perf_counter() - began) / calls[name])
    return {k: statistics.median(v) for k, v in samples.items()}


def _calls_for(seconds_per_call: float, budget: float = 0.25) -> int:
    return max(1, int(budget / max(seconds_per_call, 1e-6)))


def _probe(fn: Callable[[], Any]) -> float:
    fn()
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def _max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max()) / max(1.0, float(b.abs().max()))


def _random_point(problem, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    lo, hi = torch.clamp(problem.lower, min=-3.0), torch.clamp(problem.upper, max=3.0)
    hi = torch.where(hi > lo, hi, lo + 1.0)
    return lo + (hi - lo) * torch.rand(1, problem.n_agents, problem.action_dim, dtype=torch.float64, generator=gen)


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


# ----------------------------------------------------------------------------- cases
def supply_chain_case(width: int, depth: int, repeats: int) -> dict[str, Any]:
    """The supply chain against today's path and the vectorised eager reference (see the module docstring)."""
    stacked = supply_chain_problem(width, depth, 2, seed=0)
    variadic = supply_chain_problem(width, depth, 2, seed=0, aggregation="variadic")
    X = _random_point(stacked)
    vec = _gradient_of(vectorised_supply_chain(stacked))
    default, today = incentives(stacked, X), incentives(variadic, X, engine="autograd")
    vec_loss, vec_G = vec(X)
    check = {"default_engine": default.engine,
             "G_default_vs_vectorised": _max_rel(default.G, vec_G),
             "G_default_vs_today": _max_rel(default.G, today.G),
             "loss_default_vs_vectorised": _max_rel(default.loss, vec_loss),
             "loss_default_vs_today": _max_rel(default.loss, today.loss)}
    for _ in range(TRACE_AFTER + 1):
        late = incentives(stacked, X)  # a long run's default: traced from the plan's 201st call
    check["default_engine_in_a_long_run"] = late.engine
    check["G_traced_vs_vectorised"] = _max_rel(late.G, vec_G)
    contenders = {
        "today (variadic graph, autograd)": lambda: incentives(variadic, X, engine="autograd"),
        "autograd (stack graph)": lambda: incentives(stacked, X, engine="autograd"),
        "batched (variadic graph)": lambda: incentives(variadic, X, engine="batched"),
        BATCHED: lambda: incentives(stacked, X, engine="batched"),
        TRACED: lambda: incentives(stacked, X),
        "vectorised eager reference": lambda: vec(X),
    }
    medians = interleaved_medians(contenders, repeats)
    ref = medians["vectorised eager reference"]
    base = medians["today (variadic graph, autograd)"]
    batched, traced = medians[BATCHED], medians[TRACED]
    return {"case": f"supply_chain[{width}x{depth},f2]", "agents": stacked.n_agents,
            "nodes": len(stacked.ddag.topological_order()), "nodes_today": len(variadic.ddag.topological_order()),
            "seconds": medians, "check": check,
            "traced_over_vectorised": traced / ref, "batched_over_vectorised": batched / ref,
            "today_over_vectorised": base / ref,
            "speedup_over_today": {"batched": base / batched, "traced": base / traced},
            "plan": plan_cost(lambda: supply_chain_problem(width, depth, 2, seed=0), X, base, batched, traced)}


BATCHED = f"batched (stack graph): the default for a plan's first {TRACE_AFTER} calls"
TRACED = "traced (stack graph): the default after them"


def plan_cost(make: Callable[[], Any], X: torch.Tensor, today: float, batched: float, traced: float) -> dict[str, Any]:
    """Seconds of the first call of a fresh problem (the plan) and of its first traced call (the
    trace; this process has traced before, so without the first trace's one-off start-up), and
    how many calls each repays."""
    problem = make()
    began = time.perf_counter()
    incentives(problem, X, engine="batched")
    first = time.perf_counter() - began
    began = time.perf_counter()
    incentives(problem, X, engine="traced")
    first_traced = time.perf_counter() - began
    plan, trace = max(first - batched, 0.0), max(first_traced - traced, 0.0)
    return {"first_call_seconds": first, "plan_seconds": plan, "first_traced_call_seconds": first_traced,
            "trace_seconds": trace,
            "calls_to_repay_plan": plan / (today - batched) if today > batched else None,
            "calls_to_repay_trace_over_batched": trace / (batched - traced) if batched > traced else None}


BUILT_INS: dict[str, tuple[str, Callable[[], Any], Callable[[], Any] | None]] = {
    # name: (preset, the problem as built today or now, today's graph where it differs)
    "aggregative (generic DPM)": ("N = 100, symmetric_parallel_v0", lambda: aggregative_problem(100), None),
    "assembly_line": ("C.1 (2 agents)", assembly_line_problem, None),
    "coupled_resource": ("C.5 (2 agents)", coupled_resource_problem, None),
    "nonconvex": ("C.10 (2 agents)", nonconvex_problem, None),
    "coupled_rastrigin": ("N = 3, A = 5 (experiments/real_problems)", lambda: coupled_rastrigin_problem(3, 5.0), None),
    "dispatch": ("ieee118 (54 units)", lambda: dispatch_problem("ieee118"), None),
    "dispatch normalized": ("ieee118 (54 units), normalized", lambda: dispatch_problem("ieee118", normalized=True), None),
    "supply_chain 64x4": ("width 64, depth 4 (real_problems full timing)",
                          lambda: supply_chain_problem(64, 4, 2, seed=0),
                          lambda: supply_chain_problem(64, 4, 2, seed=0, aggregation="variadic")),
    "supply_chain 4x17": ("width 4, depth 17 (real_problems full timing)",
                          lambda: supply_chain_problem(4, 17, 2, seed=0),
                          lambda: supply_chain_problem(4, 17, 2, seed=0, aggregation="variadic")),
}


def built_in_case(name: str, repeats: int) -> dict[str, Any]:
    """Today's generic path against the default on one built-in problem at its preset size."""
    preset, make, make_today = BUILT_INS[name]
    problem = make()
    today_problem = (make_today or make)()
    X = _random_point(problem)
    method = "autograd"  # the generic D-DAG path (problems with a closed form take it with method="analytic")
    for _ in range(TRACE_AFTER + 1):
        default = incentives(problem, X, method=method)  # a long run's default engine
    ref = incentives(today_problem, X, method=method, engine="autograd")
    began = time.perf_counter()
    traced = incentives(problem, X, method=method, engine="traced")  # the trace of this plan
    first_traced = time.perf_counter() - began
    contenders = {"today": lambda: incentives(today_problem, X, method=method, engine="autograd"),
                  "default": lambda: incentives(problem, X, method=method),
                  "traced": lambda: incentives(problem, X, method=method, engine="traced")}
    medians = interleaved_medians(contenders, repeats, 0.1)
    return {"case": name, "preset": preset, "agents": problem.n_agents,
            "nodes": len(problem.ddag.topological_order()), "engine": default.engine,
            "G_default_vs_today": _max_rel(default.G, ref.G), "seconds": medians,
            "speedup_over_today": medians["today"] / medians["default"],
            "traced_engine": traced.engine, "G_traced_vs_today": _max_rel(traced.G, ref.G),
            "first_traced_call_seconds": None if default.engine == "traced" else first_traced,  # else traced before
            "traced_speedup_over_today": medians["today"] / medians["traced"]}


def compile_case(repeats: int) -> dict[str, Any]:
    """``torch.compile`` (inductor) cost and gain: the vectorised supply chain and one small D-DAG."""
    # a fresh on-disk cache, so that the compile time is a cold one (inductor and AOTAutograd keep
    # compiled artifacts across processes; a warm cache would hide the cost a new user pays)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench_ddag_inductor_")
    torch._dynamo.reset()
    out: dict[str, Any] = {"inductor_cache": "fresh (cold compile)"}
    chain = supply_chain_problem(100, 4, 2, seed=0)
    rast = coupled_rastrigin_problem(3, 5.0)
    for label, problem, loss in (("vectorised supply chain (300 agents)", chain, vectorised_supply_chain(chain)),
                                 ("coupled_rastrigin D-DAG loss (N = 3)", rast,
                                  lambda X, p=rast: p.ddag.loss(X, p.data()))):
        X = _random_point(problem)
        eager = _gradient_of(loss)
        try:
            compiled_loss = torch.compile(loss, dynamic=False)
            compiled = _gradient_of(compiled_loss)
            began = time.perf_counter()
            c_loss, c_G = compiled(X)
            compile_seconds = time.perf_counter() - began
        except Exception as exc:  # no compiler, unsupported op: the eager path stays
            out[label] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            continue
        e_loss, e_G = eager(X)
        medians = interleaved_medians({"eager": lambda: eager(X), "compiled": lambda: compiled(X)}, repeats, 0.1)
        saved = medians["eager"] - medians["compiled"]
        out[label] = {"compile_seconds": compile_seconds, "seconds": medians,
                      "speedup": medians["eager"] / medians["compiled"], "G_compiled_vs_eager": _max_rel(c_G, e_G),
                      "calls_to_repay": compile_seconds / saved if saved > 0 else None}
    return out


def run_benchmark(*, repeats: int = 9, quick: bool = False, compile_too: bool = False) -> dict[str, Any]:
    """Every case of the module docstring; ``quick`` shrinks the supply chain and the repeats (a smoke run)."""
    torch.manual_seed(0)
    began, load_before = time.perf_counter(), _load()
    result: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads()},
        "load_before": load_before, "repeats": repeats, "quick": quick}
    width = 10 if quick else 100
    result["supply_chain_300"] = supply_chain_case(width, 4, repeats)
    names = ["assembly_line", "supply_chain 4x17"] if quick else list(BUILT_INS)
    result["built_ins"] = [built_in_case(n, repeats) for n in names]
    if compile_too:
        result["compile"] = compile_case(repeats)
    result["load_after"] = _load()
    result["wall_seconds"] = time.perf_counter() - began
    return result


def _fmt(seconds: float) -> str:
    return f"{seconds:.3g}"


def write_markdown(result: dict[str, Any]) -> str:
    """The tables of docs/speed.md's D-DAG section from one result."""
    m = result["machine"]
    lines = [f"Machine: {m['processor']}, {m['cpu_count']} cores, torch {m['torch']} ({m['torch_threads']} threads); "
             f"load average {result['load_before']} before, {result['load_after']} after; "
             f"{result['repeats']} interleaved rounds, medians.", ""]
    sc = result["supply_chain_300"]
    ref = sc["seconds"]["vectorised eager reference"]
    lines += [f"**{sc['case']}** ({sc['agents']} agents; {sc['nodes']} nodes, {sc['nodes_today']} as built before):", "",
              "| path | s per incentives call | × vectorised eager reference |", "|---|---|---|"]
    for k, v in sc["seconds"].items():
        lines.append(f"| {k} | {_fmt(v)} | {v / ref:.1f} |")
    c = sc["check"]
    plan = sc["plan"]
    repay = plan["calls_to_repay_trace_over_batched"]
    lines += ["", f"Default engine: `{c['default_engine']}` for a plan's first {TRACE_AFTER} calls, "
              f"`{c['default_engine_in_a_long_run']}` after them. G agrees with the vectorised reference to "
              f"{c['G_default_vs_vectorised']:.1e} (traced: {c['G_traced_vs_vectorised']:.1e}) and with today's path "
              f"to {c['G_default_vs_today']:.1e} (relative). The plan (first call of a fresh problem, "
              f"{_fmt(plan['first_call_seconds'])} s) is repaid after {plan['calls_to_repay_plan']:.2g} calls; "
              f"the trace ({_fmt(plan['trace_seconds'])} s, in a process that has traced before) after "
              f"{'never' if repay is None else f'{repay:.3g}'} calls against the batched engine.", "",
              "**Built-in D-DAG problems** (generic DPM, `method=\"autograd\"`), today's path against the default "
              f"after {TRACE_AFTER} calls:", "",
              "| problem | preset | agents | nodes | default engine | today s | default s | speed-up | target ≥ 10× "
              "| `engine=\"traced\"` s | its speed-up |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in result["built_ins"]:
        s = row["seconds"]
        traced = (f"{_fmt(s['traced'])} | {row['traced_speedup_over_today']:.1f}×" if "traced" in s else "— | —")
        lines.append(f"| {row['case']} | {row['preset']} | {row['agents']} | {row['nodes']} | {row['engine']} | "
                     f"{_fmt(s['today'])} | {_fmt(s['default'])} | {row['speedup_over_today']:.1f}× | "
                     f"{'met' if row['speedup_over_today'] >= 10 else 'not met'} | {traced} |")
    if any("traced" in row["seconds"] for row in result["built_ins"]):
        firsts = [r["first_traced_call_seconds"] for r in result["built_ins"] if r.get("first_traced_call_seconds")]
        took = (f"; the call that traces took {min(firsts):.3g}–{max(firsts):.3g} s per problem here (in a process "
                "that had traced before)") if firsts else ""
        lines += ["", "`engine=\"traced\"` asks for the traced engine on a plan that groups nothing, where the "
                  f"default keeps the reference{took}; its G agrees with today's to "
                  f"{max(r.get('G_traced_vs_today', 0.0) for r in result['built_ins']):.1e} (relative, largest over the rows)."]
    if "compile" in result:
        lines += ["", "**torch.compile** (inductor, CPU), forward + backward:", "",
                  "| function | compile s | eager s | compiled s | speed-up | calls to repay |", "|---|---|---|---|---|---|"]
        for label, row in result["compile"].items():
            if not isinstance(row, dict):
                continue
            if "error" in row:
                lines.append(f"| {label} | failed: {row['error']} | | | | |")
                continue
            repay = "never" if row["calls_to_repay"] is None else f"{row['calls_to_repay']:.3g}"
            lines.append(f"| {label} | {row['compile_seconds']:.1f} | {_fmt(row['seconds']['eager'])} | "
                         f"{_fmt(row['seconds']['compiled'])} | {row['speedup']:.2f}× | {repay} |")
    return "\n".join(lines) + "\n"
