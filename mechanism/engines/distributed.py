"""Beyond one process: the agents of a separable problem sharded over ``torch.distributed`` ranks.

In the aggregative family every coupling goes through two sums, ``S = Σ_i x_i`` and
``Q = Σ_i λ_i x_i²``. Rank ``k`` of ``W`` owns a contiguous slice of the agents (its actions,
its λ_i, its bounds) and runs the fused step of :mod:`mechanism.engines.fused` on it; the only
communication is **one all-reduce of the float64 partial sums per planner iteration** (plus one
at each stopping check for the KKT residual). Every rank then holds the same global loss and
takes the same stopping decision, so the run is the single-process run with the sum split in
two stages: same seed, same trajectory, up to float64 re-association (≤ 1e-12, tested).

Launch it either way:

* ``torchrun --nproc_per_node=W scripts/scale.py --method fused ...`` (one machine) or, on
  several machines, the same ``torchrun`` command on each with ``--nnodes``, ``--node_rank`` and a
  shared ``--rdzv_endpoint=HOST:PORT`` (gloo on CPUs, NCCL on GPUs);
* :func:`launch_local` (used by ``scripts/scale.py --world-size W``), which spawns ``W``
  processes on this machine over a loopback TCP rendezvous.

A generic D-DAG would need more: every function node that reduces over agents becomes a
partial reduction plus an all-reduce, and the reverse pass needs the matching broadcast of the
upstream gradient — what model-parallel autograd (``torch.distributed.nn``) does. Only the
separable aggregative family is sharded here.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..core.agents import GradientAgents
from ..errors import InvalidParameterError, require_finite_number, require_int_at_least, require_positive
from ..core.planner import run_planner
from ..problems.appendix_c import aggregative_optimal_loss, aggregative_problem

__all__ = ["ShardSpec", "shard_range", "initial_actions", "run_sharded", "launch_local", "SHARD_ALIGN"]

BLOCK = 1 << 20       # initial actions are drawn per global block of this many agents (seed, block)
SHARD_ALIGN = 1 << 16  # shard boundaries are multiples of the fused kernel's chunk


def shard_range(n_agents: int, rank: int, world_size: int) -> tuple[int, int]:
    """``[start, stop)`` of the agents owned by ``rank``: contiguous, chunk-aligned, covering all."""
    n_agents = require_int_at_least("n_agents", n_agents, 1)
    world_size = require_int_at_least("world_size", world_size, 1)
    if not 0 <= rank < world_size:
        raise InvalidParameterError(f"rank must be in [0, {world_size}), got {rank!r}")
    units = -(-n_agents // SHARD_ALIGN)
    per, extra = divmod(units, world_size)
    start_unit = rank * per + min(rank, extra)
    stop_unit = start_unit + per + (1 if rank < extra else 0)
    return min(start_unit * SHARD_ALIGN, n_agents), min(stop_unit * SHARD_ALIGN, n_agents)


def initial_actions(n_agents: int, seed: int, low: float = 0.0, high: float = 2.0, start: int = 0,
                    stop: int | None = None, dtype: Any = torch.float64, device: Any = None) -> torch.Tensor:
    """Agents ``start..stop`` of a uniform ``U[low, high)`` starting point, shape ``(stop − start,)``.

    Block ``k`` of ``BLOCK`` agents is drawn from a generator seeded with ``(seed, k)``, so any
    slice is the same numbers whichever process draws it (ranks draw only their own blocks).
    """
    stop = n_agents if stop is None else stop
    if not 0 <= start <= stop <= n_agents:
        raise InvalidParameterError(f"need 0 <= start <= stop <= n_agents, got {start}, {stop}, {n_agents}")
    out = torch.empty(stop - start, dtype=dtype, device=device)
    for block in range(start // BLOCK, -(-stop // BLOCK)):
        lo_i, hi_i = block * BLOCK, min((block + 1) * BLOCK, n_agents)
        g = torch.Generator().manual_seed(int(seed) * 1_000_003 + block)
        values = low + (high - low) * torch.rand(hi_i - lo_i, generator=g, dtype=torch.float64)
        a, b = max(lo_i, start), min(hi_i, stop)
        out[a - start:b - start] = values[a - lo_i:b - lo_i].to(device=device, dtype=dtype)
    return out


@dataclass(frozen=True)
class ShardSpec:
    """A symmetric aggregative instance run by gradient agents (what every rank needs to know)."""

    n_agents: int
    iters: int
    Y: float = 10.0
    lam: float = 0.1
    offset: float = 0.0
    lower: float = 0.0
    upper: float = float("inf")
    step_fraction: float = 0.5   # η = fraction / (N + λ): the closed-form stability limit is 1/(N + λ)
    seed: int = 0
    dtype: str = "float64"
    device: str = "cpu"
    eps: float = 0.0
    tau: float = 0.0
    check_every: int = 100

    def validate(self) -> None:
        """Raise :class:`InvalidParameterError` naming the first bad field."""
        require_int_at_least("n_agents", self.n_agents, 1)
        require_int_at_least("iters", self.iters, 0)
        require_int_at_least("check_every", self.check_every, 1)
        require_positive("lam", self.lam)
        require_positive("step_fraction", self.step_fraction)
        for name in ("Y", "offset"):
            require_finite_number(name, getattr(self, name))

    @property
    def step_size(self) -> float:
        return self.step_fraction / (self.n_agents + self.lam)


def _all_reduce_sum(group: Any):
    import torch.distributed as dist

    def reduce(local: torch.Tensor) -> torch.Tensor:
        total = local.clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
        return total
    return reduce


def run_sharded(spec: ShardSpec, rank: int = 0, world_size: int = 1, group: Any = None) -> dict[str, Any]:
    """Run this rank's share of ``spec`` (all ranks call it; ``world_size = 1`` runs alone).

    Returns the global loss, status, iterations, seconds per iteration and this rank's slice.
    """
    spec.validate()
    start, stop = shard_range(spec.n_agents, rank, world_size)
    if stop <= start:
        raise InvalidParameterError(f"rank {rank} owns no agent: n_agents={spec.n_agents} is too small for "
                                    f"world_size={world_size} (shards are multiples of {SHARD_ALIGN})")
    problem = aggregative_problem(stop - start, Y=spec.Y, lam=spec.lam, offset=spec.offset, lower=spec.lower,
                                  upper=spec.upper, dtype=spec.dtype, device=spec.device)
    x0 = initial_actions(spec.n_agents, spec.seed, start=start, stop=stop, dtype=problem.dtype,
                         device=problem.device)
    reduce = _all_reduce_sum(group) if world_size > 1 else None
    result = run_planner(problem, GradientAgents(spec.step_size), x0, method="fused", max_iters=spec.iters,
                         eps=spec.eps, tau=spec.tau, record_every=max(spec.iters, 1), record_actions=False,
                         check_every=spec.check_every, keep_last_finite=False, all_reduce=reduce)
    return {"rank": rank, "world_size": world_size, "start": start, "stop": stop, "status": result.status,
            "iterations": result.iterations, "final_loss": float(result.loss[0]),
            "optimal_loss": aggregative_optimal_loss(spec.Y, torch.tensor(spec.lam).expand(spec.n_agents), spec.offset),
            "seconds": result.wall_seconds,
            "seconds_per_iteration": result.wall_seconds / max(result.iterations, 1),
            "x_head": result.X[0, :4, 0].double().tolist(), "spec": asdict(spec)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, spec: ShardSpec, backend: str, queue: Any) -> None:
    import torch.distributed as dist

    threads = max(1, (os.cpu_count() or 1) // world_size)  # ranks on one machine share its cores
    torch.set_num_threads(threads)
    try:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:  # pragma: no cover - numba is a dependency
        pass
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        run_sharded(ShardSpec(**{**asdict(spec), "iters": 2}), rank, world_size)  # warm-up: numba compiles here
        dist.barrier()
        t0 = time.perf_counter()
        out = run_sharded(spec, rank, world_size)
        out["wall_seconds_with_sync"] = time.perf_counter() - t0
        queue.put(out)
    finally:
        dist.destroy_process_group()


def launch_local(spec: ShardSpec, world_size: int, backend: str | None = None,
                 timeout: float = 600.0) -> list[dict[str, Any]]:
    """Run ``spec`` on ``world_size`` processes of this machine (loopback rendezvous).

    ``backend`` defaults to ``"nccl"`` for CUDA specs, ``"gloo"`` otherwise. Returns every rank's
    result, ordered by rank.
    """
    import torch.multiprocessing as mp

    spec.validate()
    world_size = require_int_at_least("world_size", world_size, 1)
    backend = backend or ("nccl" if spec.device.startswith("cuda") else "gloo")
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, world_size, port, spec, backend, queue)) for r in range(world_size)]
    for p in procs:
        p.start()
    try:
        results = _collect(queue, procs, timeout)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    return sorted(results, key=lambda r: r["rank"])


def _collect(queue: Any, procs: list[Any], timeout: float) -> list[dict[str, Any]]:
    """Every rank's result; raises as soon as a rank dies without one, or after ``timeout``."""
    import queue as queue_module

    results: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(results) < len(procs):
        try:
            results.append(queue.get(timeout=0.5))
            continue
        except queue_module.Empty:
            pass
        dead = [p.exitcode for p in procs if p.exitcode not in (0, None)]
        if dead:
            raise RuntimeError(f"a rank exited with code {dead[0]} before reporting (see its traceback above)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the {len(procs)} ranks did not finish within {timeout} s")
    return results
