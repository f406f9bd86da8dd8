"""PPO's tuning budget: a sweep goes on from an earlier one, and parallel parts merge."""
from __future__ import annotations

import pytest

from experiments.ppo_tuning import _warm_start, merge_sweeps

EARLIER = [{"params": {"learning_rate": 1e-3, "lr_schedule": "constant", "batch_size": 1024, "n_steps": 64,
                       "ent_coef": 0.0, "log_std_init": -2.5}, "objective": -1.0},
           {"params": {"learning_rate": 3e-3, "lr_schedule": "linear", "batch_size": 64, "n_steps": 16,
                       "ent_coef": 0.01, "log_std_init": -1.0}, "objective": -3.0}]


def test_warm_start_gives_tpe_the_earlier_trials():
    """The earlier trials become completed trials of the study: TPE models them and the best is theirs."""
    optuna = pytest.importorskip("optuna")
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=2))
    _warm_start(study, EARLIER)
    assert len(study.trials) == 2 and study.best_value == -3.0
    assert study.best_params["learning_rate"] == pytest.approx(3e-3)
    # with 2 completed trials and n_startup_trials=2, the next suggestion comes from TPE's model
    trial = study.ask()
    assert 1e-4 <= trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True) <= 1e-2


def test_merge_sweeps_joins_families_and_refuses_different_settings():
    part = lambda fam, secs: {"families": {fam: "C.x"}, "trials": {fam: EARLIER}, "configs": {f"{fam}/one_shot/team": {}},  # noqa: E731
                              "seeds": [0, 1, 2], "timesteps": 20_000, "objective": "o", "space": {}, "seconds": secs}
    merged = merge_sweeps([part("assembly", 10.0), part("nonconvex", 5.0)])
    assert set(merged["families"]) == {"assembly", "nonconvex"} and merged["seconds"] == 15.0
    assert set(merged["configs"]) == {"assembly/one_shot/team", "nonconvex/one_shot/team"}
    bad = part("c", 1.0)
    bad["timesteps"] = 1000
    with pytest.raises(ValueError, match="'timesteps'"):
        merge_sweeps([part("a", 1.0), bad])
