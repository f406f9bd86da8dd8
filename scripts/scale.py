"""Time the real DPM planner against the paper's mock step over a range of N.

    python scripts/scale.py --n-agents 1e4,1e5,1e6 --iters 50 --out runs/scale
    python scripts/scale.py --n-agents 1e6,1e7 --world-size 2 --dtype float64 --out runs/scale_w2
    torchrun --nproc_per_node=2 scripts/scale.py --n-agents 1e7 --iters 20 --out runs/scale_torchrun

Writes DIR/scale.json, DIR/scale.md and DIR/scale.png (see experiments/scale.py and docs/scale.md).
Under torchrun each process runs its shard; rank 0 writes the outputs.

Each N is a job (docs/long_runs.md): its record goes to DIR/records/ when it is measured, a rerun
with the same --out skips the measured N (--fresh measures all again), Ctrl-C / SIGTERM stop
cleanly, one process writes a folder at a time. The jobs run one after another: they are
timings, and side by side they would time each other. --compare-backends and --check-cost run
after the jobs, every time.
"""
from __future__ import annotations

import argparse
import os

from experiments.cli import names_list, nonnegative_int, output_dir, positive_int, script_parser, sizes_list

METHODS = ("fused", "analytic", "autograd")  # experiments.scale.METHODS (tests/test_cli_help.py checks)


def main() -> None:
    ap = script_parser(__doc__)
    ap.add_argument("--n-agents", type=sizes_list, default=[10**4, 10**5, 10**6], help="comma-separated N values")
    ap.add_argument("--iters", type=positive_int, default=50, help="timed planner iterations per N")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--method", type=names_list(METHODS), default=["fused"], help="fused, analytic, autograd (comma list)")
    ap.add_argument("--world-size", type=positive_int, default=1, help="processes to shard the agents over (fused only)")
    ap.add_argument("--repeats", type=positive_int, default=3, help="timed repeats per configuration (best is kept)")
    ap.add_argument("--no-mock", action="store_true", help="skip timing the paper's mock step")
    ap.add_argument("--seed", type=nonnegative_int, default=0)
    ap.add_argument("--out", type=output_dir, default="runs/scale", help="output folder (default runs/scale, ignored by git)")
    ap.add_argument("--check-cost", action="store_true",
                    help="also time small planner loops for check_every in 1, 4, 16, 64 (one torch thread)")
    ap.add_argument("--fresh", action="store_true", help="delete --out's records and measure every N again")
    ap.add_argument("--compare-backends", action="store_true",
                    help="also time every CPU tool for the fused step (numba, torch, torch.compile, numpy) at each N")
    args = ap.parse_args()
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return torchrun_main(args)
    from experiments.cli import session
    from experiments.jobs import run_jobs
    from experiments.scale import ScaleConfig, check_every_cost, compare_backends, scale_jobs, scale_payload, write_outputs
    from mechanism.errors import MechanismError

    cfg = ScaleConfig(n_agents=args.n_agents, iters=args.iters, device=args.device, dtype=args.dtype,
                      methods=args.method, world_size=args.world_size, mock=not args.no_mock,
                      repeats=args.repeats, seed=args.seed)
    try:
        cfg.validate()
    except MechanismError as exc:
        ap.error(str(exc))
    jobs = scale_jobs(cfg)
    with session(ap, args.out):
        import torch

        result = run_jobs(jobs, args.out, fresh=args.fresh, threads=torch.get_num_threads(), desc="scale")
        if result.missing:
            ap.exit(1, f"not measured: {', '.join(result.missing)}; rerun the same command to measure them\n")
        payload = scale_payload(cfg, [rec for records in result.records for rec in records])
        if args.compare_backends:
            payload["backends"] = [row for n in args.n_agents for row in compare_backends(n, args.dtype)]
        if args.check_cost:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            payload["check_every_cost"] = check_every_cost()
            torch.set_num_threads(threads)
        paths = write_outputs(payload, args.out)
    print(paths["md"].read_text())
    print("wrote", ", ".join(str(p) for p in paths.values()))


def torchrun_main(args: argparse.Namespace) -> None:
    """One rank of a torchrun launch: run this rank's shard of each N; rank 0 prints and writes JSON."""
    import json
    from pathlib import Path

    import torch.distributed as dist

    from mechanism.engines.distributed import ShardSpec, run_sharded

    dist.init_process_group("nccl" if args.device == "cuda" else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    rows = []
    for n in args.n_agents:
        spec = ShardSpec(n_agents=n, iters=args.iters, seed=args.seed, dtype=args.dtype, device=args.device,
                         check_every=args.iters)
        dist.barrier()
        rows.append(run_sharded(spec, rank, world))
    dist.destroy_process_group()
    if rank == 0:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "scale_torchrun.json").write_text(json.dumps(rows, indent=2) + "\n")
        for r in rows:
            done = "converged" if r.get("status") == "converged" else "not converged"
            print(f"N={r['spec']['n_agents']:.0e} world={world}: {r['seconds_per_iteration']:.3e} s/it, "
                  f"loss {r['final_loss']:.6g} ({done} after {args.iters} iterations: a timing run, stopping tests off)")


if __name__ == "__main__":
    main()
