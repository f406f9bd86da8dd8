"""Raw throughput of the mbi_envs parallel env next to the cost of one bare DPM evaluation.

For each N it times ``env.step`` on ``symmetric_parallel_v0`` (iterative, team reward, a fixed
action dict, so no policy cost is included) and, in the same run, one bare
``mechanism.incentives(problem, X)`` call on the same problem; it prints agent-steps/s, the
time per env step, the time per DPM call and their ratio (best of ``--repeats`` timings).

    python scripts/bench_env_throughput.py [--sizes 2 100 1000] [--seconds 1.0] [--out bench.json]

With ``--out X.json`` the printed table is also written to ``X.csv``.
"""
from __future__ import annotations

import json
import platform

from experiments.cli import output_path, positive_float, positive_int, script_parser


def bench(n_agents: int, seconds: float, repeats: int) -> dict:
    """Time one env step and one bare DPM evaluation for ``n_agents`` agents."""
    import torch

    import mbi_envs
    from experiments.timing import best_time_per_call
    from mechanism import incentives

    env = mbi_envs.make("symmetric_parallel_v0", n_agents=n_agents, max_steps=10 ** 9)
    obs, _ = env.reset(seed=0)
    actions = {a: o[:1].copy() for a, o in obs.items()}
    step_s = best_time_per_call(lambda: env.step(actions), seconds, repeats)
    X = torch.from_numpy(env.X).reshape(1, n_agents, 1)
    dpm_s = best_time_per_call(lambda: incentives(env.problem, X), seconds, repeats)
    return {"n_agents": n_agents, "env_step_seconds": step_s, "agent_steps_per_second": n_agents / step_s,
            "env_steps_per_second": 1.0 / step_s, "dpm_call_seconds": dpm_s, "step_over_dpm": step_s / dpm_s}


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[2, 100, 1000])
    parser.add_argument("--seconds", type=positive_float, default=1.0, help="timing budget per measurement")
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--out", type=output_path, default=None, help="also write the results as JSON here (table: .csv)")
    args = parser.parse_args()
    if args.out is not None and args.out.suffix == ".csv":
        parser.error(f"argument --out: {str(args.out)!r}: the JSON file's table goes beside it as .csv; name it .json")
    import torch

    from experiments.console import print_table

    torch.set_num_threads(1)
    rows = [bench(n, args.seconds, args.repeats) for n in args.sizes]
    table = [(r["n_agents"], f"{r['agent_steps_per_second']:,.0f}", f"{r['env_steps_per_second']:,.0f}",
              f"{r['env_step_seconds'] * 1e6:.1f}", f"{r['dpm_call_seconds'] * 1e6:.1f}", f"{r['step_over_dpm']:.1f}")
             for r in rows]
    print_table("Env step vs one bare DPM call (best of --repeats)",
                ("N", "agent-steps/s", "env steps/s", "env step µs", "bare DPM µs", "step/DPM"), table,
                csv_path=args.out.with_suffix(".csv") if args.out else None)
    if args.out:
        meta = {"python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
                "processor": platform.processor(), "torch_threads": 1}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump({"meta": meta, "results": rows}, fh, indent=2)
        print(f"wrote {args.out} and {args.out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
