"""The real-problems experiment: statistics, verdicts and a small smoke run of each piece."""
import math

import numpy as np
import pytest
import scipy.stats

from experiments.hit_rates import (compare_to_baseline, detection_power, fisher_p, hit_rate_table, holm,
                                   markdown as hit_markdown, mcnemar_p, rate_ratio, wilson)
from experiments.real_problems import _mbi_dispatch_run, dpm_timing, markdown, verdicts, wilson_interval
from mechanism.problems.dispatch import lambda_iteration, load_case


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


def test_hit_rate_verdicts_come_from_the_test_not_the_intervals():
    """9/100 vs 29/100 is significant; 12/100 vs 9/100 and 10/100 vs 9/100 are not, and 100 starts
    have no power for a ×1.5 effect: 'inconclusive', never 'does not help'."""
    result = {"mode": "quick", "wall_seconds": 1.0, "config": {"dispatch_seeds": [0], "dispatch_steps": 10},
              "dispatch": [], "supply_chain": {"sizes": [], "dpm_timing": []},
              "hit_rate": [_row("L", "gradient", 9), _row("L", "a", 29), _row("L", "b", 12), _row("L", "c", 0)]}
    lines = verdicts(result)
    assert "a hit rate 0.29" in lines[0] and ": helps (" in lines[0] and "Fisher exact" in lines[0]
    assert "b hit rate 0.12" in lines[1] and "inconclusive (underpowered)" in lines[1]
    assert "c hit rate 0.00" in lines[2] and ": hurts (" in lines[2]
    assert "## Verdicts (computed)" in markdown(result)


def _hypergeometric_two_sided(a, n1, b, n0):
    """Fisher's two-sided p by summing hypergeometric probabilities no larger than the observed one."""
    K, N = a + b, n1 + n0
    pmf = scipy.stats.hypergeom(N, K, n1).pmf
    observed = pmf(a)
    lo, hi = max(0, K - n0), min(K, n1)
    return float(sum(pmf(k) for k in range(lo, hi + 1) if pmf(k) <= observed * (1 + 1e-7)))


def test_two_proportion_statistics_recompute():
    # Fisher exact against a direct hypergeometric sum
    for a, n1, b, n0 in ((29, 100, 9, 100), (12, 100, 9, 100), (276, 2000, 162, 2000), (0, 50, 3, 40)):
        assert fisher_p(a, n1, b, n0) == pytest.approx(_hypergeometric_two_sided(a, n1, b, n0), rel=1e-6)
    # Wilson: closed form
    lo, hi = wilson(162, 2000)
    z, p, n = scipy.stats.norm.ppf(0.975), 162 / 2000, 2000
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert lo == pytest.approx(centre - half, abs=1e-9) and hi == pytest.approx(centre + half, abs=1e-9)
    # rate ratio and its Katz interval
    rr = rate_ratio(276, 2000, 162, 2000)
    se = math.sqrt(1 / 276 - 1 / 2000 + 1 / 162 - 1 / 2000)
    assert rr["ratio"] == pytest.approx(276 / 162)
    assert rr["ratio_ci_low"] == pytest.approx(276 / 162 * math.exp(-z * se), rel=1e-9)
    assert rate_ratio(3, 100, 0, 100)["ratio"] is None
    # McNemar: exact binomial on the discordant pairs
    assert mcnemar_p(7, 1) == pytest.approx(2 * sum(math.comb(8, k) for k in range(0, 2)) / 2 ** 8)
    assert mcnemar_p(0, 0) == 1.0
    # Holm: step-down, monotone
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])


def test_detection_power_matches_a_simulation():
    """The arcsine approximation against 1,000 simulated Fisher tests (base rate 0.08, n = 600, ×1.5)."""
    rng = np.random.default_rng(0)
    n, p0, alpha = 600, 0.08, 0.05
    a, b = rng.binomial(n, 1.5 * p0, 1000), rng.binomial(n, p0, 1000)
    sims = np.mean([scipy.stats.fisher_exact([[x, n - x], [y, n - y]]).pvalue < alpha for x, y in zip(a, b)])
    assert detection_power(p0, n, n, 1.5, alpha) == pytest.approx(sims, abs=0.07)
    assert detection_power(0.0, 1000, 1000) < 0.05 + 1e-9       # nothing to multiply: no power
    assert detection_power(0.08, 20000, 20000) > 0.999


def test_verdict_needs_power_before_saying_no_gain():
    rows = [{"rule": "gradient", "hits": 1527, "n": 20000}, {"rule": "same", "hits": 1540, "n": 20000},
            {"rule": "tiny", "hits": 2, "n": 30}]
    comps = {c["rule"]: c for c in compare_to_baseline(rows)}
    assert comps["same"]["verdict"] == "no ×1.5 gain (powered)" and comps["same"]["power_for_effect"] > 0.8
    assert comps["tiny"]["verdict"] == "inconclusive (underpowered)"
    # the paired test uses the masks when given
    g = np.zeros(100, bool); g[:10] = True
    m = g.copy(); m[10:20] = True
    comps = compare_to_baseline([{"rule": "gradient", "hits": 10, "n": 100, "hit_mask": g},
                                 {"rule": "m", "hits": 20, "n": 100, "hit_mask": m}])
    assert comps[0]["discordant_rule_only_baseline_only"] == [10, 0]
    assert comps[0]["p_mcnemar"] == pytest.approx(2 * 0.5 ** 10)


@pytest.mark.slow
def test_hit_rate_table_recomputes_at_small_size():
    """A small run of the real study (C.10, 120 starts, 1,500 iterations, gradient vs momentum): the rows
    count the hits the planner produced, the comparison is the test on those counts, the report shows it."""
    out = hit_rate_table({"C.10": 120}, rules=["momentum"], progress=False, iterations=1500)
    L = out["landscapes"]["C.10"]
    rows = {r["rule"]: r for r in L["rows"]}
    assert set(rows) == {"gradient", "momentum"} and all(r["n"] == 120 for r in rows.values())
    assert all(r["ci_low"] <= r["rate"] <= r["ci_high"] for r in rows.values())
    (c,) = L["comparisons"]
    assert c["p_value"] == pytest.approx(fisher_p(rows["momentum"]["hits"], 120, rows["gradient"]["hits"], 120))
    only_m, only_g = c["discordant_rule_only_baseline_only"]
    assert only_m - only_g == rows["momentum"]["hits"] - rows["gradient"]["hits"]
    assert 0 < rows["gradient"]["hits"] < 60       # C.10's global basin is hit from some starts, not most
    md = hit_markdown(out)
    assert "| momentum | 120 |" in md and c["verdict"] in md


def test_mbi_dispatch_run_reaches_the_textbook_price():
    P, lam = lambda_iteration(load_case("wood_wollenberg_3a"))
    run = _mbi_dispatch_run("wood_wollenberg_3a", seed=0, steps=900, P_star=P, lam=lam)
    assert run["steps_to_tolerance"] is not None and abs(run["price_error"]) < 1e-6 and run["max_abs_dP"] < 1e-4


def test_dpm_timing_reports_graph_sizes():
    rows = dpm_timing([2], [3], repeats=2)
    assert [(r["width"], r["depth"], r["agents"]) for r in rows] == [(2, 4, 6), (4, 3, 8)]
    assert all(r["median_seconds"] > 0 and r["nodes"] > r["agents"] for r in rows)


def test_hit_rate_script_rejects_bad_counts(capsys):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "scripts" / "c10_hit_rates.py"
    spec = importlib.util.spec_from_file_location("c10_hit_rates", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.parse_args(["--out", "x", "--starts", "2000"]).starts == 2000
    with pytest.raises(SystemExit):
        mod.parse_args(["--out", "x", "--starts", "0"])
    assert "--starts" in capsys.readouterr().err
