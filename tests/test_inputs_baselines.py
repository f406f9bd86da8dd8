"""Inputs the baseline layer used to accept silently (issue 20): an SB3 model evaluated on an env
it was not trained on, bad PPO settings, a bad Nash share. Each is refused with an
``InvalidParameterError`` naming both sides (or the parameter and the value)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import mbi_envs
from baselines.classical import NashPolicy
from baselines.ppo import PPOConfig, evaluate_model, load_ppo, train_ppo
from baselines.sb3_policy import TRAINED_ON, SB3Policy, trained_on
from mechanism import InvalidParameterError

TINY = PPOConfig(total_timesteps=64, n_steps=32, batch_size=64, n_epochs=1, eval_every=10**6,
                 eval_seeds=(7,), tensorboard=False)
TRAIN = ("symmetric_parallel_v0", {"n_agents": 10, "mode": "one_shot"})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A PPO model trained (briefly) on N = 10 agents of symmetric_parallel_v0, saved and reloaded."""
    out = tmp_path_factory.mktemp("ppo")
    result = train_ppo(*TRAIN, config=TINY, out_dir=out)
    return result.model, load_ppo(out / "model.zip")


def test_training_records_the_env_id_and_agent_count_and_saving_keeps_them(trained):
    model, reloaded = trained
    assert trained_on(model) == trained_on(reloaded) == {"env_id": "symmetric_parallel_v0", "n_agents": 10}


@pytest.mark.parametrize("env_id, kwargs, needles", [
    ("heterogeneous_parallel_v0", {"n_agents": 20}, ("env_id='symmetric_parallel_v0' with N=10",
                                                     "env_id='heterogeneous_parallel_v0' with N=20")),
    ("symmetric_parallel_v0", {"n_agents": 20}, ("N=10 agents of env_id='symmetric_parallel_v0'", "has N=20")),
    ("hidden_cost_v0", {}, ("'symmetric_parallel_v0'", "'hidden_cost_v0'", "N=5")),
])
def test_evaluate_refuses_a_model_trained_on_another_env_or_n(trained, env_id, kwargs, needles):
    """The issue's case: trained on N = 10 of one id, evaluated on N = 20 of another (one-shot
    observations ``[λ_i, i/(N-1)]`` have the same box at any N, so only the record tells)."""
    for model in trained:
        env = mbi_envs.make(env_id, mode="one_shot", **kwargs)
        with pytest.raises(ValueError) as exc:
            mbi_envs.evaluate(env, SB3Policy(model), seeds=[0])
        assert exc.type is InvalidParameterError
        assert all(n in str(exc.value) for n in needles), str(exc.value)
        assert env.agents == []  # refused before the env was reset
        with pytest.raises(InvalidParameterError, match="trained on"):
            evaluate_model(model, env_id, {"mode": "one_shot", **kwargs}, [0])


def test_a_model_without_a_record_is_compared_on_its_spaces(trained):
    model, _ = trained
    record = getattr(model, TRAINED_ON)
    try:
        delattr(model, TRAINED_ON)
        env = mbi_envs.make(*TRAIN[:1], **TRAIN[1])
        assert mbi_envs.evaluate(env, SB3Policy(model), seeds=[0]).records  # the right env still works
        other = mbi_envs.make("symmetric_parallel_v0", n_agents=10, mode="one_shot", true_lam=np.full(10, 0.2))
        with pytest.raises(InvalidParameterError, match=r"observation space Box.*differs from the env "
                                                        r"'symmetric_parallel_v0'.*observation space"):
            mbi_envs.evaluate(other, SB3Policy(model), seeds=[0])
    finally:
        setattr(model, TRAINED_ON, record)


def test_sb3_policy_arguments_are_checked():
    with pytest.raises(InvalidParameterError, match="model must be a Stable-Baselines3 model.*str"):
        SB3Policy("model.zip")


def test_sb3_policy_deterministic_must_be_a_bool(trained):
    with pytest.raises(InvalidParameterError, match="deterministic.*'yes'"):
        SB3Policy(trained[0], deterministic="yes")


@pytest.mark.parametrize("field, value", [("seed", -1), ("seed", 1.5), ("seed", None), ("eval_seeds", (7, -1)),
                                          ("eval_seeds", ()), ("eval_seeds", 7), ("ent_coef", -0.1),
                                          ("net_arch", (64, 0)), ("net_arch", "64"), ("tensorboard", "yes"),
                                          ("vectorized", 1), ("progress_bar", None), ("learning_rate", float("inf")),
                                          ("gamma", True), ("log_std_init", float("nan")), ("clip_range", "0.2")])
def test_ppo_config_refuses_bad_fields(field, value):
    with pytest.raises(ValueError) as exc:
        replace(TINY, **{field: value}).validate()
    assert field in str(exc.value) and (repr(value) in str(exc.value) or field == "eval_seeds"), str(exc.value)


@pytest.mark.parametrize("share", [-0.1, float("inf"), float("nan"), "0.5"])
def test_nash_share_must_be_a_finite_number_at_least_zero(share):
    with pytest.raises(InvalidParameterError) as exc:
        NashPolicy(share)
    assert "share" in str(exc.value) and repr(share) in str(exc.value)
