"""The agent rules' serial numba kernels (mechanism/engines/rule_kernels.py) are cached on disk: a
second process loads what the first compiled, and computes the same bits (as tests/test_fused_cache.py
checks for the fused step, on which simultaneous best responses run)."""
from __future__ import annotations

import pytest
from cache_support import run_child

numba = pytest.importorskip("numba")

# One run per rule, forced onto the compiled kernels; the hash covers the iterates, the loss history
# and the rule's own state (velocity, previous z, efforts and stop times, the generator's state).
CHILD = r"""
import hashlib, json, torch
from mechanism import (BestResponseAgents, MomentumAgents, NoisyAgents, SatisficingAgents, aggregative_problem,
                       run_planner)
n = 200
eta = 0.5 / (n + 0.4)
make = {"heavy_ball": lambda: MomentumAgents(0.3 * eta, beta=0.8),
        "nesterov": lambda: MomentumAgents(0.3 * eta, beta=0.8, nesterov=True),
        "noisy": lambda: NoisyAgents(eta, noise_std=1e-3, seed=5),
        "satisficing": lambda: SatisficingAgents(eta, time_cost=1e-12),
        "best_response": lambda: BestResponseAgents(damping=2.5 * eta)}
problem = aggregative_problem(n, Y=4.0, lam=0.2, upper=1.2)
x0 = 2.0 * torch.rand(2, n, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
out = {}
for rule, policy in ((rule, f()) for rule, f in make.items()):
    r = run_planner(problem, policy, x0, method="fused", max_iters=300, eps=0.0, tau=0.0, record_actions=False)
    state = [t for t in (getattr(policy, a, None) for a in ("_velocity", "_z_prev", "steps_taken", "stop_time"))
             if isinstance(t, torch.Tensor)]
    if rule == "noisy":
        state.append(policy._rng.get_state())
    h = hashlib.sha256(r.X.numpy().tobytes() + r.history.loss.tobytes())
    for t in state:
        h.update(t.contiguous().numpy().tobytes())
    out[rule] = [r.engine, r.iterations, h.hexdigest()]
from mechanism.engines.rule_kernels import KERNELS
out["hits"] = {k: sum(d.stats.cache_hits.values()) for k, d in KERNELS["serial"].items()}
out["misses"] = {k: sum(d.stats.cache_misses.values()) for k, d in KERNELS["serial"].items()}
print(json.dumps(out))
"""
RULES = ("heavy_ball", "nesterov", "noisy", "satisficing")


def test_serial_rule_kernels_are_cacheable_and_distinct():
    """Each build of each kernel is its own Python function (numba's cache index is per function, not
    per compile flag); the serial build caches on disk, the parallel one does not; the flags are the
    rules' (no FMA contraction, no fast-math at all for satisficing)."""
    from numba.core.caching import NullCache

    from mechanism.engines.fused_kernels import KERNELS as FUSED
    from mechanism.engines.rule_kernels import KERNELS, RULES as KERNEL_RULES

    assert KERNEL_RULES == RULES
    dispatchers = [d for kernels in (KERNELS, FUSED) for build in kernels.values() for d in build.values()]
    names = [d.py_func.__qualname__ for d in dispatchers]
    assert len(set(names)) == len(names), names
    for build, cached in (("serial", True), ("parallel", False)):
        assert sorted(KERNELS[build]) == sorted(RULES + tuple("loop_" + r for r in RULES))
        for name, d in KERNELS[build].items():
            assert isinstance(d._cache, NullCache) is not cached, (build, name)
            assert "fastmath" not in d.targetoptions or set(d.targetoptions["fastmath"]) == {"reassoc", "nsz"}
        for rule in RULES:
            assert bool(KERNELS[build][rule].targetoptions.get("parallel")) is (build == "parallel"), (build, rule)
            assert "fastmath" not in KERNELS[build]["loop_" + rule].targetoptions
    assert "fastmath" not in KERNELS["serial"]["satisficing"].targetoptions
    assert set(KERNELS["serial"]["heavy_ball"].targetoptions["fastmath"]) == {"reassoc", "nsz"}


def test_a_change_of_the_inlined_broadcast_helpers_is_not_missed():
    """numba invalidates a cache entry when its own file changes, not when a helper it inlines from
    another file does: the rule kernels record the hash of fused_kernels' ``at``/``part``."""
    import hashlib
    import inspect

    from mechanism.engines import fused_kernels, rule_kernels

    source = inspect.getsource(fused_kernels._at) + inspect.getsource(fused_kernels._part)
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == rule_kernels.BROADCAST_HELPERS_SHA, (
        "fused_kernels' at/part changed: set BROADCAST_HELPERS_SHA in mechanism/engines/rule_kernels.py to the "
        "new hash (that edit invalidates the rule kernels' cached entries, which inline the old helpers)")


@pytest.mark.slow
def test_second_process_loads_the_rule_kernels_and_computes_the_same_bits(tmp_path):
    """A process with an empty NUMBA_CACHE_DIR compiles every rule's step and loop kernels and writes
    cache files; a second process with the same directory loads them all (no compile) and ends at the
    same iterates, losses and rule state, bit for bit, for heavy ball, Nesterov, noisy (seeded),
    satisficing and simultaneous best responses (the fused gradient kernel). The step kernels are
    loaded too (hits), before their loops: a loop loaded first runs its own linked copy of the step,
    whose sums differ in the last bits (checked: the hashes differ without that)."""
    cold = run_child(CHILD, tmp_path)
    assert list(tmp_path.rglob("*rule_kernels*.nbi")) and list(tmp_path.rglob("*rule_kernels*.nbc"))
    assert all(cold["misses"][k] >= 1 for k in cold["misses"]), cold["misses"]
    warm = run_child(CHILD, tmp_path)
    for rule in RULES + ("best_response",):
        assert cold[rule] == warm[rule], rule
    assert [cold[rule][0] for rule in RULES] == [f"rule-numba-{rule}" for rule in RULES]
    assert cold["best_response"][0].startswith("fused-numba")
    assert cold["satisficing"][1] > 100  # the agents keep stepping: not a run that halts at once
    assert all(warm["hits"][k] >= 1 for k in warm["hits"]), warm["hits"]
    assert not any(warm["misses"].values()), warm["misses"]
