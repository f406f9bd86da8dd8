"""Measure PPO on the one-shot symmetric problem (the paper's C.6 setting), team and difference rewards.

    python scripts/measure_ppo_symmetric.py --timesteps 1000000 --seeds 0 1 2 3 4 --out results/ppo_symmetric_1m.json

N = 100, Y = 10, λ = 0.1; one PPO model per seed and reward mode; reports the mean |a − x*|
and the loss gap L(a) − L* with their spread over seeds (see experiments.ppo_symmetric).
"""
from __future__ import annotations

import json
from pathlib import Path

from experiments.cli import check_seeds, nonnegative_int, output_path, positive_int, script_parser

REWARD_MODES = ("team", "private", "difference")  # mbi_envs.REWARD_MODES (tests/test_cli_help.py checks)


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--timesteps", type=positive_int, default=1_000_000, help="agent-steps per run")
    parser.add_argument("--seeds", type=nonnegative_int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--reward-modes", nargs="+", default=["team", "difference"], choices=REWARD_MODES)
    parser.add_argument("--out", type=output_path, default="runs/ppo_symmetric_1m.json",
                        help="output JSON (default runs/ppo_symmetric_1m.json; results/ holds the committed run)")
    args = parser.parse_args()
    check_seeds(parser, "--seeds", args.seeds)
    from experiments.ppo_symmetric import run_ppo_symmetric

    results = {}
    for mode in args.reward_modes:
        results[mode] = run_ppo_symmetric(args.timesteps, args.seeds, reward_mode=mode)
        r = results[mode]
        print(f"{mode:10s}: mean |a - x*| = {r['mean_abs_error']:.3g} ± {r['mean_abs_error_std']:.2g}, "
              f"loss gap = {r['loss_gap_mean']:.3g} ± {r['loss_gap_std']:.2g} "
              f"({r['env_steps']} agent-steps, {r['wall_seconds']:.0f} s per seed)")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
