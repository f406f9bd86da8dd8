"""First fused planner call in a fresh process, with numba's disk cache cold (an empty
``NUMBA_CACHE_DIR``) and warm (the same directory again): CPU seconds by ``time.process_time()``.

Run from the repository root: ``PYTHONPATH=. python results/speed/numba_cache.py [--repeats 3]
[--out results/speed/numba_cache.json]``. Each repeat is a new temporary cache directory: one cold
process (compiles and writes the cache), then one warm process (loads it). The call is
``run_planner(aggregative_problem(1000), GradientAgents(1e-3), zeros, max_iters=100)`` (``method="auto"``
picks the fused engine; 100 iterations use the per-block ``loop`` kernel), then a second call in
the same process and the same call with ``method="analytic"`` for scale; and, in a third
process, the CPU time of ``import numba`` (part of any first fused call).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any

CHILD = r"""
import json, time
t0 = time.process_time()
import torch
from mechanism import run_planner, aggregative_problem, GradientAgents
t_import = time.process_time() - t0
p = aggregative_problem(1000)
def call(method="auto"):
    t = time.process_time()
    r = run_planner(p, GradientAgents(1e-3), torch.zeros(1000, dtype=torch.float64), max_iters=100, method=method)
    return time.process_time() - t, r.engine
first, engine = call()
second, _ = call()
analytic, _ = call("analytic")
from mechanism.engines.fused_kernels import KERNELS
hits = {k: sum(d.stats.cache_hits.values()) for k, d in KERNELS["serial"].items()}
misses = {k: sum(d.stats.cache_misses.values()) for k, d in KERNELS["serial"].items()}
print(json.dumps({"import_s": t_import, "first_call_s": first, "second_call_s": second,
                  "analytic_call_s": analytic, "engine": engine, "cache_hits": hits, "cache_misses": misses}))
"""


def child(cache_dir: str, code: str = CHILD, *argv: str) -> dict:
    """One fresh process running ``code`` (with ``argv``) with ``NUMBA_CACHE_DIR=cache_dir``; its JSON line."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


NUMBA_IMPORT = r"""
import json, time, torch, mechanism
t = time.process_time()
import numba
print(json.dumps({"import_numba_s": time.process_time() - t}))
"""


def numba_import_seconds() -> float:
    """CPU seconds of ``import numba`` in a fresh process that has imported torch and mechanism
    (part of every first fused call, cache or not)."""
    out = subprocess.run([sys.executable, "-c", NUMBA_IMPORT], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["import_numba_s"]


def parse_arguments(doc: str, out: str) -> argparse.Namespace:
    """``--repeats`` (3) and ``--out`` (``out``): the command line of this script and of ``rule_cache.py``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=out)
    return parser.parse_args()


def write_result(path: str, doc: str, repeats: int, load_before: tuple[float, ...], summary: dict, runs: Any) -> None:
    """Write the JSON: what was measured (``doc``'s first two lines), the clock, the machine, the load
    average before and after, the date, the medians and every run."""
    result = {"what": " ".join(doc.splitlines()[:2]),
              "clock": "time.process_time() in the child (CPU seconds)", "repeats": repeats,
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
              "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
              "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "median": summary, "runs": runs}
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1)


def main() -> None:
    """Run the repeats and write the JSON."""
    args = parse_arguments(__doc__, "results/speed/numba_cache.json")
    load_before = os.getloadavg()
    runs = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache_dir:
            cold = child(cache_dir)
            warm = child(cache_dir)
            runs.append({"cold": cold, "warm": warm, "import_numba_s": numba_import_seconds()})
            print(f"cold first call {cold['first_call_s']:.3f} s, warm {warm['first_call_s']:.3f} s CPU", flush=True)
    med = lambda key, which: sorted(r[which][key] for r in runs)[len(runs) // 2]  # noqa: E731
    summary = {which: {key: med(key, which) for key in ("import_s", "first_call_s", "second_call_s", "analytic_call_s")}
               for which in ("cold", "warm")}
    summary["import_numba_s"] = sorted(r["import_numba_s"] for r in runs)[len(runs) // 2]
    summary["first_call_cold_over_warm"] = summary["cold"]["first_call_s"] / summary["warm"]["first_call_s"]
    write_result(args.out, __doc__, args.repeats, load_before, summary, runs)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
