"""The head-to-head benchmark harness: a tiny configuration end to end (seconds)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from experiments.benchmark import (EPSILONS, AdaptiveStepAgents, ArmijoPlannerPolicy, ClassicalContender,
                                   MBIContender, PPOContender, build_payload, exact_budget, headline,
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
    contenders = [MBIContender("gradient-paper"), MBIContender("gradient-linesearch"),
                  MBIContender("gradient-adaptive"), MBIContender("gradient-oracle"), MBIContender("satisficing-oracle"),
                  PPOContender("one_shot", "team", n_evals=4, tuned={}), ClassicalContender("centralized"),
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
    assert payload["schema_version"] == 2
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
    assert [h["mbi"] for h in head] == ["mbi-gradient-paper", "mbi-gradient-linesearch", "mbi-gradient-adaptive",
                                        "mbi-gradient-oracle"]
    assert all(h["ppo"] == "ppo-oneshot-team" and h["scenario"] == "C.2-N2" for h in head)
    assert [h["mbi_uses_oracle"] for h in head] == [False, False, False, True]
    ppo = next(r for r in payload["records"] if r["family"] == "ppo")
    rollout = ppo["params"]["config"]["n_steps"] * ppo["n_agents"]
    # exact counting: the budget is whole rollouts, every evaluation point is on a rollout boundary
    assert ppo["env_steps"] == ppo["budget"]["agent_steps"] and ppo["env_steps"] % rollout == 0
    assert all(s % rollout == 0 for s in ppo["curve"]["env_steps"])


def _largest_stable_step_reaches_1e_8_and_curve_is_monotone(tiny):
    _, payload, _ = tiny
    run = next(r for r in payload["records"] if r["scenario"] == "C.2-N2" and r["contender"] == "mbi-gradient-oracle")
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


def _rec(contender, seed, steps, gaps, seconds=None, family=None):
    """A hand-made record: a curve, its best gap and its 20-per-decade reach grid."""
    from experiments.benchmark.records import fine_reach
    seconds = seconds or [0.01 * s for s in steps]
    return {"scenario": "S", "contender": contender, "family": family or contender.split("-")[0], "seed": seed,
            "best_gap": min(gaps), "budget": {"agent_steps": steps[-1]}, "time_to_accuracy":
            time_to_accuracy(steps, seconds, gaps), "curve": {"env_steps": steps, "seconds": seconds, "loss_gap": gaps},
            "reach": fine_reach(steps, seconds, gaps)}


def test_headline_on_hand_made_records_has_the_known_answer():
    """PPO reaches 1e-3 at 400 agent-steps (seed 0) and 1e-2 at 200 (seed 1); MBI paper reaches those
    at 100 and 50 (ratio 4, 4: MBI wins); MBI oracle never reaches seed 0's target (PPO wins it) and
    reaches seed 1's at 800 (ratio 0.25: PPO wins)."""
    recs = [_rec("ppo-oneshot-team", 0, [0, 200, 400], [1.0, 0.1, 1e-3], seconds=[0.0, 2.0, 4.0]),
            _rec("ppo-oneshot-team", 1, [0, 100, 200], [1.0, 0.1, 1e-2], seconds=[0.0, 1.0, 2.0]),
            _rec("mbi-gradient-paper", 0, [0, 50, 100], [1.0, 0.05, 1e-3], seconds=[0.0, 0.1, 0.2]),
            _rec("mbi-gradient-paper", 1, [0, 50, 100], [1.0, 1e-2, 1e-4], seconds=[0.0, 0.1, 0.2]),
            _rec("mbi-gradient-oracle", 0, [0, 400, 800], [1.0, 0.5, 0.1], seconds=[0.0, 0.1, 0.2]),
            _rec("mbi-gradient-oracle", 1, [0, 400, 800], [1.0, 0.5, 1e-2], seconds=[0.0, 1.0, 8.0])]
    rows = {h["mbi"]: h for h in headline(recs)}
    paper, oracle = rows["mbi-gradient-paper"], rows["mbi-gradient-oracle"]
    assert paper["ppo_env_steps"]["median"] == 300 and paper["mbi_env_steps"]["median"] == 75
    assert paper["steps_ratio"]["median"] == pytest.approx(4.0)
    assert paper["seconds_ratio"]["median"] == pytest.approx(20.0)   # 4.0/0.2 and 2.0/0.1
    assert (paper["winner_steps"], paper["seeds_won_by_mbi_steps"]) == ("MBI", 2)
    assert oracle["mbi_never_reached_seeds"] == 1 and oracle["seeds_won_by_mbi_steps"] == 0
    assert oracle["winner_steps"] == "PPO" and oracle["winner_seconds"] == "PPO"
    assert oracle["steps_ratio"]["median"] == pytest.approx(0.125)   # ratios 0 (never) and 200/800
    assert oracle["steps_ratio"]["n_null"] == 0
    md = to_markdown({"config": {"mode": "t", "budget": 1, "seeds": [0, 1], "total_seconds": 1, "machine": "m"},
                      "records": recs, "headline": headline(recs), "scenarios": [], "summary": []})
    assert "Rows PPO wins" in md and "ppo-oneshot-team vs mbi-gradient-oracle" in md
    from experiments.benchmark.markdown import headline_matrix
    header, _, row = headline_matrix(headline(recs))
    assert header.split("|")[4:6] == [" paper ", " oracle (oracle) "]
    assert row.split("|")[4].strip().startswith("4") and row.split("|")[4].strip().endswith("MBI (2/2)")
    assert row.split("|")[5].strip().startswith("0.125") and row.split("|")[5].strip().endswith("PPO (0/2)")


def test_exact_budget_rounds_to_whole_rollouts():
    assert exact_budget(20_000, 6400, 20) == (25_600, 6400)
    assert exact_budget(1_000_000, 6400, 20) == (1_004_800, 51_200)
    assert exact_budget(100, 128, 4) == (128, 128)


def test_adaptive_agents_use_only_their_own_incentive_sign_history():
    import torch
    from mechanism import aggregative_problem
    agents = AdaptiveStepAgents(0.1)
    X = torch.zeros(1, 2, 1, dtype=torch.float64)
    agents.reset(aggregative_problem(2, 1.0, 0.1, lower=float("-inf")), X)
    G1 = torch.tensor([[[1.0], [1.0]]], dtype=torch.float64)
    G2 = torch.tensor([[[2.0], [-1.0]]], dtype=torch.float64)
    agents.act(X, G1, 1)                     # no history: steps unchanged
    out = agents.act(X, G2, 2)               # agent 1 same sign → ×1.2, agent 2 flip → ×0.5
    assert out.reshape(-1).tolist() == pytest.approx([0.12 * 2.0, 0.05 * -1.0])


def test_armijo_line_search_decreases_the_loss_and_counts_trials():
    sc = scenarios("quick", keys=["C.4"])[0]
    env = sc.make(mode="iterative", max_steps=60)
    policy = ArmijoPlannerPolicy(1e-3)
    obs, _ = env.reset(seed=0)
    policy.reset(env, 0)
    losses = [env.global_loss]
    while env.agents:
        obs, *_ = env.step(policy.act(obs))
        losses.append(env.global_loss)
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))
    assert policy.extra_evaluations >= 2 * 60                       # L(X) and ≥ 1 trial per step
    assert losses[-1] - env.optimal_loss < 1e-3 * (losses[0] - env.optimal_loss)


def test_armijo_line_search_tracks_a_switched_target():
    """After C.15's switch the Planner searches on the new loss: the gap to the new optimum shrinks
    by 1000× within 60 steps (searching on the stale loss, it grew after the switch and stayed)."""
    sc = scenarios("quick", keys=["C.15"])[0]
    env = sc.make(mode="iterative", max_steps=100, switch_step=40)
    policy = ArmijoPlannerPolicy(5e-3)
    obs, _ = env.reset(seed=0)
    policy.reset(env, 0)
    gaps = [env.global_loss - env.optimal_loss]
    while env.agents:
        obs, *_ = env.step(policy.act(obs))
        gaps.append(env.global_loss - env.optimal_loss)
    assert gaps[40] > 0.1 and gaps[-1] < 1e-3 * gaps[40]


def test_oracle_step_cost_is_counted(tiny):
    _, payload, _ = tiny
    rec = next(r for r in payload["records"] if r["contender"] == "mbi-gradient-oracle" and r["scenario"] == "C.2-N2")
    cost = rec["params"]["oracle_cost"]
    assert cost["gradient_equivalent_evaluations"] == 17 * 2      # 17 Hessian points × 2 variables
    assert rec["oracle_evaluations"] == rec["env_steps"] // 2 + 34
    assert rec["curve"]["seconds"][0] >= cost["seconds"] > 0


def test_dynamic_target_headline_reads_mbi_after_its_switch():
    """C.15: PPO's best gap 0.05 (reached at 300 training agent-steps) is compared with MBI's gap
    *after the switch*, counted from the switch: 40 agent-steps after it (ratio 7.5), not the
    10 agent-steps at which MBI's pre-switch curve first passed 0.05."""
    from experiments.benchmark.records import fine_reach
    ppo = _rec("ppo-iterative-team", 0, [0, 150, 300], [5.0, 1.0, 0.05])
    mbi = _rec("mbi-gradient-paper", 0, [0, 10, 20, 60], [1.0, 0.01, 2.0, 0.02])
    after_steps, after_gaps = [0, 20, 40], [2.0, 0.5, 0.04]
    mbi["after_switch"] = {"switch_step": 2, "reach": fine_reach(after_steps, [0.0, 0.2, 0.4], after_gaps)}
    row = headline([ppo, mbi])[0]
    assert row["tracking"] is True
    assert row["mbi_env_steps"]["median"] == 40 and row["steps_ratio"]["median"] == pytest.approx(7.5)
    assert "(after switch)" in "\n".join(__import__("experiments.benchmark.markdown", fromlist=["x"])
                                         .headline_table([row]))


def test_batched_ppo_scenarios_train_through_make_vec_with_their_own_switch():
    """C.2 N=1000 and C.15 are PPO rows only through the batched path; C.15's PPO episode (50 steps)
    has its switch at 25, not at the MBI horizon's midpoint (which PPO would never see)."""
    full = {s.key: s for s in scenarios("full")}
    c15, big = full["C.15"], full["C.2-N1000"]
    assert c15.ppo_timesteps == 1_000_000 and ("iterative", "team") in c15.ppo_variants
    assert ("one_shot", "difference") in big.ppo_variants and big.ppo_vectorized
    config, _ = PPOContender("iterative", "team", tuned={}).config(c15, 3)
    assert config.vectorized and config.n_envs == 16 and config.seed == 3
    assert c15.env_kwargs["switch_step"] == 5000 and c15.ppo_env_kwargs == {"switch_step": 25}
    one, _ = PPOContender("one_shot", "team", tuned={}).config(full["C.2-N2"], 0)
    assert not one.vectorized and one.n_envs == 1


def test_merge_payloads_joins_parts_and_refuses_overlaps():
    from experiments.benchmark import merge_payloads
    from experiments.benchmark.headline import SUMMARY_METRICS
    recs = [{**dict.fromkeys(SUMMARY_METRICS, 1.0), **r} for r in
            (_rec("ppo-oneshot-team", 0, [0, 200, 400], [1.0, 0.1, 1e-3]),
             _rec("mbi-gradient-paper", 0, [0, 50, 100], [1.0, 0.05, 1e-3]))]
    cfg = {"mode": "full", "budget": 1.0, "seeds": [0], "total_seconds": 10.0, "planned_runs": 1}
    part = lambda r, s: {"config": {**cfg, "total_seconds": s}, "scenarios": [{"key": "S"}], "records": [r]}  # noqa: E731
    merged = merge_payloads([part(recs[0], 10.0), part(recs[1], 30.0)])
    assert len(merged["records"]) == 2 and merged["config"]["total_seconds"] == 30.0
    assert merged["headline"][0]["steps_ratio"]["median"] == pytest.approx(4.0)
    with pytest.raises(ValueError, match="more than one part"):
        merge_payloads([part(recs[0], 1.0), part(recs[0], 1.0)])
    other = part(recs[1], 1.0)
    other["config"]["seeds"] = [1]
    with pytest.raises(ValueError, match="'seeds'"):
        merge_payloads([part(recs[0], 1.0), other])
