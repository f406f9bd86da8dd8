"""The PPO throughput comparison (experiments/ppo_throughput.py): the full-batch configuration is
the benchmark's tuned one with one minibatch of the whole rollout, and a run records what docs/ppo.md
quotes. A tiny run (one rollout of 1,600 agent-steps per configuration), not a timed test."""
from __future__ import annotations

from dataclasses import asdict

import pytest

pytest.importorskip("stable_baselines3")

from experiments.ppo_throughput import CONFIGS, COPIES, configs, markdown_table, run_comparison  # noqa: E402
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


def test_batched_env_configs_change_only_the_env_path_and_copies():
    cfgs = configs(300_800, seed=1, n_evals=10)
    assert set(cfgs) == set(CONFIGS)
    full, vec, vec4 = (asdict(cfgs[n][0]) for n in ("full-batch", "full-batch-vec", "full-batch-vec4"))
    assert {k for k in full if full[k] != vec[k]} == {"vectorized"} and vec["vectorized"] is True
    assert {k for k in full if full[k] != vec4[k]} <= {"vectorized", "n_envs", "batch_size", "total_timesteps", "eval_every"}
    assert vec4["n_envs"] == COPIES and vec4["batch_size"] == vec4["n_steps"] * COPIES * 100 == 6400
    assert vec4["total_timesteps"] == full["total_timesteps"] == 300_800  # 47 and 188 whole rollouts
    for n in ("vec", "vec4"):  # the torch PPO trains exactly the SB3 configuration it is compared with
        for impl in ("torch", "torchrl"):
            assert cfgs[f"{impl}-{n}"][0] == cfgs[f"full-batch-{n}"][0] and "torch_ppo" in cfgs[f"{impl}-{n}"][1]


def test_script_offers_every_configuration():
    from scripts.ppo_throughput import CONFIG_NAMES

    assert CONFIG_NAMES == CONFIGS


def test_bad_budget_is_refused_before_training():
    with pytest.raises(InvalidParameterError, match="timesteps"):
        configs(0, seed=0)
    with pytest.raises(InvalidParameterError, match="seeds"):
        run_comparison(100, [])
    with pytest.raises(InvalidParameterError, match="names"):
        run_comparison(100, [0], names=["tuned", "bigger"])
    with pytest.raises(InvalidParameterError, match="names"):
        run_comparison(100, [0], names=["torch-vec", "torch-vec"])


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


@pytest.mark.slow
def test_a_tiny_torch_run_is_compared_with_sb3_on_the_same_env():
    payload = run_comparison(200, [0], n_evals=1, names=["full-batch-vec", "torch-vec"])
    runs = {r["config"]: r for r in payload["runs"]}
    assert runs["torch-vec"]["implementation"] == "baselines.torch_ppo (loss='torch')"
    assert runs["full-batch-vec"]["implementation"].startswith("stable_baselines3")
    for r in runs.values():
        assert r["batch_size"] == r["rollout"] == 1600 and r["agent_steps"] == 1600 and r["n_agents"] == 100
        assert r["env_path"].startswith("batched") and r["agent_steps_per_s"] > 0 and r["final_gap"] >= 0
    versus = payload["summary"]["versus"]["torch-vec / full-batch-vec"]
    assert versus["per_seed"][0]["throughput_ratio"] > 0
    assert "Throughput ratio torch-vec / full-batch-vec" in markdown_table(payload)
