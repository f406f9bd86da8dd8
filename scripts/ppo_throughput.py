"""SB3 PPO on C.2-N100 (one-shot, team reward): the tuned minibatch against one full-rollout minibatch.

    nice -n 10 python scripts/ppo_throughput.py --out results/ppo_throughput --timesteps 200000 --seeds 0 1 2

    nice -n 10 python scripts/ppo_throughput.py --out results/ppo_throughput/vec --timesteps 300800 \
        --configs full-batch full-batch-vec full-batch-vec4 torch-vec torch-vec4 torchrl-vec torchrl-vec4

The chosen configurations (--configs; see experiments.ppo_throughput.configs) train per seed back
to back in one process (torch.set_num_threads(1)); writes
--out/ppo_throughput.json (every run: batch size, agent-steps, training seconds, agent-steps/s,
final and best loss gap, steps and seconds to the target gap; the machine and os.getloadavg())
and --out/ppo_throughput.md (the table docs/ppo.md quotes). The logic is in
experiments/ppo_throughput.py.
"""
from __future__ import annotations

import json
import sys

from experiments.cli import check_seeds, nonnegative_int, output_dir, positive_int, script_parser


#: experiments.ppo_throughput.CONFIGS (not imported here: --help answers before torch loads)
CONFIG_NAMES = ("tuned", "full-batch", "full-batch-vec", "full-batch-vec4", "torch-vec", "torch-vec4", "torchrl-vec",
                "torchrl-vec4")


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run the comparison, write the JSON and the table."""
    parser = script_parser(__doc__)
    parser.add_argument("--out", type=output_dir, required=True, help="folder for ppo_throughput.json and .md")
    parser.add_argument("--timesteps", type=positive_int, default=200_000,
                        help="agent-steps per run, rounded up to whole rollouts (default 200000; the benchmark: 1M)")
    parser.add_argument("--seeds", type=nonnegative_int, nargs="+", default=[0, 1, 2], help="seeds (default 0 1 2)")
    parser.add_argument("--n-evals", type=positive_int, default=10, help="evaluations per run (default 10)")
    parser.add_argument("--configs", nargs="+", default=["tuned", "full-batch"], choices=CONFIG_NAMES,
                        help="which configurations to run, back to back per seed (default tuned full-batch); "
                             "full-batch-vec(4): SB3 on the batched env (4 copies); torch-vec(4): baselines.torch_ppo; "
                             "torchrl-vec(4): the same with TorchRL's ClipPPOLoss")
    args = parser.parse_args(argv)
    check_seeds(parser, "--seeds", args.seeds)
    from experiments.ppo_throughput import markdown_table, run_comparison
    from mbi_envs.evaluation import json_safe

    args.out.mkdir(parents=True, exist_ok=True)
    payload = run_comparison(args.timesteps, args.seeds, args.n_evals,
                             progress=lambda line: print(line, file=sys.stderr, flush=True), names=args.configs)
    (args.out / "ppo_throughput.json").write_text(json.dumps(json_safe(payload), indent=1, allow_nan=False))
    (args.out / "ppo_throughput.md").write_text(markdown_table(payload) + "\n")
    print(markdown_table(payload))


if __name__ == "__main__":
    main()
