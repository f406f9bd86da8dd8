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


def test_space_has_large_batches_up_to_the_rollout_and_more_copies():
    from experiments.ppo_tuning import FULL_BATCH, SPACE, distributions, resolve_params, study_name

    assert FULL_BATCH in SPACE["batch_size"] and max(b for b in SPACE["batch_size"] if b != FULL_BATCH) >= 4096
    assert SPACE["n_envs"][0] == 1 and max(SPACE["n_envs"]) > 1
    assert set(distributions()) == set(SPACE)
    params = {"batch_size": FULL_BATCH, "n_steps": 16, "n_envs": 2, "learning_rate": 1e-3}
    assert resolve_params(params, n_agents=100) == {**params, "batch_size": 16 * 2 * 100}
    assert resolve_params({"batch_size": 64, "n_steps": 16}, 100)["batch_size"] == 64
    assert study_name("symmetric_large", [0, 1, 2], 20_000).endswith("-space2")  # old studies are not resumed


def test_trial_config_suggests_from_the_space():
    optuna = pytest.importorskip("optuna")
    from experiments.ppo_tuning import FULL_BATCH, trial_config

    fixed = {"learning_rate": 1e-3, "lr_schedule": "constant", "batch_size": FULL_BATCH, "n_steps": 16, "n_envs": 4,
             "ent_coef": 0.0, "log_std_init": -1.0}
    assert trial_config(optuna.trial.FixedTrial(fixed)) == fixed


def test_a_full_batch_trial_trains_on_the_whole_rollout_and_records_seconds_to_target():
    """One tiny trial (N = 2, one rollout): the batch SB3 used is the rollout, and each seed records
    agent-steps and seconds to the target gap beside the objective."""
    pytest.importorskip("stable_baselines3")
    from experiments.ppo_tuning import FULL_BATCH, _score

    params = {**EARLIER[0]["params"], "batch_size": FULL_BATCH, "n_steps": 16, "n_envs": 2}
    env = ("symmetric_parallel_v0", {"Y": 10.0, "lam": 0.1, "n_agents": 2, "mode": "one_shot", "reward_mode": "team"})
    out = _score(params, *env, seeds=[0], timesteps=64, target_gap=1e9)  # every gap reaches 1e9
    (seed,) = out["per_seed"]
    assert seed["batch_size"] == 16 * 2 * 2 and seed["agent_steps"] == 64
    assert seed["steps_to_target"] == 0 and 0 <= seed["seconds_to_target"] < 1  # the first evaluation
    assert out["steps_to_target"] == 0 and out["target_gap"] == 1e9 and seed["agent_steps_per_s"] > 0
    never = _score(params, *env, seeds=[0], timesteps=64, target_gap=1e-300)
    assert never["steps_to_target"] is None and never["seconds_to_target"] is None


@pytest.mark.parametrize("bad, words", [({"batch_size": 100}, "batch_size=100"), ({"lr": 1e-3}, "unknown hyperparameter 'lr'"),
                                         ({"learning_rate": 1.0}, "learning_rate=1.0"), ([1], "must be a dict"),
                                         ({"n_envs": True}, "n_envs=True")])
def test_enqueued_configurations_are_checked_against_the_space(bad, words):
    from experiments.ppo_tuning import check_space_params
    from mechanism.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=words.replace("(", r"\(").replace("[", r"\[")):
        check_space_params(bad, option="enqueue")
    check_space_params({"batch_size": "full", "n_envs": 4, "learning_rate": 1e-3})


@pytest.mark.slow
def test_an_enqueued_change_runs_first_on_the_best_earlier_trial(tmp_path):
    """``enqueue=[{"batch_size": "full"}]`` tries the best warm-start configuration with a full batch."""
    pytest.importorskip("optuna")
    from experiments.ppo_tuning import run_sweep

    out = run_sweep(["symmetric_small"], [0, 1, 2], 64, 600, max_trials=1, n_startup_trials=1,
                    warm_start={"symmetric_small": EARLIER}, enqueue=[{"batch_size": "full"}])
    new = [t for t in out["trials"]["symmetric_small"] if not t["earlier"]]
    assert len(new) == 1 and new[0]["params"] == {**EARLIER[1]["params"], "n_envs": 1, "batch_size": "full"}
    assert all(s["batch_size"] == 16 * 2 for s in new[0]["per_seed"])  # n_steps 16 × N = 2: the whole rollout
    assert out["enqueued"] == [{"batch_size": "full"}]


@pytest.mark.parametrize("text, words", [("{bad", "not valid JSON"), ("[1]", "must be a JSON object"),
                                          ('{"batch_size": 7}', "batch_size=7")])
def test_ppo_sweep_refuses_a_bad_enqueue_before_running(text, words, tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("ppo_sweep", Path(__file__).resolve().parents[1] / "scripts" / "ppo_sweep.py")
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    with pytest.raises(SystemExit):
        sweep.main(["--enqueue", text, "--out", str(tmp_path / "s.json"), "--tuned", str(tmp_path / "t.json")])
    err = capsys.readouterr().err
    assert "--enqueue" in err and words in err and not list(tmp_path.iterdir())


@pytest.mark.slow
def test_a_rollout_larger_than_the_budget_is_pruned_not_trained():
    pytest.importorskip("optuna")
    from experiments.ppo_tuning import run_sweep

    # N = 2: n_steps 64 × n_envs 4 × 2 = 512 agent-steps > 300: pruned; the warm-start best (n_steps 16) runs
    out = run_sweep(["symmetric_small"], [0, 1, 2], 300, 600, max_trials=1, n_startup_trials=1,
                    warm_start={"symmetric_small": EARLIER}, enqueue=[{"n_steps": 64, "n_envs": 4}, {"n_envs": 2}])
    assert out["pruned"]["symmetric_small"] == [{"params": {**EARLIER[1]["params"], "n_steps": 64, "n_envs": 4},
                                                 "because": "rollout 512 agent-steps > budget 300"}]
    new = [t for t in out["trials"]["symmetric_small"] if not t["earlier"]]
    assert [t["params"]["n_envs"] for t in new] == [2]
