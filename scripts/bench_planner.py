"""Planner speed against hand-written references of the same computation, measured in one run.

    python scripts/bench_planner.py --out results/speed            # about 3 minutes on 2 cores
    python scripts/bench_planner.py --quick --out runs/speed       # a smoke run (seconds)

Every number is a ratio to a reference timed in the same run, interleaved with the engine
(``--repeats`` rounds: reference, engine, reference, ...; medians), because on a shared machine
absolute timings move with the load (recorded before and after as ``uptime``'s load average).

* **per iteration**: a default ``run_planner(problem, GradientAgents(eta), x0)`` call (no
  ``method=``, so ``method="auto"``; ``eps = tau = 0``: a fixed budget; no recorded actions) at
  N = 1e3 and 1e4, float32 and float64, its marginal cost per iteration ``(T(K) − T(0)) / K``,
  against **the one-call reference**: a numba function written here, independent of
  ``mechanism``, that runs the same K updates ``x ← clamp(x − 2η(r + λx), lo, hi)`` with float64
  sums in one compiled call. Also the engine with the default tolerances (``eps = 1e-15``,
  ``tau = 1e-10``: a KKT pass every 16 iterations) and the per-iteration engines before this
  change (``method="analytic"``, and the fused step driven from Python, one kernel call per
  iteration).
* **C.2 end to end**: N = 100, Y = 10, λ = 0.1, the paper's η = 1e-3, x0 uniform on [0, 2): a
  default call with the default tolerances, to the iteration where the relative loss gap first
  reaches 1e-10 (found by a recorded run), against the one-call reference for as many iterations.
* **large N**: a default call at N = 1e8 float32 (``--large-n``), per iteration, against one
  in-place numpy multiply over the same array.
* **import**: ``import mechanism`` against ``import torch`` (fresh interpreters, medians).

Writes ``OUT/bench_planner.json`` (every timing, the machine, the load) and ``OUT/bench_planner.md``
(the report, also printed). The measurement is experiments/bench_planner.py.
"""
from __future__ import annotations

from experiments.cli import names_list, nonnegative_float, output_dir, positive_int, script_parser, sizes_list

DTYPES = ("float32", "float64")


def main() -> None:
    ap = script_parser(__doc__)
    ap.add_argument("--n-agents", type=sizes_list, default=[1000, 10000],
                    help="comma-separated N for the per-iteration table (default 1e3,1e4)")
    ap.add_argument("--dtype", type=names_list(DTYPES), default=list(DTYPES), help="comma-separated (default float32,float64)")
    ap.add_argument("--repeats", type=positive_int, default=5)
    ap.add_argument("--large-n", type=nonnegative_float, default=0,
                    help="also time a default call at this N, float32 (e.g. 1e8; 0: skip)")
    ap.add_argument("--no-c2", action="store_true")
    ap.add_argument("--quick", action="store_true", help="tiny iteration counts: a smoke run, not a measurement")
    ap.add_argument("--out", type=output_dir, default="runs/speed")
    args = ap.parse_args()
    from experiments.bench_planner import run_bench_planner

    run_bench_planner(args.n_agents, args.dtype, args.repeats, args.quick, not args.no_c2, int(args.large_n), args.out)


if __name__ == "__main__":
    main()
