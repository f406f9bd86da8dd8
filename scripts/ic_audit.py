"""Incentive-compatibility audit of the payment rules on C.4's and C.17's problems.

    python scripts/ic_audit.py --quick --out runs/ic_audit
    python scripts/ic_audit.py --quick --ppo-steps 40000 --ppo-seeds 0 1 2 --out runs/ic_audit

Prints, for every rule, its four labels (DSIC, BIC, ex-post IR, budget balance), each
``proved`` (with the argument), ``no violation in K profiles (search S, scope)`` or ``violated``
(with the witness). Writes DIR/ic_audit.json (one record per payment rule: the labels, regrets at
the truth and over profiles, expected ex-post regret with its CI, interim regret per agent class
and own type, budget, efficiency, closed-form checks; C.4's and C.17's claim axes),
DIR/ic_audit.md (the tables and labels) and
DIR/utility_vs_report_<rule>.png (each agent's true utility vs its reported type, others truthful).
With ``--ppo-steps N > 0`` PPO is trained as the learning adversary on ``type_report_v0`` for
each payment rule (``--ppo-payments``) and reported beside the search adversary. The audit is
experiments/ic_audit_run.py, its report experiments/ic_audit_report.py.
"""
from __future__ import annotations

import argparse
from typing import Any

from experiments.cli import nonnegative_int, output_dir, script_parser

# type_report_v0's payment rules (mbi_envs.scenarios.type_report_v0.PAYMENTS; tests/test_cli_help.py checks)
PAYMENTS = ("none", "dpm", "vcg", "agv", "groves_h0")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = script_parser(__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small search/sampling budgets (default)")
    mode.add_argument("--full", action="store_true", help="larger budgets (several minutes)")
    parser.add_argument("--out", required=True, type=output_dir, help="output folder")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="the audit's seed (default 0)")
    parser.add_argument("--ppo-steps", type=nonnegative_int, default=0, help="PPO agent-steps per payment rule (0: skip)")
    parser.add_argument("--ppo-seeds", type=nonnegative_int, nargs="+", default=[0], help="PPO seeds per payment rule")
    parser.add_argument("--ppo-payments", nargs="+", default=["none", "dpm", "vcg", "agv"], choices=PAYMENTS,
                        help="payment rules PPO is trained against (default: none dpm vcg agv)")
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args(argv)
    args.parser = parser
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    from experiments.cli import session
    from experiments.ic_audit_run import run_audit

    with session(args.parser, args.out, resume_hint="rerun the same command (the audit is one job: it starts over)",
                 status=lambda: "nothing written (the audit writes its files at the end)") as out:
        return run_audit(out, full=args.full, seed=args.seed, ppo_steps=args.ppo_steps, ppo_seeds=args.ppo_seeds,
                         ppo_payments=args.ppo_payments, plots=not args.no_plots)


if __name__ == "__main__":
    main()
