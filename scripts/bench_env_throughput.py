"""Raw throughput of the mbi_envs parallel env next to the cost of one bare DPM evaluation.

For each N it times ``env.step`` on ``symmetric_parallel_v0`` (iterative, team reward, a fixed
action dict, so no policy cost is included) and, in the same run, one bare
``mechanism.incentives(problem, X)`` call on the same problem; it prints agent-steps/s, the
time per env step, the time per DPM call and their ratio (best of ``--repeats`` timings).

    python scripts/bench_env_throughput.py [--sizes 2 100 1000] [--seconds 1.0] [--out bench.json]
"""
from __future__ import annotations

import argparse
import json
import platform

import torch

import mbi_envs
from mbi_envs.cli import output_path, positive_float, positive_int
from experiments.timing import best_time_per_call
from mechanism import incentives


def bench(n_agents: int, seconds: float, repeats: int) -> dict:
    """Time one env step and one bare DPM evaluation for ``n_agents`` agents."""
    env = mbi_envs.make("symmetric_parallel_v0", n_agents=n_agents, max_steps=10 ** 9)
    obs, _ = env.reset(seed=0)
    actions = {a: o[:1].copy() for a, o in obs.items()}
    step_s = best_time_per_call(lambda: env.step(actions), seconds, repeats)
    X = torch.from_numpy(env.X).reshape(1, n_agents, 1)
    dpm_s = best_time_per_call(lambda: incentives(env.problem, X), seconds, repeats)
    return {"n_agents": n_agents, "env_step_seconds": step_s, "agent_steps_per_second": n_agents / step_s,
            "env_steps_per_second": 1.0 / step_s, "dpm_call_seconds": dpm_s, "step_over_dpm": step_s / dpm_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[2, 100, 1000])
    parser.add_argument("--seconds", type=positive_float, default=1.0, help="timing budget per measurement")
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--out", type=output_path, default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [bench(n, args.seconds, args.repeats) for n in args.sizes]
    print(f"{'N':>6} {'agent-steps/s':>14} {'env steps/s':>12} {'env step':>11} {'bare DPM':>11} {'step/DPM':>9}")
    for r in rows:
        print(f"{r['n_agents']:>6} {r['agent_steps_per_second']:>14,.0f} {r['env_steps_per_second']:>12,.0f} "
              f"{r['env_step_seconds'] * 1e6:>9.1f}us {r['dpm_call_seconds'] * 1e6:>9.1f}us {r['step_over_dpm']:>9.1f}")
    if args.out:
        meta = {"python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
                "processor": platform.processor(), "torch_threads": 1}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump({"meta": meta, "results": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
