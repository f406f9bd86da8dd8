"""Bad input raises clear ValueErrors (naming parameter and value) without changing state."""
from __future__ import annotations


import numpy as np
import pytest

import mbi_envs
from envs_support import small_env


def _snapshot(env):
    return (env.t, env.X, env.global_loss, list(env.agents), env._rng.bit_generator.state)


def _assert_same(a, b):
    assert a[0] == b[0] and a[2] == b[2] and a[3] == b[3] and a[4] == b[4]
    np.testing.assert_array_equal(a[1], b[1])


GOOD = {f"agent_{i}": np.array([0.5]) for i in range(4)}


@pytest.mark.parametrize("actions, match", [
    ({**GOOD, "agent_0": np.array([np.nan])}, "agent_0.*finite"),
    ({**GOOD, "agent_2": np.array([np.inf])}, "agent_2.*finite"),
    ({**GOOD, "agent_1": np.array([0.5, 0.5])}, "agent_1.*shape"),
    ({**GOOD, "agent_1": np.zeros((1, 2))}, "agent_1.*shape"),
    ({**GOOD, "agent_9": np.array([0.5])}, "unknown agent.*agent_9"),
    ({k: v for k, v in GOOD.items() if k != "agent_3"}, "missing.*agent_3"),
    ([0.5, 0.5, 0.5, 0.5], "dict"),
])
def test_bad_actions_raise_without_state_change(actions, match):
    env = small_env("symmetric_parallel_v0", reward_mode="difference")
    env.reset(seed=0)
    env.step(GOOD)
    before = _snapshot(env)
    with pytest.raises(ValueError, match=match):
        env.step(actions)
    _assert_same(before, _snapshot(env))
    env.step(GOOD)  # still usable
    assert env.t == 2


def test_out_of_box_actions_are_projected():
    env = small_env("symmetric_parallel_v0")
    env.reset(seed=0)
    env.step({**GOOD, "agent_0": np.array([-3.0]), "agent_1": np.array([1e9])})
    assert env.X[0, 0] == 0.0 and env.X[1, 0] == env.action_space("agent_1").high[0]


def test_scalar_action_accepted_for_one_dimensional_agents():
    env = small_env("symmetric_parallel_v0")
    env.reset(seed=0)
    env.step({a: 0.25 for a in env.agents})
    assert (env.X == 0.25).all()


def test_step_before_reset_and_after_end():
    env = small_env("assembly_line_v0", mode="one_shot")
    with pytest.raises(ValueError, match="reset"):
        env.step({"agent_0": np.array([0.0]), "agent_1": np.array([0.0])})
    env.reset(seed=0)
    env.step({"agent_0": np.array([0.0]), "agent_1": np.array([0.0])})
    with pytest.raises(ValueError, match="reset"):
        env.step({"agent_0": np.array([0.0]), "agent_1": np.array([0.0])})


@pytest.mark.parametrize("env_id, kwargs, match", [
    ("symmetric_parallel_v0", {"n_agents": 0}, "n_agents.*0"),
    ("symmetric_parallel_v0", {"n_agents": 2.5}, "n_agents.*2.5"),
    ("symmetric_parallel_v0", {"lam": 0.0}, "lam.*0"),
    ("heterogeneous_parallel_v0", {"lam": [0.1, -1.0]}, "lam"),
    ("heterogeneous_parallel_v0", {"lam": [0.1, 0.2], "n_agents": 3}, "n_agents=3"),
    ("symmetric_parallel_v0", {"mode": "batch"}, "mode.*batch"),
    ("symmetric_parallel_v0", {"reward_mode": "selfish"}, "reward_mode.*selfish"),
    ("symmetric_parallel_v0", {"max_steps": 0}, "max_steps.*0"),
    ("symmetric_parallel_v0", {"render_mode": "window"}, "render_mode.*window"),
    ("symmetric_parallel_v0", {"max_cycles": 10, "max_steps": 5}, "max_cycles=10.*max_steps=5"),
    ("symmetric_parallel_v0", {"max_cycles": 0}, "max_steps.*0"),
    ("symmetric_parallel_v0", {"mode": "one_shot", "max_steps": 5}, "max_steps=5.*one_shot"),
    ("symmetric_parallel_v0", {"mode": "one_shot", "max_cycles": 4}, "max_steps=4.*one_shot"),
    ("symmetric_parallel_v0", {"max_horizon": 10}, "max_horizon"),
    ("dynamic_target_v0", {"switch_step": 0}, "switch_step.*0"),
    ("time_cost_v0", {"time_cost": -1.0}, "time_cost.*-1"),
    ("hidden_cost_v0", {"true_lam": [0.3, 0.5, 0.2, 0.4, 0.0]}, "true_lam"),
    ("symmetric_parallel_v0", {"Y": float("nan")}, "Y.*nan"),
    ("no_such_env_v0", {}, "env_id.*no_such_env_v0"),
])
def test_invalid_kwargs(env_id, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mbi_envs.make(env_id, **kwargs)


def test_bad_reset_options_and_unknown_agent_space():
    env = small_env("symmetric_parallel_v0")
    env.reset(seed=0)
    before = _snapshot(env)
    with pytest.raises(ValueError, match="x0"):
        env.reset(seed=1, options={"x0": np.ones(7)})
    _assert_same(before, _snapshot(env))
    with pytest.raises(ValueError, match="agent_17"):
        env.action_space("agent_17")
    obs, _ = env.reset(seed=1, options={"x0": np.full(4, 0.3)})
    assert (env.X == 0.3).all()
