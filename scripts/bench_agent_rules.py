"""The other agent rules (momentum, best response, noise, satisficing) on the aggregative family:
today's planner path against a torch path with fewer host syncs and a compiled kernel, in one run.

    python scripts/bench_agent_rules.py --out results/speed              # a few minutes on 2 cores
    python scripts/bench_agent_rules.py --quick --out runs/speed         # a smoke run (seconds)

For each rule (heavy ball, Nesterov, simultaneous best response, noisy, satisficing with a time
cost) and each N (default 1e3, 1e4, 1e5, 1e6; float64, Y = 10, λ = 0.1, x0 uniform on [0, 2);
k = clamp(1e7 / N, 64, 2000) iterations, the same for the three paths),
seconds per iteration of

* (a) ``run_planner(method="analytic")``: today's path (closed-form incentive, ``policy.act``,
  the planner's checks every 16 iterations); the marginal cost: median T(k) minus median T(0), over k;
* (b) a torch path with fewer host syncs: the same rule as in-place torch ops on preallocated
  buffers, the residual kept as a tensor, one host read per 16 iterations
  (experiments/bench_agent_rules.py ``torch_path``);
* (c) ``run_planner(method="fused")``: the compiled numba kernel of the rule (a block of 16
  iterations per call; best responses run on the gradient kernel with step α/h), the planner
  around it; marginal cost as in (a).

Ratios are to (a) in the same run (``--repeats`` interleaved rounds, medians); the JSON keeps every
sample, the load average before and after, the first-call (compile) seconds of each kernel and
how far (b) and (c) end from (a)'s iterates. Noisy agents: the kernel takes the noise pre-drawn by
torch from the policy's generator (numba's generator is not torch's, so a kernel drawing its own
could not reproduce the stream). Writes ``OUT/NAME.json`` and ``OUT/NAME.md`` (``--name``, default
``agent_rules``).
"""
from __future__ import annotations

from experiments.cli import names_list, output_dir, positive_int, script_parser, sizes_list

RULES = ("heavy_ball", "nesterov", "best_response", "noisy", "satisficing")


def main() -> None:
    ap = script_parser(__doc__)
    ap.add_argument("--rules", type=names_list(RULES), default=list(RULES), help="comma-separated (default: all)")
    ap.add_argument("--n-agents", type=sizes_list, default=[1000, 10000, 100000, 1000000],
                    help="comma-separated N (default 1e3,1e4,1e5,1e6)")
    ap.add_argument("--repeats", type=positive_int, default=3)
    ap.add_argument("--threads", type=positive_int, default=None,
                    help="torch intra-op threads (torch.set_num_threads; default: torch's own)")
    ap.add_argument("--name", default="agent_rules", help="file stem of the outputs (default agent_rules)")
    ap.add_argument("--quick", action="store_true", help="tiny iteration counts: a smoke run, not a measurement")
    ap.add_argument("--out", type=output_dir, default="runs/speed")
    args = ap.parse_args()
    from experiments.bench_agent_rules import run_bench_agent_rules

    run_bench_agent_rules(args.rules, args.n_agents, args.repeats, args.quick, args.out, args.threads, args.name)


if __name__ == "__main__":
    main()
