"""Inputs the env layer used to accept silently (issue 20): each is refused with an
``InvalidParameterError`` that names the parameter and the value, before any state changes,
or has a documented meaning that is tested here."""
from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
import torch

import mbi_envs
from mbi_envs import Scenario
from mbi_envs.checks import check_seed, check_seeds, require_bool, require_int, require_number_in
from mbi_envs.scenario import fixed_start
from mechanism import InvalidParameterError, aggregative_problem

from envs_support import small_env


def _names(exc: pytest.ExceptionInfo, param: str, value_text: str) -> None:
    """The error is ours and its message names the parameter and the value."""
    assert exc.type is InvalidParameterError, exc.type
    message = str(exc.value)
    assert re.search(rf"(?<!\w){re.escape(param)}(?!\w)", message), message
    assert value_text in message, message


BAD_SEEDS = [(-1, "-1"), (1.5, "1.5"), ("3", "'3'"), (True, "True"), (np.int64(-2), "-2")]


# ----------------------------------------------------------------------------- the checks themselves
def test_checks_accept_numpy_integers_and_refuse_floats_and_bools():
    assert require_int("n", np.int64(3), 1) == 3 and type(require_int("n", np.int32(3), 1)) is int
    for bad in (3.0, True, np.bool_(True), "3", None):
        with pytest.raises(InvalidParameterError, match="n must be an integer"):
            require_int("n", bad, 1)
    assert require_bool("flag", np.bool_(False)) is False
    for bad in (0, 1, "no", None):
        with pytest.raises(InvalidParameterError, match="flag must be True or False"):
            require_bool("flag", bad)
    assert check_seed(None) is None and check_seed(np.uint32(7)) == 7
    assert check_seeds(range(3)) == [0, 1, 2]
    with pytest.raises(InvalidParameterError, match=r"seeds\[1\].*-4"):
        check_seeds([0, -4])
    assert require_number_in("s", np.float32(0.5), 0, 1) == 0.5
    for bad in ("0.5", float("nan"), [0.5], True):
        with pytest.raises(InvalidParameterError, match="s must be"):
            require_number_in("s", bad, 0, 1)


# ----------------------------------------------------------------------------- private_share
@pytest.mark.parametrize("value, text", [(-1, "-1"), (2, "2"), (1.0001, "1.0001"), (float("nan"), "nan"),
                                         ("0.5", "'0.5'"), (True, "True")])
def test_private_share_outside_unit_interval_is_refused(value, text):
    with pytest.raises(ValueError) as exc:
        mbi_envs.make("symmetric_parallel_v0", n_agents=3, reward_mode="private", private_share=value)
    _names(exc, "private_share", text)
    with pytest.raises(ValueError) as exc:
        mbi_envs.make_vec("symmetric_parallel_v0", num_envs=2, n_agents=3, private_share=value)
    _names(exc, "private_share", text)


def test_private_share_ends_of_the_interval_are_accepted():
    for s in (0, 0.25, 1, np.float64(1.0)):
        assert mbi_envs.make("symmetric_parallel_v0", n_agents=3, private_share=s).private_share == float(s)


# ----------------------------------------------------------------------------- make_vec
@pytest.mark.parametrize("value, text", [(2.0, "2.0"), (True, "True"), (0, "0"), (-1, "-1"), ("2", "'2'"),
                                         (None, "None")])
def test_make_vec_num_envs_must_be_an_integer(value, text):
    with pytest.raises(ValueError) as exc:
        mbi_envs.make_vec("symmetric_parallel_v0", num_envs=value, n_agents=3)
    _names(exc, "num_envs", text)


@pytest.mark.parametrize("kwargs, param, text", [
    ({"device": "gpu"}, "device", "'gpu'"),
    ({"device": 3.5}, "device", "3.5"),
    ({"dtype": "float16"}, "dtype", "'float16'"),
    ({"dtype": "double"}, "dtype", "'double'"),
    ({"dtype": np.float32}, "dtype", "float32"),
    ({"autoreset": "no"}, "autoreset", "'no'"),
    ({"validate_actions": 1}, "validate_actions", "1"),
])
def test_make_vec_other_parameters(kwargs, param, text):
    with pytest.raises(ValueError) as exc:
        mbi_envs.make_vec("symmetric_parallel_v0", num_envs=2, n_agents=3, **kwargs)
    _names(exc, param, text)


def test_make_vec_accepts_numpy_integers_and_dtype_names():
    venv = mbi_envs.make_vec("symmetric_parallel_v0", num_envs=np.int64(2), n_agents=3, dtype="float32")
    assert venv.num_envs == 2 and type(venv.num_envs) is int and venv.dtype == torch.float32


# ----------------------------------------------------------------------------- reset(seed=...)
@pytest.mark.parametrize("seed, text", BAD_SEEDS)
def test_parallel_env_reset_refuses_bad_seeds_without_state_change(seed, text):
    env = small_env("symmetric_parallel_v0")
    env.reset(seed=0)
    env.step({a: np.array([0.5]) for a in env.agents})
    before = (env.t, env.X.copy(), list(env.agents), env._rng.bit_generator.state)
    with pytest.raises(ValueError) as exc:
        env.reset(seed=seed)
    _names(exc, "seed", text)
    assert env.t == before[0] and list(env.agents) == before[2] and env._rng.bit_generator.state == before[3]
    np.testing.assert_array_equal(env.X, before[1])


@pytest.mark.parametrize("seed, text", BAD_SEEDS)
def test_aec_env_reset_refuses_bad_seeds(seed, text):
    env = mbi_envs.make_aec("symmetric_parallel_v0", n_agents=3)
    with pytest.raises(ValueError) as exc:
        env.reset(seed=seed)
    _names(exc, "seed", text)
    from mbi_envs.scenarios import symmetric_parallel_v0
    for aec in (symmetric_parallel_v0.env(n_agents=3), symmetric_parallel_v0.raw_env(n_agents=3)):
        with pytest.raises(ValueError) as exc:
            aec.reset(seed=seed)
        _names(exc, "seed", text)


@pytest.mark.parametrize("seed, text", BAD_SEEDS + [([0, -1], "-1"), ([0, 1, 2], "3 seeds: [0, 1, 2]"), ([0, 1.5], "1.5")])
def test_vector_env_reset_refuses_bad_seeds_without_state_change(seed, text):
    venv = mbi_envs.make_vec("symmetric_parallel_v0", num_envs=2, n_agents=3)
    venv.reset(seed=0)
    states = [r.bit_generator.state for r in venv._rngs]
    with pytest.raises(ValueError) as exc:
        venv.reset(seed=seed)
    _names(exc, "seed", text)
    assert [r.bit_generator.state for r in venv._rngs] == states and venv.t == 0


@pytest.mark.parametrize("seed, text", BAD_SEEDS[:3])
def test_type_report_env_reset_refuses_bad_seeds(seed, text):
    env = mbi_envs.make("type_report_v0")
    with pytest.raises(ValueError) as exc:
        env.reset(seed=seed)
    _names(exc, "seed", text)


def test_numpy_integer_seeds_give_the_same_episode_as_python_ints():
    env = small_env("symmetric_parallel_v0")
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=np.int64(5))
    for agent in a:
        np.testing.assert_array_equal(a[agent], b[agent])
    venv = mbi_envs.make_vec("symmetric_parallel_v0", num_envs=2, n_agents=3)
    x, _ = venv.reset(seed=np.array([3, 4]))
    y, _ = venv.reset(seed=[3, 4])
    torch.testing.assert_close(x, y, rtol=0, atol=0)


def test_gymnasium_env_reset_refuses_bad_seeds_with_our_error():
    env = gym.make("mbi_envs/SymmetricParallel-v0", n_agents=3)
    env.reset(seed=np.int64(1))  # gymnasium alone refuses numpy integers
    with pytest.raises(InvalidParameterError, match=r"seed.*-1"):
        env.reset(seed=-1)


def test_gymnasium_env_refuses_bad_seeds_today():
    """Until the gym_wrapper change lands, Gymnasium's own check refuses them (naming the value)."""
    env = gym.make("mbi_envs/SymmetricParallel-v0", n_agents=3)
    with pytest.raises(Exception, match="-1"):
        env.reset(seed=-1)


# ----------------------------------------------------------------------------- scenario parameters
SCENARIO_CASES = [
    ("symmetric_parallel_v0", {"Y": -5}, "Y", "-5"),
    ("symmetric_parallel_v0", {"n_agents": 3.0}, "n_agents", "3.0"),
    ("symmetric_parallel_v0", {"n_agents": True}, "n_agents", "True"),
    ("symmetric_parallel_v0", {"start_low": -1.0}, "start_low", "-1.0"),
    ("symmetric_parallel_v0", {"start_low": 3.0, "start_high": 1.0}, "start_high", "1.0"),
    ("symmetric_parallel_v0", {"start_high": float("inf")}, "start_high", "inf"),
    ("symmetric_parallel_v0", {"x0": 100.0}, "x0", "100.0"),
    ("symmetric_parallel_v0", {"x0": -0.5}, "x0", "-0.5"),
    ("heterogeneous_parallel_v0", {"Y": -5}, "Y", "-5"),
    ("heterogeneous_parallel_v0", {"n_agents": 4.0}, "n_agents", "4.0"),
    ("hidden_cost_v0", {"Y": -1e-3}, "Y", "-0.001"),
    ("hidden_cost_v0", {"x0": 50.0}, "x0", "50.0"),
    ("dynamic_target_v0", {"Y_after": -5}, "Y_after", "-5"),
    ("dynamic_target_v0", {"Y": -5}, "Y", "-5"),
    ("dynamic_target_v0", {"switch_step": 2.0}, "switch_step", "2.0"),
    ("assembly_line_v0", {"random_start": "no"}, "random_start", "'no'"),
    ("assembly_line_v0", {"lam": -0.5}, "lam", "-0.5"),
    ("coupled_resource_v0", {"low": float("-inf")}, "low", "-inf"),
    ("coupled_resource_v0", {"x0": (20.0, 20.0)}, "x0", "(20.0, 20.0)"),
    ("coupled_resource_v0", {"random_start": 1}, "random_start", "1"),
    ("nonconvex_v0", {"random_start": "yes"}, "random_start", "'yes'"),
    ("nonconvex_v0", {"a": 0.0}, "a", "0"),
    ("effort_cost_v0", {"kappa": [1.0, 2.0]}, "kappa", "[1.0, 2.0]"),
    ("effort_cost_v0", {"kappa": -1.0}, "kappa", "-1.0"),
    ("time_cost_v0", {"time_cost": "1e-3"}, "time_cost", "'1e-3'"),
    ("time_cost_v0", {"x0": float("nan")}, "x0", "nan"),
    ("economic_dispatch_v0", {"multiplier_every": 2.0}, "multiplier_every", "2.0"),
    ("economic_dispatch_v0", {"normalized": "no"}, "normalized", "'no'"),
    ("economic_dispatch_v0", {"random_start": None}, "random_start", "None"),
    ("economic_dispatch_v0", {"demand": -1.0}, "demand", "-1.0"),
    ("supply_chain_v0", {"width": 2.0}, "width", "2.0"),
    ("supply_chain_v0", {"width": (3, 3.0, 3, 3)}, "width[1]", "3.0"),
    ("supply_chain_v0", {"depth": 4.0}, "depth", "4.0"),
    ("supply_chain_v0", {"fanout": 0}, "fanout", "0"),
    ("supply_chain_v0", {"seed": -1}, "seed", "-1"),
    ("supply_chain_v0", {"seed": 1.5}, "seed", "1.5"),
    ("supply_chain_v0", {"random_start": "no"}, "random_start", "'no'"),
    ("type_report_v0", {"n_agents": 5.0}, "n_agents", "5.0"),
    ("type_report_v0", {"agv_samples": 2.5}, "agv_samples", "2.5"),
    ("type_report_v0", {"Y": -5}, "Y", "-5"),
]


@pytest.mark.parametrize("env_id, kwargs, param, text", SCENARIO_CASES,
                         ids=[f"{c[0]}-{c[2]}={c[3]}" for c in SCENARIO_CASES])
def test_scenario_parameters_are_checked_in_build(env_id, kwargs, param, text):
    with pytest.raises(ValueError) as exc:
        mbi_envs.make(env_id, **kwargs)
    _names(exc, param, text)


def test_every_scenario_module_is_covered_by_a_parameter_case():
    covered = {case[0] for case in SCENARIO_CASES}
    assert covered >= set(mbi_envs.env_ids()) | {"type_report_v0"}


# ----------------------------------------------------------------------------- the reference in the infos
REFERENCE_EDGES = {"symmetric_parallel_v0": {"n_agents": 3, "Y": 0.0},
                   "heterogeneous_parallel_v0": {"n_agents": 3, "Y": 0.0},
                   "dynamic_target_v0": {"Y_after": 0.0, "switch_step": 1}}


# the two scenarios whose reference is a multi-start global search (never None, but 3-17 s on a
# loaded 2-core machine) run with the slow tests
GLOBAL_SEARCH = ("nonconvex_v0", "coupled_resource_v0")


@pytest.mark.parametrize("env_id", [pytest.param(e, marks=pytest.mark.slow) if e in GLOBAL_SEARCH else e
                                    for e in mbi_envs.env_ids()])
def test_every_registered_scenario_reports_its_reference(env_id):
    """No parameter value a build accepts leaves a built-in scenario without a reference: the
    infos carry ``optimal_loss`` and ``loss_gap`` at reset and after a step (defaults and edges)."""
    for kwargs in ({}, *([REFERENCE_EDGES[env_id]] if env_id in REFERENCE_EDGES else [])):
        env = small_env(env_id, **kwargs)
        _, infos = env.reset(seed=0)
        _, _, _, _, after = env.step({a: env.action_space(a).sample() * 0 + env.action_low[i]
                                      for i, a in enumerate(env.agents)})
        for info in (infos, after):
            first = info[env.possible_agents[0]]
            assert np.isfinite(first["optimal_loss"]) and np.isfinite(first["loss_gap"]), (env_id, kwargs)


def _no_reference(problem):
    return None


def test_unknown_reference_is_absent_from_the_infos_never_nan():
    """A user's scenario without a reference: neither key (documented in MechanismEnv's
    docstring), ``env.optimal_loss is None``, and ``evaluate`` reports ``loss_gap=None``."""
    problem = aggregative_problem(3, 4.0, 0.5)
    scenario = Scenario("no_reference_v0", "test", problem, 0.0, 8.0, fixed_start(1.0, (3, 1)), max_steps=3,
                        reference=_no_reference)
    env = mbi_envs.MechanismEnv(scenario)
    _, infos = env.reset(seed=0)
    _, _, _, _, after = env.step({a: np.array([1.0]) for a in env.agents})
    for info in (infos["agent_0"], after["agent_0"]):
        assert "optimal_loss" not in info and "loss_gap" not in info and np.isfinite(info["global_loss"])
    assert env.optimal_loss is None
    result = mbi_envs.evaluate(env, mbi_envs.ConstantPolicy(1.0), seeds=[0])
    assert result.records[0].loss_gap is None and result.aggregates["loss_gap"]["n"] == 0
    doc = mbi_envs.MechanismEnv.__doc__
    assert "gets neither key" in doc and "env.optimal_loss is None" in doc


# ----------------------------------------------------------------------------- evaluate
class _Counting:
    """A policy that counts its resets (evaluate must refuse bad input before the first one)."""

    def __init__(self, **attrs):
        self.resets = 0
        self.__dict__.update(attrs)

    def reset(self, env, seed=None):
        self.resets += 1

    def act(self, observations):
        return {a: np.array([0.5]) for a in observations}


@pytest.mark.parametrize("seeds, param, text", [(3, "seeds", "3"), ([0, -1], "seeds[1]", "-1"),
                                                ([0, 2.5], "seeds[1]", "2.5"), ("01", "seeds", "'01'")])
def test_evaluate_checks_every_seed_before_the_first_episode(seeds, param, text):
    env, policy = small_env("symmetric_parallel_v0"), _Counting()
    with pytest.raises(ValueError) as exc:
        mbi_envs.evaluate(env, policy, seeds=seeds)
    _names(exc, param, text)
    assert policy.resets == 0 and env.agents == []


def test_evaluate_refuses_a_policy_made_for_another_env_before_reset():
    env = small_env("symmetric_parallel_v0")  # N = 4
    other = small_env("heterogeneous_parallel_v0", n_agents=6)
    for attrs, needles in (({"n_agents": 6}, ("N=6", "N=4")),
                           ({"env_id": "heterogeneous_parallel_v0"}, ("'heterogeneous_parallel_v0'", "'symmetric_parallel_v0'")),
                           ({"observation_space": other.observation_space("agent_0")}, ("observation space", "differs")),
                           ({"action_space": small_env("symmetric_parallel_v0", Y=3.0).action_space("agent_0")},
                            ("action space", "differs", "high=[6.]", "high=[20.]"))):
        policy = _Counting(**attrs)
        with pytest.raises(InvalidParameterError) as exc:
            mbi_envs.evaluate(env, policy, seeds=[0])
        assert all(n in str(exc.value) for n in needles), (attrs, str(exc.value))
        assert policy.resets == 0 and env.agents == []
    assert mbi_envs.evaluate(env, _Counting(n_agents=4, env_id="symmetric_parallel_v0",
                                            observation_space=env.observation_space("agent_0")), seeds=[0]).records


def test_constant_and_mbi_policies_are_checked_before_the_env_is_reset():
    env = small_env("symmetric_parallel_v0")  # N = 4
    with pytest.raises(InvalidParameterError, match=r"shape \(3,\).*'symmetric_parallel_v0'.*\(4, 1\)"):
        mbi_envs.evaluate(env, mbi_envs.ConstantPolicy([0.1, 0.2, 0.3]), seeds=[0])
    assert env.agents == [] and env.X is None
    from mechanism import GradientAgents
    one_shot = small_env("symmetric_parallel_v0", mode="one_shot")
    with pytest.raises(InvalidParameterError, match="mode='one_shot'"):
        mbi_envs.evaluate(one_shot, mbi_envs.MBIPolicy(GradientAgents(0.01)), seeds=[0])
    assert one_shot.agents == []


def test_reset_options_must_be_a_dict_and_x0_needs_the_iterative_mode():
    env = small_env("symmetric_parallel_v0")
    with pytest.raises(ValueError) as exc:
        env.reset(seed=0, options=[0.3])
    _names(exc, "options", "[0.3]")
    one_shot = small_env("symmetric_parallel_v0", mode="one_shot")
    with pytest.raises(ValueError) as exc:
        one_shot.reset(seed=0, options={"x0": np.full(4, 0.3)})
    _names(exc, "options['x0']", "0.3")
    assert one_shot.agents == []


def test_wrong_types_where_an_env_or_a_policy_is_expected():
    with pytest.raises(ValueError) as exc:
        mbi_envs.MechanismEnv("symmetric_parallel_v0")
    _names(exc, "scenario", "'symmetric_parallel_v0'")
    with pytest.raises(ValueError) as exc:
        mbi_envs.ConstantPolicy("a")
    _names(exc, "x", "'a'")
    with pytest.raises(ValueError) as exc:
        mbi_envs.evaluate(lambda: 5, mbi_envs.ConstantPolicy(0.1), seeds=[0])
    _names(exc, "env_or_factory", "5")
