"""The PPO sweep in a shared Optuna storage: a rerun resumes the study instead of starting over,
and --max-trials counts the trials of every run on the study."""
from __future__ import annotations

import pytest

from experiments.ppo_tuning import journal_storage, run_sweep


@pytest.mark.slow
def test_a_rerun_on_the_same_storage_resumes_the_study(tmp_path):
    pytest.importorskip("optuna")
    path = str(tmp_path / "sweep.journal")
    kw = dict(families=["symmetric_small"], seeds=[0, 1, 2], timesteps=1024, time_budget_s=600,
              n_startup_trials=1)  # 1024 ≥ every rollout at N = 2 (128 × 4 × 2): no trial is pruned
    first = run_sweep(**kw, max_trials=1, storage=journal_storage(path))
    assert [t["number"] for t in first["trials"]["symmetric_small"]] == [0]
    second = run_sweep(**kw, max_trials=2, storage=journal_storage(path))  # e.g. after a kill: goes on
    trials = second["trials"]["symmetric_small"]
    assert [t["number"] for t in trials] == [0, 1]
    assert trials[0] == first["trials"]["symmetric_small"][0]  # the default trial was not run again
    assert trials[0]["per_seed"] and second["configs"]["symmetric_small/one_shot/team"]["trials"] == 2
    third = run_sweep(**kw, max_trials=2, storage=journal_storage(path))  # nothing left to do
    assert len(third["trials"]["symmetric_small"]) == 2
