"""The fused step's serial numba kernels are cached on disk: a second process loads what the first
compiled, and computes the same bits."""
from __future__ import annotations

import pytest
from cache_support import run_child

numba = pytest.importorskip("numba")

CHILD = r"""
import hashlib, json, torch
from mechanism import run_planner, aggregative_problem, GradientAgents
out = {}
cases = {"scalar-loop": (aggregative_problem(300), 100),
         "scalar-planner": (aggregative_problem(300), 3000),
         "vector-loop": (aggregative_problem(300, lam=torch.linspace(0.05, 0.3, 300, dtype=torch.float64),
                                             upper=torch.full((300, 1), 0.02, dtype=torch.float64)), 100)}
for name, (problem, iters) in cases.items():
    x0 = torch.rand(300, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    r = run_planner(problem, GradientAgents(2e-3), x0, max_iters=iters, record_actions=False)
    out[name] = [r.engine, hashlib.sha256(r.X.numpy().tobytes() + r.loss.numpy().tobytes()).hexdigest()]
from mechanism.engines.fused_kernels import KERNELS
out["hits"] = {k: sum(d.stats.cache_hits.values()) for k, d in KERNELS["serial"].items()}
out["misses"] = {k: sum(d.stats.cache_misses.values()) for k, d in KERNELS["serial"].items()}
print(json.dumps(out))
"""


def test_serial_kernels_are_cacheable_and_distinct():
    """Each build of each kernel is its own Python function (numba's cache index is per function,
    not per compile flag); the serial build caches on disk, the parallel build does not."""
    from numba.core.caching import NullCache

    from mechanism.engines.fused_kernels import KERNELS, copy_rows

    dispatchers = [d for build in KERNELS.values() for d in build.values()] + [copy_rows]
    names = [d.py_func.__qualname__ for d in dispatchers]
    assert len(set(names)) == len(names), names
    for name, d in KERNELS["serial"].items():
        assert not isinstance(d._cache, NullCache), name
        assert d.targetoptions.get("parallel") in (None, False), name
    for name, d in KERNELS["parallel"].items():
        assert isinstance(d._cache, NullCache), name
    assert KERNELS["parallel"]["step"].targetoptions["parallel"] is True
    assert KERNELS["serial"]["step"].targetoptions["fastmath"] == KERNELS["parallel"]["step"].targetoptions["fastmath"]
    assert "fastmath" not in KERNELS["serial"]["loop"].targetoptions
    assert not isinstance(copy_rows._cache, NullCache)


@pytest.mark.slow
def test_second_process_loads_the_kernels_and_computes_the_same_bits(tmp_path):
    """A process with an empty NUMBA_CACHE_DIR compiles the kernels and writes cache files; a second
    process with the same directory loads every kernel it uses (no compile) and ends at the same
    iterates and losses, bit for bit (the whole-loop and per-block paths, scalar and per-agent)."""
    cold = run_child(CHILD, tmp_path)
    assert sorted(p.suffix for p in tmp_path.rglob("*.nbi")) and list(tmp_path.rglob("*.nbc"))
    assert all(cold["misses"][k] >= 1 for k in ("step", "stats", "loop", "planner")), cold["misses"]
    warm = run_child(CHILD, tmp_path)
    for case in ("scalar-loop", "scalar-planner", "vector-loop"):
        assert cold[case] == warm[case], case
    assert all(warm["hits"][k] >= 1 for k in ("step", "stats", "loop", "planner")), warm["hits"]
    assert not any(warm["misses"].values()), warm["misses"]
    assert cold["scalar-planner"][0] == "fused-numba-loop"
