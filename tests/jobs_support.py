"""Toy jobs for the job-set tests (module level, so worker processes can import them), and a
command line that runs a toy job set in a subprocess:

    python tests/jobs_support.py OUT N_JOBS [--workers W] [--size S] [--fail K]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.jobs import Job, cli_session, run_jobs  # noqa: E402


def toy(config: dict) -> dict:
    """A seeded record of ``size`` numbers, after ``sleep`` seconds; ``fail`` raises."""
    if config.get("fail"):
        raise RuntimeError(f"job {config['i']} fails on purpose")
    time.sleep(config.get("sleep", 0.0))
    rng = np.random.default_rng(config["i"])
    values = rng.normal(size=config.get("size", 10))
    return {"i": config["i"], "values": values.tolist(), "sum": float(values.sum())}


def toy_jobs(n: int, size: int = 10, sleep: float = 0.0, fail: tuple[int, ...] = ()) -> list[Job]:
    return [Job(toy, {"i": i, "size": size, "sleep": sleep, **({"fail": True} if i in fail else {})},
                label=f"toy {i}") for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--size", type=int, default=10)
    ap.add_argument("--sleep", type=float, default=0.0)
    args = ap.parse_args()
    jobs = toy_jobs(args.n, args.size, args.sleep)
    with cli_session(args.out, ap.error):
        result = run_jobs(jobs, args.out, workers=args.workers, progress=False, threads=1)
    print(f"ran {result.ran} skipped {result.skipped}")


if __name__ == "__main__":
    main()
