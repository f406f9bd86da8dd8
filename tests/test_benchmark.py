"""The head-to-head benchmark harness: a tiny configuration end to end (seconds)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from experiments.benchmark import (EPSILONS, MBIContender, ClassicalContender, PPOContender, build_payload,
                                   run_benchmark, scenarios, to_markdown, time_to_accuracy)
from experiments.plots import plot_all
from experiments.stats import median_ci

ROOT = Path(__file__).resolve().parents[1]

RECORD_KEYS = {"scenario": str, "env_id": str, "contender": str, "family": str, "seed": int, "status": str,
               "budget": dict, "params": dict, "n_agents": int, "final_loss": (float, type(None)),
               "optimal_loss": (float, type(None)), "loss_gap": (float, type(None)),
               "relative_gap": (float, type(None)), "distance_to_optimum": (float, type(None)),
               "best_gap": (float, type(None)), "env_steps": int, "oracle_evaluations": int,
               "wall_seconds": (float, int), "time_to_accuracy": list, "curve": dict, "reach": dict,
               "after_switch": (dict, type(None)), "notes": str}


def _walk_numbers(value, path="$"):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_numbers(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_numbers(v, f"{path}[{i}]")
    elif isinstance(value, float):
        yield path, value
    elif value is not None and not isinstance(value, (str, int, bool)):
        raise AssertionError(f"{path}: unexpected type {type(value).__name__}")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    scen = [s for s in scenarios("quick", budget=0.2, keys=["C.2-N2", "C.15"])]
    scen[0] = type(scen[0])(**{**scen[0].__dict__, "mbi_iterations": 400, "ppo_timesteps": 512})
    scen[1] = type(scen[1])(**{**scen[1].__dict__, "mbi_iterations": 300, "switch_step": 150,
                                "env_kwargs": {**scen[1].env_kwargs, "switch_step": 150}})
    contenders = [MBIContender("gradient-paper"), MBIContender("gradient-max"), MBIContender("satisficing"),
                  PPOContender("one_shot", "team", n_evals=4), ClassicalContender("centralized"),
                  ClassicalContender("nash")]
    records = run_benchmark(scen, [0], contenders)
    payload = build_payload(records, scen, {"mode": "test", "budget": 0.2, "seeds": [0], "total_seconds": 1.0,
                                            "machine": "test"})
    text = json.dumps(payload, allow_nan=False)  # raises on NaN/inf
    (out / "benchmark.json").write_text(text)
    (out / "benchmark.md").write_text(to_markdown(payload))
    pngs = plot_all(payload["records"], out)
    return out, json.loads(text), pngs


@pytest.mark.slow  # the fixture runs every contender, PPO included
def test_tiny_benchmark_end_to_end(tiny):
    """One test (the fixture runs once per xdist worker): outputs, schema, a real property."""
    _outputs_written(tiny)
    _schema_and_finite_numbers(tiny)
    _largest_stable_step_reaches_1e_8_and_curve_is_monotone(tiny)


def _outputs_written(tiny):
    out, payload, pngs = tiny
    assert (out / "benchmark.json").stat().st_size > 0
    md = (out / "benchmark.md").read_text()
    assert "Headline" in md and "C.2-N2" in md and "C.15" in md
    assert len(pngs) == 2 and all(p.exists() and p.stat().st_size > 1000 for p in pngs)


def _schema_and_finite_numbers(tiny):
    _, payload, _ = tiny
    assert payload["schema_version"] == 1
    assert set(payload) >= {"config", "epsilons", "scenarios", "records", "summary", "headline"}
    for path, x in _walk_numbers(payload):
        assert math.isfinite(x), path
    for r in payload["records"]:
        assert set(r) == set(RECORD_KEYS), set(r) ^ set(RECORD_KEYS)
        for key, typ in RECORD_KEYS.items():
            assert isinstance(r[key], typ), (key, r[key])
        assert [e["epsilon"] for e in r["time_to_accuracy"]] == pytest.approx(list(EPSILONS))
        assert set(r["curve"]) == {"env_steps", "seconds", "loss_gap"}
        assert len(r["curve"]["env_steps"]) == len(r["curve"]["seconds"]) == len(r["curve"]["loss_gap"])
        assert r["family"] in {"mbi", "ppo", "classical"}
    families = {r["family"] for r in payload["records"]}
    assert families == {"mbi", "ppo", "classical"}
    dyn = [r for r in payload["records"] if r["scenario"] == "C.15"]
    assert dyn and all(r["after_switch"] is not None and "final_gap" in r["after_switch"] for r in dyn)
    head = payload["headline"]
    assert len(head) == 1 and head[0]["ppo"] == "ppo-oneshot-team" and head[0]["scenario"] == "C.2-N2"


def _largest_stable_step_reaches_1e_8_and_curve_is_monotone(tiny):
    _, payload, _ = tiny
    run = next(r for r in payload["records"] if r["scenario"] == "C.2-N2" and r["contender"] == "mbi-gradient-max")
    tta = {e["epsilon"]: e for e in run["time_to_accuracy"]}
    assert tta[1e-8]["env_steps"] is not None and run["loss_gap"] <= 1e-8
    for rec in payload["records"]:
        reached = [(e["env_steps"], e["seconds"]) for e in rec["time_to_accuracy"] if e["env_steps"] is not None]
        # once an ε is missed, every smaller ε is missed too; steps and seconds never decrease
        assert all(e["env_steps"] is None for e in rec["time_to_accuracy"][len(reached):])
        assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(reached, reached[1:]))
    paper = next(r for r in payload["records"] if r["scenario"] == "C.2-N2" and r["contender"] == "mbi-gradient-paper")
    assert paper["loss_gap"] > run["loss_gap"]  # the paper's η = 1e-3 is 500× below the limit here


def test_time_to_accuracy_and_median_ci():
    tta = time_to_accuracy([0, 2, 4, 6], [0.0, 0.1, 0.2, 0.3], [1.0, 0.05, None, 1e-3], epsilons=(1e-1, 1e-2, 1e-4))
    assert [e["env_steps"] for e in tta] == [2, 6, None]
    assert median_ci([1.0])["ci_low"] is None and median_ci([1.0])["median"] == 1.0
    stat = median_ci([1.0, None, None])
    assert stat["median"] is None and stat["n_null"] == 2
    stat = median_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert stat["median"] == 3.0 and stat["ci_low"] <= 3.0 <= stat["ci_high"]


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="C.99"):
        scenarios("quick", keys=["C.99"])
    with pytest.raises(ValueError, match="budget"):
        scenarios("quick", budget=0)
    with pytest.raises(ValueError, match="mode"):
        scenarios("huge")
