"""The numba kernels of the fused step (:mod:`mechanism.engines.fused`), compiled lazily and cached on disk.

Importing this module imports numba (``mechanism.engines.fused`` imports it only when a numba
kernel is first needed, so ``import mechanism`` does not). The serial kernels (arrays of fewer
than ``PARALLEL_MIN_CHUNKS`` chunks: every problem below 524,288 agents) are module-level
``numba.njit(cache=True)`` functions: the first process to call one with a given signature
compiles it (seconds) and writes the machine code to numba's cache; later processes load it
(milliseconds). numba's cache lives in ``$NUMBA_CACHE_DIR`` when that is set, else in the
``__pycache__`` folder beside this file, else (read-only install) in the user-wide cache folder
(``~/.cache/numba`` on Linux). An entry is invalidated when this file's contents, the numba
version or the CPU change.

The parallel kernels are **not** cached: a kernel loaded from the cache runs the copies of its
callees that were linked into it (re-optimised with it), where a compiled one runs the callees'
own code, and for a parallel kernel the two differ in the last bits (the ``prange`` body is such
a callee, measured: the iterates after 20 steps at N = 6e5 differ). Compiling them in every
process keeps the fused step bit-identical to what it was, cache or no cache. For the serial
kernels the engine loads ``step`` and ``stats`` before the ``loop`` and ``planner`` kernels that
call them (:meth:`mechanism.engines.fused.FusedAggregative._load_callees`), so those run the
callees' own code too; checked bit for bit, cold and warm cache, against the uncached kernels.

Why module-level functions, two of each: numba's cache index is keyed by the Python function
(its file, qualified name and first line) and the call signature, **not** by the compile flags,
and a closure that captures another dispatcher gets a new index key in every process (a cache
that never hits). So the parallel and serial builds are distinct functions (``step_parallel`` /
``step_serial``, ...), made from one source by :func:`_variant`; their callers name their callees
as module globals (``_step``, ``_stats`` rebound per variant). The threading layer is chosen on
import, before any parallel kernel is compiled or loaded (a cached parallel kernel starts the
thread pool when it is loaded).

The kernels are those of the fused step, unchanged (``tests/test_fused.py`` checks bit-identity):

* ``step``: one projected gradient step of every agent, in place; returns ``(Σx, Σλx²)``.
* ``stats``: one read of ``x``: the sums and the KKT residual with its rounding scale.
* ``loop``: ``k`` steps in one call (no fastmath, so ``r = S + shift`` is IEEE addition).
* ``planner``: the whole planner loop of :func:`mechanism.core.planner.run_planner`.
"""
from __future__ import annotations

import types as _pytypes
from typing import Any, Callable

import numba
import numpy as np
from numba import types
from numba.extending import overload

__all__ = ["KERNELS", "at", "part"]

if numba.config.THREADING_LAYER == "default":
    # numba's OpenMP layer and torch's own libgomp are two spinning thread pools on the same cores:
    # measured 56 ms vs 2.5 ms per iteration at N = 6e5 on 2 cores. The workqueue layer does not spin.
    # Set NUMBA_THREADING_LAYER to choose another layer.
    numba.config.THREADING_LAYER = "workqueue"

# ``fastmath`` allows re-association (so the float64 sums vectorise: 4x faster measured) and FMA
# contraction, but not ``nnan``/``ninf``: a diverging run still produces inf/NaN that the planner
# detects. Re-association changes the last bits of a sum, not its accuracy.
FASTMATH = {"reassoc", "nsz", "contract"}


# ------------------------------------------------------------------ broadcast helpers
def at(a, i):  # pragma: no cover - replaced in compiled code
    """``a[i]`` for an array of one value per agent, ``a[0]`` for an array of one value, ``a`` for a
    scalar (one value for every agent). Resolved at compile time per argument type."""
    raise NotImplementedError


def part(a, start, stop):  # pragma: no cover - replaced in compiled code
    """``a[start:stop]`` for an array of one value per agent, ``a[0:1]`` for an array of one value,
    ``a`` for a scalar. Resolved at compile time per argument type."""
    raise NotImplementedError


@overload(at, inline="always")
def _at(a, i):
    if isinstance(a, types.Array):
        def index(a, i):
            return a[i * int(a.shape[0] > 1)]  # one value: broadcast (index 0)
        return index
    return lambda a, i: a


@overload(part, inline="always")
def _part(a, start, stop):
    if isinstance(a, types.Array):
        def window(a, start, stop):  # branch-free: numba's SSA pass warns on a conditional here
            many = int(a.shape[0] > 1)
            return a[start * many:stop * many + 1 - many]
        return window
    return lambda a, start, stop: a


# ------------------------------------------------------------------ kernel sources
# The functions below are sources, not kernels: :func:`_variant` copies each one per build.
def _step_source(x, e, lam, lo, hi, r, chunk):  # pragma: no cover - compiled
    """One projected gradient step of every agent in place; returns (Σx, Σλx²). The coefficients
    are floats (one for all agents) or arrays of one or ``n`` values: numba compiles one
    specialisation per combination (floats: a loop over views that vectorises, 1.6× measured)."""
    n = x.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    sums = np.zeros(n_chunks)
    quads = np.zeros(n_chunks)
    for k in numba.prange(n_chunks):
        a, b = k * chunk, min(n, (k + 1) * chunk)
        xs = x[a:b]
        es, ls, los, his = part(e, a, b), part(lam, a, b), part(lo, a, b), part(hi, a, b)
        s = 0.0
        q = 0.0
        for i in range(xs.shape[0]):
            xi = xs[i]
            li = at(ls, i)
            v = min(max(xi - at(es, i) * (r + li * xi), at(los, i)), at(his, i))
            xs[i] = v
            s += v
            q += li * v * v
        sums[k] = s
        quads[k] = q
    return sums.sum(), quads.sum()


def _stats_source(x, lam, lo, hi, r, chunk):  # pragma: no cover - compiled
    """One read of x: ``Σx``, ``Σλx²`` (the sums), and at residual ``r`` the KKT residual
    ``Σ(Π(x + G) − x)²`` with its rounding scale ``Σ(|x| + |G|)²``, ``G = −2r − 2λx``."""
    n = x.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    parts = np.zeros((n_chunks, 4))
    for k in numba.prange(n_chunks):
        s = 0.0
        q = 0.0
        acc = 0.0
        acc_scale = 0.0
        for i in range(k * chunk, min(n, (k + 1) * chunk)):
            xi = np.float64(x[i])
            li = at(lam, i)
            s += xi
            q += li * xi * xi
            v = min(max(xi - 2.0 * r - 2.0 * li * xi, at(lo, i)), at(hi, i))
            acc += (v - xi) * (v - xi)
            w = abs(xi) + abs(2.0 * r + 2.0 * li * xi)
            acc_scale += w * w
        parts[k, 0] = s
        parts[k, 1] = q
        parts[k, 2] = acc
        parts[k, 3] = acc_scale
    return parts[:, 0].sum(), parts[:, 1].sum(), parts[:, 2].sum(), parts[:, 3].sum()


# The compiled loop: ``k`` iterations of the step above in one call, with no Python in between.
# Compiled without fastmath, so the residual ``r = S + shift`` is the same IEEE addition the
# Python-driven loop makes in torch; the step itself is the very kernel above. Per-iteration
# sums go to ``s_out``/``q_out`` (the planner computes the losses from them in torch, exactly
# as :attr:`FusedAggregative.loss` does), so the iterates, sums and losses are bit-identical.
def _loop_source(x, e, lam, lo, hi, shift, s, k, chunk, s_out, q_out):  # pragma: no cover - compiled
    """``k`` steps of ``_step`` in place, recording ``Σx`` and ``Σλx²`` after each."""
    for j in range(k):
        s, q = _step(x, e, lam, lo, hi, s + shift, chunk)  # noqa: F821 - bound per variant
        s_out[j] = s
        q_out[j] = q


@numba.njit(cache=True)
def copy_rows(X_to, S_to, Q_to, X_from, S_from, Q_from):  # pragma: no cover - compiled
    """Copy the rows and sums ``X_from, S_from, Q_from`` into ``X_to, S_to, Q_to``."""
    for b in range(X_to.shape[0]):
        S_to[b] = S_from[b]
        Q_to[b] = Q_from[b]
        for i in range(X_to.shape[1]):
            X_to[b, i] = X_from[b, i]


def _planner_source(X2, e, lam, lo, hi, klam, klo, khi, shift, S, Q, prev, max_iters, check_every, record_every,
                    limit, test_conv, eps, tau, floor_unit, keep, chunk, rec_its, rec_loss):  # pragma: no cover
    """The planner loop of :func:`mechanism.core.planner.run_planner` for this kernel, whole: the
    same blocks, divergence test, snapshots, convergence test (rounding floors included) and
    history stride, in the same IEEE operations. ``X2`` (B, n), ``S``, ``Q`` (B,) are updated
    in place; ``e, lam, lo, hi`` are what ``_step`` takes, ``klam, klo, khi`` the arrays the KKT
    kernel ``_stats`` takes. Returns (status 0 budget / 1 converged / 2 diverged, t, diverged_at,
    records, iteration at which the kernel stopped)."""
    B, n = X2.shape[0], X2.shape[1]
    pend = np.empty((max(1, min(check_every, max_iters)), B))
    snap = np.empty((B if keep else 0, n), dtype=X2.dtype)
    snap_s, snap_q = S.copy(), Q.copy()
    if keep:
        for b in range(B):
            for i in range(n):
                snap[b, i] = X2[b, i]
    status, t, checked_t, diverged_at, n_rec, t_kernel = 0, 0, 0, -1, 0, 0
    while t < max_iters:
        end = min(max_iters, (t // check_every + 1) * check_every)
        k = end - t
        for b in range(B):
            x = X2[b]
            s = S[b]
            q = Q[b]
            for j in range(k):
                s, q = _step(x, e, lam, lo, hi, s + shift, chunk)  # noqa: F821 - bound per variant
                r = s + shift
                pend[j, b] = r * r + q
            S[b] = s
            Q[b] = q
        for i in range((t // record_every + 1) * record_every, end + 1, record_every):
            rec_its[n_rec] = i
            for b in range(B):
                rec_loss[n_rec, b] = pend[i - t - 1, b]
            n_rec += 1
        t_kernel = end
        bad = -1
        for j in range(k):
            for b in range(B):
                v = pend[j, b]
                if not np.isfinite(v) or abs(v) > limit:
                    bad = j
                    break
            if bad >= 0:
                break
        if bad >= 0:
            status, diverged_at = 2, checked_t + bad + 1
            if keep:
                copy_rows(X2, S, Q, snap, snap_s, snap_q)
            while n_rec > 0 and rec_its[n_rec - 1] > checked_t:
                n_rec -= 1
            t = checked_t
            break
        t = end
        checked_t = t
        if keep:
            copy_rows(snap, snap_s, snap_q, X2, S, Q)
        if test_conv:
            ok = True
            for b in range(B):
                before = pend[k - 2, b] if k >= 2 else prev[b]
                after = pend[k - 1, b]
                if not abs(before - after) <= max(floor_unit * max(abs(before), abs(after)), eps):
                    ok = False
            if ok:
                for b in range(B):
                    _, _, acc, acc_scale = _stats(X2[b], klam, klo, khi, S[b] + shift, chunk)  # noqa: F821
                    if not np.sqrt(acc) <= max(floor_unit * np.sqrt(acc_scale), tau):
                        ok = False
            if ok:
                status = 1
                break
        for b in range(B):
            prev[b] = pend[k - 1, b]
    return status, t, diverged_at, n_rec, t_kernel


# ------------------------------------------------------------------ the builds
def _variant(source: Callable, name: str, jit: Callable, **callees: Any) -> Any:
    """``jit`` applied to a copy of ``source`` named ``name`` (its own numba cache file: the cache
    is keyed by qualified name, not by compile flags) whose globals are those of ``source``'s module
    with ``callees`` added (``_step``/``_stats`` here, ``_rule`` in :mod:`.rule_kernels`); the copy
    has ``source``'s code, so each build compiles the same source."""
    scope = dict(source.__globals__, **callees) if callees else source.__globals__
    fn = _pytypes.FunctionType(source.__code__, scope, name, source.__defaults__, source.__closure__)
    fn.__qualname__ = name
    fn.__doc__ = source.__doc__
    fn.__module__ = source.__module__
    return jit(fn)


def _build(parallel: bool) -> dict[str, Any]:
    """The kernels of one build: ``parallel`` (``prange`` over chunks) or serial."""
    suffix = "parallel" if parallel else "serial"
    cache = not parallel  # see the module docstring: a cached parallel build changes the last bits
    fast = numba.njit(parallel=parallel, cache=cache, fastmath=FASTMATH)
    plain = numba.njit(cache=cache)
    step = _variant(_step_source, f"step_{suffix}", fast)
    stats = _variant(_stats_source, f"stats_{suffix}", fast)
    return {"step": step, "stats": stats,
            "loop": _variant(_loop_source, f"loop_{suffix}", plain, _step=step),
            "planner": _variant(_planner_source, f"planner_{suffix}", plain, _step=step, _stats=stats)}


#: ``{"parallel" | "serial": {"step", "stats", "loop", "planner": dispatcher}}`` (nothing is
#: compiled until a kernel is first called with a new signature). A caller of ``loop`` or
#: ``planner`` loads ``step`` and ``stats`` with the same argument types first (see the module
#: docstring), as :class:`mechanism.engines.fused.FusedAggregative` does.
KERNELS: dict[str, dict[str, Any]] = {"parallel": _build(True), "serial": _build(False)}
