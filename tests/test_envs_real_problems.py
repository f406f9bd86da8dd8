"""The real-problem scenarios: economic dispatch and supply chain as envs (API, determinism, answers)."""
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test, parallel_seed_test

import mbi_envs
from mbi_envs import MBIPolicy, evaluate
from mechanism import GradientAgents
from mechanism.problems.dispatch import dispatch_step_sizes, lambda_iteration, load_case

TEXTBOOK_P = np.array([393.2, 334.6, 122.2])   # Wood & Wollenberg Example 3A
TEXTBOOK_LAMBDA = 9.148                          # $/MWh


@pytest.mark.parametrize("case", ["wood_wollenberg_3a", "ieee30", "ieee118"])
def test_make_each_published_case(case):
    env = mbi_envs.make("economic_dispatch_v0", case=case)
    obs, infos = env.reset(seed=0)
    n = {"wood_wollenberg_3a": 3, "ieee30": 6, "ieee118": 54}[case]
    assert env.n_agents == n and env.observation_layout == ["x", "G", "b", "c", "agent_index", "progress"]
    info = infos["agent_0"]
    assert {"system_marginal_price", "multiplier", "balance_mw", "generation_cost"} <= set(info)
    # the price is the same for every unit and G_i = price − F_i'(P_i)
    X = env.X[:, 0]
    b, c = load_case(case).b, load_case(case).c
    G = np.array([obs[a][1] for a in env.possible_agents])
    assert np.allclose(G, info["system_marginal_price"] - (b + 2 * c * X), atol=1e-9)


def test_mbi_units_reach_textbook_dispatch_and_env_reports_textbook_price():
    env = mbi_envs.make("economic_dispatch_v0", case="wood_wollenberg_3a", max_steps=1500)
    evaluate(env, MBIPolicy(GradientAgents(dispatch_step_sizes(env.problem))), [0])
    P, lam = lambda_iteration(load_case("wood_wollenberg_3a"))
    info = env.scenario.extra_infos(env.problem, env.X)
    assert np.abs(env.X[:, 0] - P).max() < 1e-8 and abs(info["system_marginal_price"] - lam) < 1e-9
    assert np.allclose(env.X[:, 0], TEXTBOOK_P, atol=0.05)
    assert abs(info["system_marginal_price"] - TEXTBOOK_LAMBDA) < 5e-4
    assert abs(info["balance_mw"]) < 1e-8 and abs(env.global_loss - env.optimal_loss) < 1e-8


def test_planner_updates_the_multiplier_only_every_k_steps_and_reset_restores_it():
    env = mbi_envs.make("economic_dispatch_v0", multiplier_every=3, random_start=False)
    env.reset(seed=0)
    mid = dict(zip(env.possible_agents, [np.array([350.0]), np.array([350.0]), np.array([200.0])]))  # 900 MW
    mus = [env.step(mid)[4]["agent_0"]["multiplier"] for _ in range(3)]
    rho = float(env.problem.data()["rho"])
    assert mus[0] == mus[1] == 0.0 and mus[2] == pytest.approx(-50.0 * rho)
    _, infos = env.reset(seed=0)
    assert infos["agent_0"]["multiplier"] == 0.0


def test_one_shot_keeps_the_multiplier_fixed():
    env = mbi_envs.make("economic_dispatch_v0", mode="one_shot", multiplier=9.0)
    env.reset(seed=0)
    _, _, _, _, infos = env.step({a: np.array([300.0]) for a in env.possible_agents})
    assert infos["agent_0"]["multiplier"] == 9.0


@pytest.mark.parametrize("env_id, kwargs", [("economic_dispatch_v0", {"case": "ieee30"}),
                                            ("supply_chain_v0", {"width": 2, "depth": 3})])
def test_pettingzoo_api_seed_and_pickle(env_id, kwargs):
    parallel_api_test(mbi_envs.make(env_id, max_steps=10, **kwargs), num_cycles=10)
    parallel_seed_test(lambda: mbi_envs.make(env_id, max_steps=10, **kwargs), num_cycles=10)
    env = pickle.loads(pickle.dumps(mbi_envs.make(env_id, **kwargs)))
    obs, _ = env.reset(seed=1)
    again, _ = mbi_envs.make(env_id, **kwargs).reset(seed=1)
    assert all(np.array_equal(obs[a], again[a]) for a in obs)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("gym_id", ["mbi_envs/EconomicDispatch-v0", "mbi_envs/SupplyChain-v0"])
def test_gymnasium_check_env(gym_id):
    check_env(gym.make(gym_id, max_steps=10).unwrapped)


def test_supply_chain_env_reference_is_the_exact_optimum():
    env = mbi_envs.make("supply_chain_v0", width=2, depth=3, fanout=2, seed=5)
    env.reset(seed=0)
    opt = env.optimum
    from mechanism.problems.supply_chain import solve_supply_chain, supply_chain_problem
    sol = solve_supply_chain(supply_chain_problem(2, 3, 2, seed=5))
    assert abs(opt.loss - sol.loss) < 1e-12 and sol.kkt_residual < 1e-9
    assert env.action_space("agent_0").shape == (2,) and env.n_agents == 4


def test_bad_scenario_arguments_raise():
    with pytest.raises(ValueError, match="case"):
        mbi_envs.make("economic_dispatch_v0", case="ieee14")
    with pytest.raises(ValueError, match="multiplier_every"):
        mbi_envs.make("economic_dispatch_v0", multiplier_every=0)
    with pytest.raises(ValueError, match="fanout"):
        mbi_envs.make("supply_chain_v0", width=2, fanout=3)
