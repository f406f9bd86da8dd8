"""The fused DPM step: incentive, agent update and projection in one pass over memory.

For the aggregative family ``L(x) = (Σ_j x_j + c − Y)² + Σ_j λ_j x_j²`` the DPM incentive is

    G_i = −∂L/∂x_i = −2 r − 2 λ_i x_i,        r = S + c − Y,   S = Σ_j x_j,

so a gradient agent's update ``x_i ← Π_i(x_i + η_i G_i)`` is

    x_i ← clamp(x_i − e_i (r + λ_i x_i), lo_i, hi_i),   e_i = 2 η_i

(written as a decrement, so float32 storage loses only the rounding of the result, not of a
coefficient ``1 − 2ηλ`` that float32 cannot resolve near 1).

Only one number couples the agents: the residual ``r``. One pass over ``x`` therefore updates
every agent **in place** and, while each value is still in a register, accumulates the next
``S = Σ x_i`` and ``Q = Σ λ_i x_i²`` (so the loss ``r'² + Q`` of the new point comes for free).
An iteration reads and writes each action once: memory bandwidth is the limit. All sums
accumulate in float64 whatever the storage dtype, in fixed chunks whose partial sums are added
in chunk order, so the result does not depend on the number of threads.

Backends (chosen by measurement, see docs/scale.md):

* ``"numba"`` (CPU, the default there): one parallel loop (``numba.prange`` over fixed chunks).
  The kernels are in :mod:`mechanism.engines.fused_kernels` (numba is imported on first use);
  the serial ones (below 524,288 agents) are cached on disk by numba (``$NUMBA_CACHE_DIR``, else
  ``__pycache__`` beside that module, else the user-wide cache), so only the first process
  compiles them; the parallel ones are compiled in each process (cached, they would change bits).
* ``"torch"`` (any device, the default on CUDA): chunked in-place torch ops; each chunk is
  updated and summed while it sits in cache.

:class:`FusedAggregative` is what :func:`mechanism.core.planner.run_planner` uses with
``method="fused"``; :mod:`mechanism.engines.distributed` runs the same kernel on each rank's slice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from ..errors import InvalidParameterError

__all__ = ["FusedAggregative", "fused_unavailable_reason", "aggregative_coefficients", "CHUNK",
           "numba_available"]

Backend = Literal["auto", "numba", "torch"]
CHUNK = 1 << 16  # elements per chunk: partial sums are taken per chunk, then added in order


def numba_available() -> bool:
    """True when numba imports (the CPU backend of the fused step)."""
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency
        return False
    return True


def fused_unavailable_reason(problem: Any, policy: Any) -> str | None:
    """Why ``run_planner(..., method="fused")`` cannot run this problem/policy pair (None if it can)."""
    from ..core.agents import GradientAgents

    if getattr(problem, "fused_family", None) != "aggregative":
        return f"problem {problem.name!r} registers no fused family (only the aggregative family does)"
    if type(policy) is not GradientAgents:
        return (f"the fused step implements the paper's gradient rule (GradientAgents); got "
                f"{type(policy).__name__}: use method='analytic' or 'autograd'")
    return None


@dataclass
class _Coefficients:
    """Per-agent (or broadcast scalar) coefficients of the fused update, flattened to ``(N,)``."""

    e: torch.Tensor   # 2 η_i
    lam: torch.Tensor  # λ_i (for Q = Σ λ_i x_i²)
    lo: torch.Tensor
    hi: torch.Tensor
    shift: float      # c − Y, so that r = S + shift


def _compact(t: torch.Tensor, n: int) -> torch.Tensor:
    """An ``(N, 1)``/``(N,)`` tensor as ``(N,)``, or ``(1,)`` if it is a broadcast of one value."""
    flat = t.reshape(-1)
    if flat.numel() == 1:
        return flat.contiguous()
    if flat.numel() != n:
        raise InvalidParameterError(f"expected {n} per-agent values, got shape {tuple(t.shape)}")
    return flat[:1].contiguous() if flat.stride(0) == 0 else flat.contiguous()


def aggregative_coefficients(problem: Any, step_size: Any, types: str = "belief") -> _Coefficients:
    """The fused update's coefficients for gradient agents with step ``η`` on ``problem``."""
    n = problem.n_agents
    data = problem.data(types)
    eta = torch.as_tensor(step_size, dtype=torch.float64, device=problem.device)
    if eta.numel() not in (1, n):
        raise InvalidParameterError(f"step_size must be a scalar or have {n} entries, got shape {tuple(eta.shape)}")
    lam = _compact(data["lam"], n)
    e = (2.0 * eta.reshape(-1)).to(problem.dtype)
    shift = float(data["offset"]) - float(data["Y"])
    return _Coefficients(e=_compact(e, n), lam=lam,
                         lo=_compact(problem.lower, n), hi=_compact(problem.upper, n), shift=shift)


# ---------------------------------------------------------------------------------- numba backend
PARALLEL_MIN_CHUNKS = 8  # below this many chunks a parallel region costs more than it saves
# Below this many iterations a run does not compile the whole-loop kernel (unless this process
# already has): its one-off compile (3-5.5 s measured at load 6-10 on 2 cores, docs/speed.md) costs
# more than it saves (about 0.1 ms per iteration). Both paths compute the same bits (tested).
WHOLE_LOOP_MIN_ITERATIONS = 2_000


def _numba_kernels(n: int) -> dict[str, Any]:
    """The numba kernels (``step``, ``stats``, ``loop``, ``planner``) for an array of ``n`` values:
    parallel over chunks for large arrays, serial for small ones (same chunks, same order of
    partial sums: the same numbers either way).

    They live in :mod:`mechanism.engines.fused_kernels`, imported here on first use (so importing
    this module does not import numba), and are compiled lazily per signature and **cached on
    disk** by numba: in ``$NUMBA_CACHE_DIR`` when set, else in the ``__pycache__`` folder beside
    ``fused_kernels.py``, else (read-only install) in numba's user-wide cache folder. A process
    that finds its kernels there loads them instead of compiling them (seconds saved per process;
    results/speed/numba_cache.json)."""
    from .fused_kernels import KERNELS

    return KERNELS["parallel" if n >= PARALLEL_MIN_CHUNKS * CHUNK else "serial"]


# ---------------------------------------------------------------------------------- torch backend
CUDA_CHUNK = 1 << 26  # on a GPU a chunk only bounds the temporaries (256 MiB of float32)


def _chunk_size(device: torch.device) -> int:
    """Chunk length of the torch backend: cache-sized on the CPU, large on a GPU (few launches)."""
    return CUDA_CHUNK if device.type == "cuda" else CHUNK


def _piece(t: torch.Tensor, start: int, size: int) -> torch.Tensor:
    return t if t.numel() == 1 else t[start:start + size]


def _torch_step(x: torch.Tensor, c: _Coefficients, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """In-place update of one row; ``r`` stays a device tensor (no host synchronisation)."""
    size = _chunk_size(x.device)
    s = torch.zeros((), dtype=torch.float64, device=x.device)
    q = torch.zeros((), dtype=torch.float64, device=x.device)
    r = r.to(x.dtype)
    for start in range(0, x.numel(), size):
        xc = x[start:start + size]
        lam = _piece(c.lam, start, size)
        xc.sub_(_piece(c.e, start, size) * (lam * xc + r))
        torch.clamp(xc, _piece(c.lo, start, size), _piece(c.hi, start, size), out=xc)
        s += xc.sum(dtype=torch.float64)
        q += (lam * xc * xc).sum(dtype=torch.float64)
    return s, q


def _torch_sums(x: torch.Tensor, lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    size = _chunk_size(x.device)
    s = torch.zeros((), dtype=torch.float64, device=x.device)
    q = torch.zeros((), dtype=torch.float64, device=x.device)
    for start in range(0, x.numel(), size):
        xc = x[start:start + size].to(torch.float64)
        s += xc.sum()
        q += (_piece(lam, start, size).to(torch.float64) * xc ** 2).sum()
    return s, q


def _torch_kkt(x: torch.Tensor, c: _Coefficients, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``Σ (Π(x + G) − x)²`` and the rounding scale ``Σ (|x| + |G|)²`` of one row (float64)."""
    size = _chunk_size(x.device)
    acc = torch.zeros((), dtype=torch.float64, device=x.device)
    acc_scale = torch.zeros((), dtype=torch.float64, device=x.device)
    for start in range(0, x.numel(), size):
        xc = x[start:start + size].to(torch.float64)
        g2 = 2.0 * r + 2.0 * _piece(c.lam, start, size).to(torch.float64) * xc  # −G
        v = xc - 2.0 * r - 2.0 * _piece(c.lam, start, size).to(torch.float64) * xc
        v = torch.clamp(v, _piece(c.lo, start, size).to(torch.float64), _piece(c.hi, start, size).to(torch.float64))
        acc += ((v - xc) ** 2).sum()
        acc_scale += ((xc.abs() + g2.abs()) ** 2).sum()
    return acc, acc_scale


# ---------------------------------------------------------------------------------- the engine
class FusedAggregative:
    """Gradient agents on an aggregative problem, advanced in place one fused pass at a time.

    Args:
        problem: an aggregative problem (``problem.fused_family == "aggregative"``).
        step_size: the agents' η (scalar or one per agent).
        X: the starting joint action ``(B, N, 1)`` (validated, projected); **updated in place**.
        types: the Planner's ``"belief"`` (default) or the ``"true"`` types.
        backend: ``"numba"`` (CPU), ``"torch"`` (any device) or ``"auto"`` (numba on the CPU
            when installed, torch otherwise).
        reduce: optional function ``(tensor of float64 partial sums) -> global sums`` used by
            :mod:`mechanism.engines.distributed` (an all-reduce); ``None`` for one process.

    After :meth:`step`, :attr:`loss` holds ``L`` at the new point (float64, shape ``(B,)``).
    """

    def __init__(self, problem: Any, step_size: Any, X: torch.Tensor, *, types: str = "belief",
                 backend: Backend = "auto", reduce: Any = None) -> None:
        if backend not in ("auto", "numba", "torch"):
            raise InvalidParameterError(f"backend must be 'auto', 'numba' or 'torch', got {backend!r}")
        if backend == "auto":
            backend = "numba" if X.device.type == "cpu" and numba_available() else "torch"
        if backend == "numba" and X.device.type != "cpu":
            raise InvalidParameterError(f"backend='numba' runs on the CPU; X is on {X.device}")
        self.problem, self.backend, self._reduce = problem, backend, reduce
        self.coef = aggregative_coefficients(problem, step_size, types)
        self.X = X
        self._rows = [X[b].reshape(-1) for b in range(X.shape[0])]
        if not all(row.is_contiguous() for row in self._rows):
            raise InvalidParameterError("the fused step needs a contiguous X")
        self._numpy = [row.numpy() for row in self._rows] if backend == "numba" else None
        self._np_coef = ({k: getattr(self.coef, k).cpu().numpy() for k in ("e", "lam", "lo", "hi")}
                         if backend == "numba" else None)
        self._callees_loaded = False
        self.S, self.Q = self._global_sums()

    # -------------------------------------------------------------- sums
    def _local_sums(self) -> torch.Tensor:
        out = []
        for b, row in enumerate(self._rows):
            if self.backend == "numba":
                c = self._np_coef
                s, q, _, _ = _numba_kernels(row.numel())["stats"](self._numpy[b], c["lam"], c["lo"], c["hi"], 0.0, CHUNK)
                out.append(torch.tensor([s, q], dtype=torch.float64))
            else:
                s, q = _torch_sums(row, self.coef.lam)
                out.append(torch.stack([s, q]))
        return torch.stack(out)  # (B, 2)

    def _global_sums(self, local: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        local = self._local_sums() if local is None else local
        total = local if self._reduce is None else self._reduce(local)
        return total[:, 0].clone(), total[:, 1].clone()

    @property
    def residual(self) -> torch.Tensor:
        """``r = Σx + c − Y`` per batch row (float64)."""
        return self.S + self.coef.shift

    @property
    def loss(self) -> torch.Tensor:
        """``L = r² + Σ λ_i x_i²`` at the current point, float64, shape ``(B,)``."""
        return self.residual ** 2 + self.Q

    # -------------------------------------------------------------- one iteration
    def step(self) -> torch.Tensor:
        """One planner iteration in place: every agent steps on its incentive; returns the new loss."""
        local = []
        if self.backend == "numba":
            r = self.residual.tolist()
            for b in range(len(self._rows)):
                local.append(torch.tensor(self._numba_step(b, r[b]), dtype=torch.float64))
        else:
            r = self.residual
            for b, row in enumerate(self._rows):
                local.append(torch.stack(_torch_step(row, self.coef, r[b])))
        self.S, self.Q = self._global_sums(torch.stack(local))
        return self.loss

    @property
    def compiled_loop(self) -> bool:
        """True when :meth:`advance` runs its iterations inside one compiled call (numba backend,
        one process); otherwise it loops over :meth:`step` in Python."""
        return self.backend == "numba" and self._reduce is None

    def advance(self, k: int) -> torch.Tensor:
        """``k`` iterations in place; returns the loss after each, ``(k, B)`` float64.

        With :attr:`compiled_loop` the ``k`` iterations of each batch row run in one compiled
        call (the rows are independent between stopping checks); the iterates, the sums and the
        losses are bit-identical to ``k`` calls of :meth:`step` (tested). Otherwise it is those
        ``k`` calls (the torch backend keeps everything on the device: no host synchronisation).
        """
        if not self.compiled_loop:
            return torch.stack([self.step() for _ in range(k)])
        import numpy as np

        B = len(self._rows)
        s_out, q_out = np.empty((B, k)), np.empty((B, k))
        start = self.S.tolist()
        coefs = self._kernel_coefficients()
        self._load_callees()
        for b in range(B):
            x = self._numpy[b]
            _numba_kernels(x.shape[0])["loop"](x, *coefs, self.coef.shift, start[b], k, CHUNK, s_out[b], q_out[b])
        S, Q = torch.from_numpy(s_out).T, torch.from_numpy(q_out).T  # (k, B)
        self.S, self.Q = S[-1].clone(), Q[-1].clone()
        return (S + self.coef.shift) ** 2 + Q

    def whole_loop_pays(self, max_iters: int) -> bool:
        """Whether :meth:`run_planner_loop` is worth its compile for a run of ``max_iters``."""
        if not self.compiled_loop:
            return False
        kernels = _numba_kernels(self._rows[0].numel())
        return bool(kernels["planner"].signatures) or max_iters * len(self._rows) >= WHOLE_LOOP_MIN_ITERATIONS

    def run_planner_loop(self, max_iters: int, check_every: int, record_every: int, limit: float,
                         eps: float, tau: float, floor_unit: float, keep_last_finite: bool,
                         test_convergence: bool) -> dict[str, Any]:
        """The whole planner loop in one compiled call (numba backend, one process, no recorded
        actions): what :func:`mechanism.core.planner.run_planner` does with this kernel, bit for bit
        (tested). Returns status, iterations, diverged_at, the recorded ``(iterations, losses)``
        after iteration 0, and the iteration the kernel stopped at (> iterations after a
        divergence whose state was not kept)."""
        import numpy as np

        if not self.compiled_loop:
            raise InvalidParameterError("run_planner_loop needs the numba backend on one process")
        c = self._np_coef
        X2 = self.X.detach().numpy().reshape(self.X.shape[0], -1)
        S, Q = self.S.numpy().copy(), self.Q.numpy().copy()
        prev = self.loss.numpy().copy()
        n_rec = max_iters // record_every + 1
        self._load_callees()
        rec_its, rec_loss = np.zeros(n_rec, dtype=np.int64), np.zeros((n_rec, X2.shape[0]))
        status, t, diverged_at, n, t_kernel = _numba_kernels(X2.shape[1])["planner"](
            X2, *self._kernel_coefficients(), c["lam"], c["lo"], c["hi"], self.coef.shift, S, Q, prev, max_iters, check_every,
            record_every, limit, test_convergence, eps, tau, floor_unit, keep_last_finite, CHUNK, rec_its, rec_loss)
        self.S, self.Q = torch.from_numpy(S), torch.from_numpy(Q)
        return {"status": ("budget_exhausted", "converged", "diverged")[status], "iterations": int(t),
                "diverged_at": None if diverged_at < 0 else int(diverged_at), "record_iterations": rec_its[:n],
                "record_losses": rec_loss[:n], "kernel_iterations": int(t_kernel)}

    def _load_callees(self) -> None:
        """Load (from numba's disk cache, or compile) the ``step`` and ``stats`` kernels this engine's
        ``loop`` and ``planner`` kernels call, before either of those is loaded.

        A compiled caller carries its own copy of each kernel it calls, re-optimised with the caller
        (a weak symbol); the process runs whichever definition it loaded first. Compiling a caller
        always compiles its callees first, so without a cache the callees' own code runs; a caller
        loaded from the cache before its callees would run its copy, whose float sums may differ
        in the last bits. Loading the callees first keeps every path bit-identical (tested)."""
        if self._callees_loaded:
            return
        import numba

        kernels = _numba_kernels(self._rows[0].numel())
        row, c = self._numpy[0], self._np_coef
        step_args = (row, *self._kernel_coefficients(), 0.0, CHUNK)
        stats_args = (row, c["lam"], c["lo"], c["hi"], 0.0, CHUNK)
        for kernel, args in ((kernels["step"], step_args), (kernels["stats"], stats_args)):
            kernel.compile(tuple(numba.typeof(a) for a in args))
        self._callees_loaded = True

    def _kernel_coefficients(self) -> tuple[Any, Any, Any, Any]:
        """``(η, λ, lo, hi)`` as the numba step takes them: four scalars of the storage dtype when each
        is one value for every agent (the kernel that vectorises), else the four arrays."""
        c = self._np_coef
        names = ("e", "lam", "lo", "hi")
        if all(c[name].shape[0] == 1 for name in names):
            return tuple(c[name][0] for name in names)
        return tuple(c[name] for name in names)

    def _numba_step(self, b: int, r: float) -> tuple[float, float]:
        x = self._numpy[b]
        return _numba_kernels(x.shape[0])["step"](x, *self._kernel_coefficients(), r, CHUNK)

    # -------------------------------------------------------------- diagnostics (not in the hot loop)
    def kkt_residual(self) -> float:
        """``max_b ‖Π(x + G) − x‖`` at the current point (one extra read of x)."""
        return float(self.kkt_rows()[0].max())

    def kkt_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per batch row, ``‖Π(x + G) − x‖`` and its rounding scale ``‖|x| + |G|‖`` (float64, CPU;
        one extra read of x for both)."""
        r = self.residual.tolist()
        parts = []
        for b, row in enumerate(self._rows):
            if self.backend == "numba":
                k = self._np_coef
                parts.append(_numba_kernels(row.numel())["stats"](self._numpy[b], k["lam"], k["lo"], k["hi"], r[b], CHUNK)[2:])
            else:
                parts.append(tuple(float(v) for v in _torch_kkt(row, self.coef, self.residual[b])))
        local = torch.tensor(parts, dtype=torch.float64, device=self.X.device).reshape(-1, 2)  # NCCL: on the device
        total = (local if self._reduce is None else self._reduce(local)).cpu()
        return total[:, 0].sqrt(), total[:, 1].sqrt()

    def incentives(self) -> torch.Tensor:
        """``G = −2r − 2λx`` at the current point, ``(B, N, 1)`` in the storage dtype (allocates N)."""
        lam = self.coef.lam.reshape(1, -1, 1)
        r = self.residual.to(self.X.dtype).reshape(-1, 1, 1)
        return -2.0 * r - 2.0 * lam * self.X
