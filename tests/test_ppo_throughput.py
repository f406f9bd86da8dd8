"""The PPO throughput comparison (experiments/ppo_throughput.py): the full-batch configuration is
the benchmark's tuned one with one minibatch of the whole rollout, and a run records what docs/ppo.md
quotes. A tiny run (one rollout of 1,600 agent-steps per configuration), not a timed test."""
from __future__ import annotations

from dataclasses import asdict

import pytest

pytest.importorskip("stable_baselines3")

from experiments.ppo_throughput import configs, markdown_table, run_comparison  # noqa: E402
from mechanism.errors import InvalidParameterError  # noqa: E402


def test_full_batch_is_the_tuned_config_with_the_rollout_as_batch():
    cfgs = configs(200, seed=0, n_evals=1)
    (tuned, source), (full, full_source) = cfgs["tuned"], cfgs["full-batch"]
    assert "ppo_tuned.json" in source and "rollout" in full_source
    rollout = tuned.n_steps * tuned.n_envs * 100
    assert full.batch_size == rollout and tuned.batch_size < rollout
    differs = {k for k, v in asdict(full).items() if asdict(tuned)[k] != v}
    assert differs == {"batch_size"}
    assert tuned.total_timesteps == rollout and tuned.torch_threads == 1  # rounded up to one whole rollout


def test_bad_budget_is_refused_before_training():
    with pytest.raises(InvalidParameterError, match="timesteps"):
        configs(0, seed=0)
    with pytest.raises(InvalidParameterError, match="seeds"):
        run_comparison(100, [])
    with pytest.raises(InvalidParameterError, match="names"):
        run_comparison(100, [0], names=["tuned", "bigger"])


@pytest.mark.slow
def test_a_tiny_run_records_every_field():
    payload = run_comparison(200, [0], n_evals=1)
    runs = {r["config"]: r for r in payload["runs"]}
    assert set(runs) == {"tuned", "full-batch"}
    full = runs["full-batch"]
    assert full["batch_size"] == full["rollout"] == 1600 and runs["tuned"]["batch_size"] < 1600
    for r in runs.values():
        assert r["agent_steps"] == 1600 and r["n_agents"] == 100
        assert r["train_seconds"] > 0 and r["agent_steps_per_s"] > 0 and r["final_gap"] >= 0
        assert r["seconds_with_evaluations"] >= r["train_seconds"]
        assert set(r) >= {"best_gap", "steps_to_target", "seconds_to_target", "target_gap", "curve"}
    meta = payload["metadata"]
    assert len(meta["loadavg_before"]) == 3 and meta["torch_threads"] == 1
    assert payload["summary"]["per_seed"][0]["throughput_ratio"] > 0
    assert "| full-batch | 0 | 1600 |" in markdown_table(payload)
