"""The Appendix C reproduction in a reduced (tiny) configuration."""
import json
import math

import numpy as np
import pytest

from experiments.appendix_c import EXPERIMENTS, VERDICTS, Config, c6, run_all, sanitize
from experiments.report import write_report



def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


def test_sanitize_removes_non_finite_and_converts_types():
    import torch
    out = sanitize({"a": float("nan"), "b": [np.inf, np.float32(1.5), (1, 2)], "c": torch.tensor([1.0, -np.inf]),
                    "d": np.int64(3), "e": np.array([[0.5]]), "_plots": {"x": 1}, "f": True})
    assert out == {"a": None, "b": [None, 1.5, [1, 2]], "c": [1.0, None], "d": 3, "e": [[0.5]], "f": True}
    json.dumps(out, allow_nan=False)


@pytest.mark.slow  # every experiment end to end (about 80 s idle)
def test_reproduction_tiny(tmp_path):
    cfg = Config.tiny(figures=True, out=tmp_path)
    results = run_all(cfg, progress=False)
    assert list(results) == [f"C.{i}" for i in range(1, 19)] == list(EXPERIMENTS)
    for eid, e in results.items():
        assert e["status"] == "ok", (eid, e.get("error"))
        assert e["verdict"] in VERDICTS, eid
        assert e["explanation"] and "\n" not in e["explanation"], eid
        for part in ("claim", "measured", "reference"):
            assert isinstance(e[part], dict) and e[part], (eid, part)
    clean = sanitize(results)
    text = json.dumps(clean, allow_nan=False)
    assert all(math.isfinite(v) for v in _numbers(json.loads(text)))

    paths = write_report(results, cfg, tmp_path, 1.0)
    data = json.loads(paths["json"].read_text())
    assert set(data) == set(EXPERIMENTS)
    md = paths["report"].read_text()
    assert "| C.18 |" in md
    for fig in ("c1_trajectories.png", "c13_convergence.png", "c15_tracking.png", "c16_actions.png",
                "c17_penalty.png", "c18_scaling.png"):
        assert (tmp_path / fig).is_file(), fig

    # C.5: the true box minimum is 0 and the paper's point is a saddle
    c5 = results["C.5"]
    assert c5["reference"]["loss"] == pytest.approx(0.0, abs=1e-9)
    assert c5["measured"]["paper_point_class"] == "saddle"
    assert c5["measured"]["loss"] == pytest.approx(100 / 9, rel=1e-6)  # GD from (5,5) stops at the saddle
    # C.7: above the stability limit the unclamped run really diverges
    c7 = results["C.7"]
    assert c7["reference"]["stability_limit"]["code_lam_0.01"] == pytest.approx(1 / 100.01, rel=1e-9)
    assert c7["measured"]["unclamped_eta_1.1_status"] == "diverged"
    assert c7["measured"]["unclamped_eta_1.1_diverged_at"] >= 1
    above = [r for k, r in c7["measured"]["runs"].items() if k.startswith("unclamped") and r["eta"] > 1 / 100.01]
    assert above and all(r["status"] == "diverged" for r in above)
    # C.10: a global minimum strictly below the paper's point, which is not ranked first
    c10 = results["C.10"]
    assert c10["reference"]["loss"] < c10["measured"]["loss"] - 0.1
    assert c10["measured"]["gd_rank_among_local_minima"] != 1
    # C.11: larger ρ -> earlier stop and higher loss; matches the enumerated optimum
    runs = results["C.11"]["measured"]["runs"]
    assert all(a["stop_time"] > b["stop_time"] and a["loss"] < b["loss"] for a, b in zip(runs, runs[1:]))
    assert all(r["stop_time"] == r["reference_stop_time"] for r in runs)
    # C.14 and C.17 report the same numbers for the same quantities
    c14, c17 = results["C.14"], results["C.17"]
    assert c17["measured"]["penalty_belief_0.1"] == c14["measured"]["penalty"]
    assert c17["reference"]["loss"] == c14["reference"]["loss"]
    assert c17["reference"]["penalty_belief_0.1_closed_form"] == pytest.approx(
        c14["reference"]["penalty_closed_form"], abs=1e-12)


@pytest.mark.slow  # trains PPO
def test_c6_trains_real_ppo_and_measures_mbi():
    cfg = Config.tiny()
    e = c6(cfg)
    assert e["verdict"] == "not_computed_by_paper"
    ppo = e["measured"]["ppo"]
    assert set(ppo) == set(cfg.ppo_reward_modes)
    assert all(r["env_steps"] == cfg.ppo_timesteps and r["loss_gap_mean"] > 0 for r in ppo.values())
    fast = e["measured"]["mbi"]["near_max_stable_eta"]
    assert fast["env_steps_to_gap_1e-10"] is not None and fast["env_steps_to_gap_1e-10"] % 100 == 0
    json.dumps(sanitize(e), allow_nan=False)
