"""The numba kernels of the other agent rules (:mod:`mechanism.engines.rules`), cached on disk.

Built as the fused step's kernels are (:mod:`mechanism.engines.fused_kernels`, whose module
docstring gives the reasons): module-level sources, one serial and one parallel build of each made
by :func:`~mechanism.engines.fused_kernels._variant` (each build its own function: numba's cache is
keyed by function and signature, not by compile flags); the serial builds are
``numba.njit(cache=True)``, the parallel ones (arrays of ``PARALLEL_MIN_CHUNKS`` chunks or more) are
compiled in every process (a cached parallel kernel runs the linked copy of its ``prange`` body and
may differ in the last bits). A caller of a ``loop_*`` kernel loads the rule's step kernel first,
with the same argument types (:meth:`mechanism.engines.rules.RuleKernel._load_callees`), so that a
loop loaded from the cache runs the step's own code, as a freshly compiled loop does: the same bits,
cache or no cache (``tests/test_rule_cache.py``). The cache lives where fused_kernels' does
(``$NUMBA_CACHE_DIR``, else ``__pycache__`` beside this file, else numba's user-wide cache); an
entry is invalidated by an edit of this file, another numba version or another CPU, **not** by an
edit of the ``at``/``part`` helpers these kernels inline from fused_kernels.py (numba stamps an
entry with its own source file only). :data:`BROADCAST_HELPERS_SHA` is there for that: a test
fails when those helpers change until it is updated, and updating it edits this file.

The four step kernels are written out, not made from one skeleton with a per-rule update inlined
into it: that version ran 1.9–4.0× slower with scalar coefficients (up to 1.2× with arrays; measured
at N = 1e5) and changed the scalar kernels' last bits. The three loops that only differ in which
state array an iteration passes share one source (``_loop_source``), with the same bits and speed.

Importing this module imports numba (and :mod:`.fused_kernels`, which defines ``at``/``part`` and
chooses numba's threading layer before any parallel kernel here is compiled or loaded).

The kernels (one pass over the agents each, chunked as the fused step: the same partial sums
whatever the number of threads; ``reassoc``/``nsz`` let the sums vectorise; no ``contract``, so every
update is the same multiplications and additions as the torch rule):

* ``heavy_ball``, ``nesterov``, ``noisy``: ``(x, w, eta, lam, lo, hi, p, r, chunk) → (Σx, Σλx²)``,
  ``w`` the velocity, the previous ``z`` or this iteration's noise, ``p`` = β or σ;
* ``satisficing`` (no fast-math flag: ``ρ(T+1) − ρT`` must not be simplified to ``ρ``): also
  returns the number of agents halted;
* ``loop_<rule>``: ``k`` iterations of the rule's kernel in one call, the sums after each written
  to ``s_out``/``q_out``.
"""
from __future__ import annotations

from typing import Any

import numba
import numpy as np

from .fused_kernels import _variant, at, part

__all__ = ["BROADCAST_HELPERS_SHA", "KERNELS", "RULES"]

#: The rules with a kernel, in the order :func:`mechanism.engines.rules.rule_name` names them.
RULES = ("heavy_ball", "nesterov", "noisy", "satisficing")

#: sha256 (first 16 hex digits) of the source of fused_kernels' ``_at`` and ``_part`` overloads, which
#: the kernels here inline: ``tests/test_rule_cache.py`` fails when they change and this is not
#: updated (an edit of this line is what invalidates this file's cache entries).
BROADCAST_HELPERS_SHA = "d97c838b87d49697"


# ------------------------------------------------------------------ kernel sources
# The functions below are sources, not kernels: :func:`_variant` copies each one per build.
def _heavy_ball_source(x, v, eta, lam, lo, hi, beta, r, chunk):  # pragma: no cover - compiled
    """Heavy ball ``v ← βv + ηG, x' ← Π(x + v), v ← x' − x`` in place; returns (Σx', Σλx'²)."""
    n = x.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    sums, quads = np.zeros(n_chunks), np.zeros(n_chunks)
    for c in numba.prange(n_chunks):
        a, b = c * chunk, min(n, (c + 1) * chunk)
        xs, vs = x[a:b], v[a:b]
        es, ls, los, his = part(eta, a, b), part(lam, a, b), part(lo, a, b), part(hi, a, b)
        s = 0.0
        q = 0.0
        for i in range(xs.shape[0]):
            xi = xs[i]
            li = at(ls, i)
            g = -(2.0 * r + (2.0 * li) * xi)
            new = min(max(xi + (beta * vs[i] + at(es, i) * g), at(los, i)), at(his, i))
            vs[i] = new - xi
            xs[i] = new
            s += new
            q += li * new * new
        sums[c] = s
        quads[c] = q
    return sums.sum(), quads.sum()


def _nesterov_source(x, zp, eta, lam, lo, hi, beta, r, chunk):  # pragma: no cover - compiled
    """Nesterov ``z ← Π(y + ηG(y)), y ← Π(z + β(z − z_prev))`` in place; returns (Σy, Σλy²)."""
    n = x.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    sums, quads = np.zeros(n_chunks), np.zeros(n_chunks)
    for c in numba.prange(n_chunks):
        a, b = c * chunk, min(n, (c + 1) * chunk)
        xs, zs = x[a:b], zp[a:b]
        es, ls, los, his = part(eta, a, b), part(lam, a, b), part(lo, a, b), part(hi, a, b)
        s = 0.0
        q = 0.0
        for i in range(xs.shape[0]):
            xi = xs[i]
            li = at(ls, i)
            g = -(2.0 * r + (2.0 * li) * xi)
            z = min(max(xi + at(es, i) * g, at(los, i)), at(his, i))
            y = min(max(z + beta * (z - zs[i]), at(los, i)), at(his, i))
            zs[i] = z
            xs[i] = y
            s += y
            q += li * y * y
        sums[c] = s
        quads[c] = q
    return sums.sum(), quads.sum()


def _noisy_source(x, noise, eta, lam, lo, hi, sigma, r, chunk):  # pragma: no cover - compiled
    """Noisy ``x ← Π(x + ηG + σε)`` in place (``noise`` = ε, drawn by torch); returns (Σx, Σλx²)."""
    n = x.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    sums, quads = np.zeros(n_chunks), np.zeros(n_chunks)
    for c in numba.prange(n_chunks):
        a, b = c * chunk, min(n, (c + 1) * chunk)
        xs, ns = x[a:b], noise[a:b]
        es, ls, los, his = part(eta, a, b), part(lam, a, b), part(lo, a, b), part(hi, a, b)
        s = 0.0
        q = 0.0
        for i in range(xs.shape[0]):
            xi = xs[i]
            li = at(ls, i)
            g = -(2.0 * r + (2.0 * li) * xi)
            new = min(max((xi + at(es, i) * g) + sigma * ns[i], at(los, i)), at(his, i))
            xs[i] = new
            s += new
            q += li * new * new
        sums[c] = s
        quads[c] = q
    return sums.sum(), quads.sum()


def _satisficing_source(x, steps, stop, eta, lam, lo, hi, h, rho, r, chunk):  # pragma: no cover - compiled
    """One satisficing step in place (an agent steps while its predicted gain exceeds the time cost
    of one more step, then halts for good); returns (Σx, Σλx², number of agents halted)."""
    n = x.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    sums, quads, halted = np.zeros(n_chunks), np.zeros(n_chunks), np.zeros(n_chunks, dtype=np.int64)
    for c in numba.prange(n_chunks):
        a, b = c * chunk, min(n, (c + 1) * chunk)
        xs, ts, ss = x[a:b], steps[a:b], stop[a:b]
        es, ls, los, his, hs = part(eta, a, b), part(lam, a, b), part(lo, a, b), part(hi, a, b), part(h, a, b)
        s = 0.0
        q = 0.0
        m = 0
        for i in range(xs.shape[0]):
            xi = xs[i]
            li = at(ls, i)
            if ss[i] < 0:
                g = -(2.0 * r + (2.0 * li) * xi)
                new = min(max(xi + at(es, i) * g, at(los, i)), at(his, i))
                dx = new - xi
                T = np.float64(ts[i])
                if g * dx - 0.5 * (at(hs, i) * (dx * dx)) > rho * (T + 1.0) - rho * T:
                    ts[i] += 1
                    xi = new
                    xs[i] = new
                else:
                    ss[i] = ts[i]
                    m += 1
            else:
                m += 1
            s += xi
            q += li * xi * xi
        sums[c] = s
        quads[c] = q
        halted[c] = m
    return sums.sum(), quads.sum(), halted.sum()


def _loop_source(x, w, eta, lam, lo, hi, p, shift, s, k, chunk, s_out, q_out):  # pragma: no cover
    """``k`` iterations of ``_rule`` (heavy ball, Nesterov or noisy: bound per variant) in place,
    recording ``Σx`` and ``Σλx²`` after each; ``_state(w, j)`` (bound too) is iteration ``j``'s
    state array: ``w`` itself (velocity, previous z) or ``w[j]`` (that iteration's noise). Returns ``k``."""
    for j in range(k):
        s, q = _rule(x, _state(w, j), eta, lam, lo, hi, p, s + shift, chunk)  # noqa: F821 - bound per variant
        s_out[j], q_out[j] = s, q
    return k


@numba.njit(inline="always")
def _same(w, j):  # pragma: no cover - compiled
    """The state array of every iteration (heavy ball: the velocity; Nesterov: the previous z)."""
    return w


@numba.njit(inline="always")
def _row(w, j):  # pragma: no cover - compiled
    """Iteration ``j``'s noise (the noisy rule)."""
    return w[j]


def _loop_satisficing_source(x, steps, stop, eta, lam, lo, hi, h, rho, shift, s, k, chunk, s_out,
                             q_out):  # pragma: no cover
    """Stops after the iteration at which every agent of the row has halted (the row is then
    fixed: the remaining outputs repeat its sums). Returns that iteration count (−1 if none)."""
    n = x.shape[0]
    done = -1
    for j in range(k):
        s, q, m = _rule(x, steps, stop, eta, lam, lo, hi, h, rho, s + shift, chunk)  # noqa: F821
        s_out[j], q_out[j] = s, q
        if m == n:
            done = j + 1
            for jj in range(j + 1, k):
                s_out[jj], q_out[jj] = s, q
            break
    return done


# per rule: its step source, its loop source and what the loop binds besides ``_rule`` (its step)
_SOURCES = {"heavy_ball": (_heavy_ball_source, _loop_source, {"_state": _same}),
            "nesterov": (_nesterov_source, _loop_source, {"_state": _same}),
            "noisy": (_noisy_source, _loop_source, {"_state": _row}),
            "satisficing": (_satisficing_source, _loop_satisficing_source, {})}


# ------------------------------------------------------------------ the builds
def _build(parallel: bool) -> dict[str, Any]:
    """The kernels of one build: ``parallel`` (``prange`` over chunks) or serial."""
    suffix = "parallel" if parallel else "serial"
    cache = not parallel  # a cached parallel build changes the last bits (fused_kernels' docstring)
    fast = numba.njit(parallel=parallel, cache=cache, fastmath={"reassoc", "nsz"})
    exact = numba.njit(parallel=parallel, cache=cache)
    plain = numba.njit(cache=cache)
    kernels = {}
    for rule, (step_source, loop_source, binds) in _SOURCES.items():
        step = _variant(step_source, f"{rule}_{suffix}", exact if rule == "satisficing" else fast)
        kernels[rule] = step
        kernels["loop_" + rule] = _variant(loop_source, f"loop_{rule}_{suffix}", plain, _rule=step, **binds)
    return kernels


#: ``{"parallel" | "serial": {rule: step kernel, "loop_" + rule: loop kernel}}`` for each rule of
#: :data:`RULES` (nothing is compiled until a kernel is first called with a new signature). A caller
#: of ``loop_<rule>`` loads ``<rule>`` with the argument types the loop passes it first (see the
#: module docstring), as :class:`mechanism.engines.rules.RuleKernel` does.
KERNELS: dict[str, dict[str, Any]] = {"parallel": _build(True), "serial": _build(False)}
