"""The real-problems experiment: statistics, verdicts and a small smoke run of each piece."""
import numpy as np

from experiments.real_problems import _mbi_dispatch_run, dpm_timing, markdown, verdicts, wilson_interval
from mechanism.dispatch import lambda_iteration, load_case


def test_wilson_interval_matches_the_closed_form():
    ci = wilson_interval(9, 100)
    z, n, p = 1.959964, 100, 0.09
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert ci["rate"] == 0.09 and abs(ci["ci_low"] - (centre - half)) < 1e-4 and abs(ci["ci_high"] - (centre + half)) < 1e-4
    assert wilson_interval(0, 100)["ci_low"] == 0.0


def _row(landscape, contender, hits, n=100):
    return {"landscape": landscape, "contender": contender, "iterations": 10, "median_final_gap": 0.1,
            **wilson_interval(hits, n)}


def test_hit_rate_verdicts_follow_the_intervals():
    result = {"mode": "quick", "wall_seconds": 1.0, "config": {"dispatch_seeds": [0], "dispatch_steps": 10},
              "dispatch": [], "supply_chain": {"sizes": [], "dpm_timing": []},
              "hit_rate": [_row("L", "gradient", 9), _row("L", "a", 29), _row("L", "b", 12), _row("L", "c", 0)]}
    lines = verdicts(result)
    assert "a hit rate 0.29" in lines[0] and "is higher than plain gradient" in lines[0]
    assert "b hit rate 0.12" in lines[1] and "not distinguishable" in lines[1]
    assert "c hit rate 0.00" in lines[2] and "is lower than" in lines[2]
    assert "## Verdicts (computed)" in markdown(result)


def test_mbi_dispatch_run_reaches_the_textbook_price():
    P, lam = lambda_iteration(load_case("wood_wollenberg_3a"))
    run = _mbi_dispatch_run("wood_wollenberg_3a", seed=0, steps=900, P_star=P, lam=lam)
    assert run["steps_to_tolerance"] is not None and abs(run["price_error"]) < 1e-6 and run["max_abs_dP"] < 1e-4


def test_dpm_timing_reports_graph_sizes():
    rows = dpm_timing([2], [3], repeats=2)
    assert [(r["width"], r["depth"], r["agents"]) for r in rows] == [(2, 4, 6), (4, 3, 8)]
    assert all(r["median_seconds"] > 0 and r["nodes"] > r["agents"] for r in rows)
