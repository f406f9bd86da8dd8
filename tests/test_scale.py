"""The scale engine, sharding over processes and the scale CLI's argument checks."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from experiments.scale import ScaleConfig, _fits, fit_exponent, marginal_seconds, run_scale, target_checks, write_outputs
from mechanism import GradientAgents, InvalidParameterError, aggregative_problem, run_planner
from mechanism.engines.distributed import SHARD_ALIGN, ShardSpec, initial_actions, launch_local, run_sharded, shard_range


def test_shards_cover_all_agents_once_and_align():
    for n, w in [(1, 1), (SHARD_ALIGN * 5 + 3, 2), (10**7, 3), (SHARD_ALIGN * 4, 4)]:
        ranges = [shard_range(n, r, w) for r in range(w)]
        assert ranges[0][0] == 0 and ranges[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        assert all(start % SHARD_ALIGN == 0 for start, _ in ranges)
    with pytest.raises(InvalidParameterError, match="rank"):
        shard_range(10, 2, 2)


def test_initial_actions_are_the_same_numbers_whoever_draws_them():
    n = (1 << 20) * 2 + 12345
    full = initial_actions(n, seed=3)
    parts = [initial_actions(n, seed=3, start=a, stop=b) for a, b in [(0, 1000), (1000, 1_500_000), (1_500_000, n)]]
    assert torch.equal(torch.cat(parts), full)
    assert not torch.equal(initial_actions(1000, seed=4), full[:1000])
    assert float(full.min()) >= 0.0 and float(full.max()) < 2.0


def test_run_sharded_single_process_equals_planner():
    spec = ShardSpec(n_agents=5000, iters=25, check_every=5)
    out = run_sharded(spec)
    problem = aggregative_problem(5000)
    ref = run_planner(problem, GradientAgents(spec.step_size), initial_actions(5000, 0), method="analytic",
                      max_iters=25, eps=0, tau=0, record_actions=False)
    assert out["final_loss"] == pytest.approx(float(ref.loss[0]), rel=1e-12)
    assert out["iterations"] == 25


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process():
    """World size 2 over gloo: the same final loss and actions as one process, to 1e-12."""
    spec = ShardSpec(n_agents=3 * SHARD_ALIGN + 777, iters=40, lam=0.3, lower=0.0, check_every=8, dtype="float64")
    one = run_sharded(spec)
    two = launch_local(spec, world_size=2, timeout=300)
    assert [r["rank"] for r in two] == [0, 1]
    assert two[0]["stop"] == two[1]["start"] and two[1]["stop"] == spec.n_agents
    for r in two:
        assert r["final_loss"] == pytest.approx(one["final_loss"], rel=1e-12)
        assert r["status"] == one["status"] and r["iterations"] == one["iterations"]
    assert two[0]["x_head"] == pytest.approx(one["x_head"], rel=1e-12, abs=1e-15)


def test_fit_exponent_recovers_a_known_slope():
    ns = np.array([1e4, 1e5, 1e6, 1e7])
    rng = np.random.default_rng(0)
    linear = fit_exponent(ns, 3e-9 * ns * np.exp(rng.normal(0, 0.05, 4)))
    assert linear["ci_low"] < 1.0 < linear["ci_high"] and abs(linear["slope"] - 1.0) < 0.1
    quadratic = fit_exponent(ns, 1e-12 * ns ** 2)
    assert quadratic["slope"] == pytest.approx(2.0)
    assert fit_exponent([1e4], [1.0])["slope"] is None


def test_target_checks_decide_from_records():
    rec = {"n_agents": 10**6, "method": "fused", "world_size": 1, "device": "cpu", "dtype": "float32",
           "speedup_vs_mock": 120.0, "agent_updates_per_second": 1e9, "ratio_to_numpy_pass": 2.0}
    checks = {c["target"]: c["passed"] for c in target_checks([rec])}
    assert checks["N=1e6 CPU: fused iteration >= 90x faster than the mock step"] is True
    assert checks["N=1e8 float32 CPU: >= 0.5e9 agent-updates/s"] is None
    rec["speedup_vs_mock"] = 80.0
    assert target_checks([rec])[0]["passed"] is False


def test_tiny_scale_run_writes_outputs_and_times_the_real_planner(tmp_path):
    cfg = ScaleConfig(n_agents=(1000, 4000, 16000), iters=4, repeats=1, methods=("fused", "analytic"),
                      dtype="float64", fit_min_n=1000, mock_budget_seconds=0.05)
    payload = run_scale(cfg, progress=False, log=lambda _: None)
    paths = write_outputs(payload, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert len(data["records"]) == 6 and paths["png"].stat().st_size > 1000
    assert "| 1e+03 | fused |" in paths["md"].read_text()
    for rec in data["records"]:
        n = rec["n_agents"]
        problem = aggregative_problem(n)
        ref = run_planner(problem, GradientAgents(0.5 / (n + 0.1)), initial_actions(n, 0), method="autograd",
                          max_iters=4, eps=0, tau=0, record_actions=False)
        assert rec["final_loss"] == pytest.approx(float(ref.loss[0]), rel=1e-12)
        assert rec["agent_updates_per_second"] == pytest.approx(n / rec["seconds_per_iteration"])
        assert rec["mock_seconds_per_iteration"] > 0 and rec["optimal_loss"] == pytest.approx(100 * 0.1 / (n + 0.1))
    resolved = [r for r in data["records"] if r["method"] == "fused" and r["marginal_resolved"]]
    assert data["fits"]["fused"]["points"] == len(resolved)


def test_marginal_seconds_marks_an_unresolved_difference():
    assert marginal_seconds(3.0, 1.0, 4) == (0.5, True)
    assert marginal_seconds(1.0, 1.5, 4) == (0.25, False)   # noise: the bound, flagged
    assert marginal_seconds(1.0, 1.0, 4) == (0.25, False)


def test_fits_leave_out_unresolved_points_and_never_write_nan(tmp_path):
    """All points equal gave linregress a NaN stderr, and json.dumps(allow_nan=False) failed (CI, 2026-12-01)."""
    flat = fit_exponent([1e3, 4e3, 1.6e4], [1e-6, 1e-6, 1e-6])
    assert flat == {"slope": 0.0, "ci_low": None, "ci_high": None, "points": 3}
    cfg = ScaleConfig(n_agents=(1000, 4000, 16000), methods=("fused",), fit_min_n=1000)
    rows = [{"n_agents": n, "method": "fused", "seconds_per_iteration": 1e-6 * n, "marginal_resolved": ok,
             "mock_seconds_per_iteration": None} for n, ok in [(1000, False), (4000, True), (16000, True)]]
    assert _fits(rows, cfg)["fused"]["points"] == 2


def test_scale_config_and_cli_reject_bad_input(tmp_path):
    with pytest.raises(InvalidParameterError, match="n_agents"):
        ScaleConfig(n_agents=(0,)).validate()
    with pytest.raises(InvalidParameterError, match="method"):
        ScaleConfig(methods=("magic",)).validate()
    with pytest.raises(InvalidParameterError, match="world_size"):
        ScaleConfig(methods=("analytic",), world_size=2).validate()
    bad = subprocess.run([sys.executable, "scripts/scale.py", "--n-agents", "1e3,abc", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--n-agents" in bad.stderr and "abc" in bad.stderr


def test_fit_exponent_interval_is_students_t_on_the_regression_stderr():
    """Mutation run 7: the interval's formula, the point-count thresholds and the keys were untested."""
    import scipy.stats

    ns = [1e3, 1e4, 1e5, 1e6]
    secs = [2e-6, 1.7e-5, 2.1e-4, 1.9e-3]
    got = fit_exponent(ns, secs)
    x, y = np.log10(ns), np.log10(secs)
    ref = scipy.stats.linregress(x, y)
    half = scipy.stats.t.ppf(0.975, 2) * ref.stderr
    assert got["slope"] == pytest.approx(ref.slope, rel=1e-12) and got["points"] == 4
    assert got["ci_low"] == pytest.approx(ref.slope - half, rel=1e-12)
    assert got["ci_high"] == pytest.approx(ref.slope + half, rel=1e-12)
    three = fit_exponent(ns[:3], secs[:3])
    assert three["ci_low"] is not None and three["ci_high"] is not None and three["points"] == 3
    two = fit_exponent(ns[:2], secs[:2])
    assert set(two) == {"slope", "ci_low", "ci_high", "points"} and two["points"] == 2
    assert two["ci_low"] is None and two["ci_high"] is None and two["slope"] == pytest.approx(np.log10(8.5))
    assert fit_exponent(ns[:1], secs[:1]) == {"slope": None, "ci_low": None, "ci_high": None, "points": 1}


def test_fits_take_records_from_fit_min_n_and_old_records_count_as_resolved():
    cfg = ScaleConfig(n_agents=(1000, 4000, 16000), methods=("fused",), fit_min_n=4000)
    rows = [{"n_agents": n, "method": "fused", "seconds_per_iteration": 1e-9 * n,
             "mock_seconds_per_iteration": m} for n, m in [(1000, 1e-6), (4000, 4e-6), (16000, None)]]
    fits = _fits(rows, cfg)  # no "marginal_resolved" key: records written before it existed
    assert fits["fused"]["points"] == 2 and fits["fused"]["slope"] == pytest.approx(1.0)
    assert fits["mock"]["points"] == 1 and fits["fit_min_n"] == 4000
