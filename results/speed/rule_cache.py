"""First planner call with each agent rule's compiled kernel in a fresh process, with numba's disk
cache cold (an empty ``NUMBA_CACHE_DIR``) and warm (the same directory again): CPU seconds by ``time.process_time()``.

Run from the repository root: ``PYTHONPATH=. python results/speed/rule_cache.py [--repeats 3]
[--out results/speed/rule_cache.json]``. For each repeat and each rule, a new temporary cache
directory: one cold process (compiles the rule's kernels and writes the cache), then one warm process
(loads them). The call is ``run_planner(aggregative_problem(1000), policy, zeros, max_iters=100,
method="fused")`` (heavy ball, Nesterov, noisy and satisficing run on their rule kernels,
simultaneous best responses on the fused gradient kernel), then a second call in the same process
and the same call with ``method="analytic"`` for scale; and, in a third process, the CPU time of
``import numba`` (part of any first compiled call). The companion of ``numba_cache.py`` (the
gradient agents' first fused call).
"""
from __future__ import annotations

import json
import os
import tempfile

from numba_cache import child, numba_import_seconds, parse_arguments, write_result  # beside this file

RULES = ("heavy_ball", "nesterov", "noisy", "satisficing", "best_response")

CHILD = r"""
import json, sys, time
t0 = time.process_time()
import torch
from mechanism import BestResponseAgents, MomentumAgents, NoisyAgents, SatisficingAgents, aggregative_problem, run_planner
t_import = time.process_time() - t0
rule = sys.argv[1]
make = {"heavy_ball": lambda: MomentumAgents(3e-4, beta=0.8),
        "nesterov": lambda: MomentumAgents(3e-4, beta=0.8, nesterov=True),
        "noisy": lambda: NoisyAgents(1e-3, noise_std=1e-3, seed=5),
        "satisficing": lambda: SatisficingAgents(1e-3, time_cost=1e-12),
        "best_response": lambda: BestResponseAgents(damping=2.5e-3)}[rule]
p = aggregative_problem(1000)
def call(method="fused"):
    t = time.process_time()
    r = run_planner(p, make(), torch.zeros(1000, dtype=torch.float64), max_iters=100, method=method)
    return time.process_time() - t, r.engine
first, engine = call()
second, _ = call()
analytic, _ = call("analytic")
from mechanism.engines import fused_kernels, rule_kernels
hits, misses = {}, {}
for kernels in (fused_kernels.KERNELS["serial"], rule_kernels.KERNELS["serial"]):
    for k, d in kernels.items():
        if d.signatures:
            hits[k], misses[k] = sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values())
print(json.dumps({"import_s": t_import, "first_call_s": first, "second_call_s": second,
                  "analytic_call_s": analytic, "engine": engine, "cache_hits": hits, "cache_misses": misses}))
"""
KEYS = ("import_s", "first_call_s", "second_call_s", "analytic_call_s")


def median(values: list[float]) -> float:
    """The middle value (of an odd count; the upper middle of an even one)."""
    return sorted(values)[len(values) // 2]


def main() -> None:
    """Run the repeats and write the JSON."""
    args = parse_arguments(__doc__, "results/speed/rule_cache.json")
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {rule: [] for rule in RULES}
    for _ in range(args.repeats):
        for rule in RULES:
            with tempfile.TemporaryDirectory() as cache_dir:
                cold, warm = child(cache_dir, CHILD, rule), child(cache_dir, CHILD, rule)
            assert not any(warm["cache_misses"].values()), (rule, warm["cache_misses"])
            runs[rule].append({"cold": cold, "warm": warm, "import_numba_s": numba_import_seconds()})
            print(f"{rule}: cold first call {cold['first_call_s']:.3f} s, warm {warm['first_call_s']:.3f} s CPU",
                  flush=True)
    summary = {}
    for rule, rows in runs.items():
        summary[rule] = {which: {key: median([r[which][key] for r in rows]) for key in KEYS} for which in ("cold", "warm")}
        summary[rule]["import_numba_s"] = median([r["import_numba_s"] for r in rows])
        summary[rule]["engine"] = rows[0]["cold"]["engine"]
        summary[rule]["first_call_cold_over_warm"] = summary[rule]["cold"]["first_call_s"] / summary[rule]["warm"]["first_call_s"]
        summary[rule]["first_call_range_s"] = {which: [min(r[which]["first_call_s"] for r in rows),
                                                       max(r[which]["first_call_s"] for r in rows)]
                                               for which in ("cold", "warm")}
    write_result(args.out, __doc__, args.repeats, load_before, summary, runs)
    print(json.dumps({rule: {"cold": s["cold"]["first_call_s"], "warm": s["warm"]["first_call_s"]}
                      for rule, s in summary.items()}, indent=1))


if __name__ == "__main__":
    main()
