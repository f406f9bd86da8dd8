"""Throughput of the batched env (mbi_envs.make_vec) against the dict env, and of SB3 PPO training
through the dict path and the batched path, in one run (so ratios share the machine's load).

1. Env step only, ``symmetric_parallel_v0`` iterative, team reward, N agents (default 100), fixed
   actions (no policy cost): the dict env (``MechanismEnv.step`` on a dict) and the batched env for
   each B (default 1, 64, 1024) in float64 on the CPU; with a CUDA device also B × N up to
   ``--cuda-agents`` in float32 and float64 on the GPU (skipped without one). Best of
   ``--repeats`` timings, agent-steps/s = B·N / (time per step). Also the cheapest dict view over
   the batched env with B = 1 (what the dict env would cost as a view of the batched core).
2. SB3 PPO on C.2 one-shot (``symmetric_parallel_v0``, N agents) with the README's one-shot
   hyperparameters, ``--ppo-copies`` copies, ``--ppo-rollouts`` rollouts, the same PPO seed:
   once through ``ParallelEnvVecEnv`` (dict envs) and once through ``BatchedVecEnv``. Training
   agent-steps/s include the updates; a callback splits the wall-clock into rollout collection
   (env + policy forward) and the PPO update.

    PYTHONPATH=. python scripts/bench_vec_env.py --out results/vec_env/cpu

Writes OUT.json (every timing, the machine, the load) and OUT.md (the tables). The measurement is
experiments/bench_vec_env.py.
"""
from __future__ import annotations

from experiments.cli import output_path, positive_float, positive_int, script_parser


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--n-agents", type=positive_int, default=100)
    parser.add_argument("--batch-sizes", type=positive_int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--cuda-agents", type=positive_int, nargs="+", default=[10 ** 5, 10 ** 6, 10 ** 7],
                        help="B × N totals timed on CUDA (N = --n-agents); skipped without a GPU")
    parser.add_argument("--seconds", type=positive_float, default=1.0, help="timing budget per measurement")
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads")
    parser.add_argument("--ppo-copies", type=positive_int, default=8)
    parser.add_argument("--ppo-rollouts", type=positive_int, default=2)
    parser.add_argument("--ppo-epochs", type=positive_int, nargs="+", default=[10],
                        help="PPO n_epochs settings, each timed on both paths (10: the README's)")
    parser.add_argument("--skip-ppo", action="store_true")
    parser.add_argument("--out", type=output_path, default=None, help="write OUT.json and OUT.md")
    args = parser.parse_args()
    from experiments.bench_vec_env import run_bench

    run_bench(args.n_agents, args.batch_sizes, args.cuda_agents, args.seconds, args.repeats, args.threads,
              args.ppo_copies, args.ppo_rollouts, args.ppo_epochs, args.skip_ppo, args.out)


if __name__ == "__main__":
    main()
