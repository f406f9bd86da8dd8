"""The plot check: every figure the project draws, built from small recomputed or synthetic input,
has every series in a legend (or left out with a stated reason), its legend inside the axes (or
outside every axes, inside the figure) and no legend over a data point (display coordinates
against the legend's window extent: experiments.figure_layout.figure_problems)."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from experiments.appendix_figures import build_plot  # noqa: E402
from experiments.figure_layout import data_points, exclude, figure_problems, place_legend  # noqa: E402
from experiments.figures import rebuild_figures  # noqa: E402
from experiments.ic_audit_plots import build_utility_figure  # noqa: E402
from experiments.plots import build_scenario_figure, no_ppo_note  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------- the check itself


def test_check_flags_a_legend_on_a_point_and_an_unlabelled_series():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [0, 1, 2], "o-", label="a")
    ax.plot([0, 1, 2], [2, 1, 0])  # no label, no reason
    ax.plot([2.0], [2.0], "s", label="corner")  # a point where "upper right" puts the legend
    ax.legend(loc="upper right")
    problems = figure_problems(fig)
    assert any("covers" in p for p in problems), problems
    assert any("no legend entry" in p for p in problems), problems


def test_check_accepts_an_excluded_series_and_flags_a_straddling_legend():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="a")
    exclude(ax.plot([0, 1], [1, 0])[0], "the mirror image, drawn alike")
    ax.legend(loc="upper left", bbox_to_anchor=(0.9, 0.6))
    problems = figure_problems(fig)
    assert not any("no legend entry" in p for p in problems), problems
    assert any("straddles" in p for p in problems), problems
    with pytest.raises(ValueError, match="reason"):
        exclude(ax.lines[0], "  ")


def test_old_c11_layout_is_caught():
    """The committed C.11 before the fix: legend='best' of the left axis only, red series on a twin."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    rho = [1e-8, 1e-6, 1e-4, 1e-2, 1.0]
    ax.plot(rho, [870, 660, 455, 250, 40], "o-", label="stop time T*")
    ax2 = ax.twinx()
    ax2.plot(rho, [5e-7, 5e-5, 5e-3, 0.5, 50], "r-s", label="final loss")
    ax2.set_yscale("log")
    ax.set_xscale("log")
    ax.legend(loc="best")
    fig.tight_layout()
    problems = figure_problems(fig)
    assert any("'final loss'" in p and "no legend entry" in p for p in problems), problems


def test_place_legend_avoids_every_twin_and_falls_back_outside():
    fig, ax = plt.subplots()
    x = np.linspace(0, 1, 200)
    for k in range(12):  # lines everywhere: no free corner
        ax.plot(x, (x + k / 12) % 1, label=f"s{k}")
    fig.tight_layout()
    leg = place_legend(ax)
    fig.tight_layout()
    assert figure_problems(fig) == []
    box, abox = leg.get_window_extent(fig.canvas.get_renderer()), ax.get_window_extent()
    assert box.x0 >= abox.x1  # outside, to the right


# ---------------------------------------------------------------- Appendix C


def _c16_like_spec() -> dict:
    it = np.arange(0, 5001, 10)
    lam = np.array([0.1, 0.5, 0.2, 0.4, 0.6])
    xs = 7.461 / (lam * (1 + np.sum(1 / lam)))
    series = {f"x{i + 1} (λ={lam[i]})": (xs[i] + (0.1 - xs[i]) * np.exp(-it / 400)
                                          + 0.5 * np.exp(-it / 600) * (1 - np.exp(-it / 20))).tolist()
              for i in range(5)}
    return {"kind": "line", "x": it.tolist(), "series": series, "hlines": xs.tolist(),
            "hline_label": "x_i* (closed form)", "xlabel": "iteration", "ylabel": "x_i", "title": "C.16-like"}


def test_c11_figure():
    """C.11's X shape on twin axes (T* falls, the loss rises on a log right axis)."""
    from experiments.appendix_c.satisficing import c11_plot

    runs = [{"rho": r, "stop_time": t, "loss": L} for r, t, L in
            zip([1e-8, 1e-6, 1e-4, 1e-2, 1.0], [870, 662, 455, 248, 40], [4.6e-7, 4.5e-5, 4.5e-3, 0.45, 45.0])]
    fig = build_plot(c11_plot({"runs": runs})["c11_rho_tradeoff.png"])
    assert figure_problems(fig) == []
    shown = {t.get_text() for a in fig.axes if a.get_legend() for t in a.get_legend().get_texts()}
    assert shown == {"stop time T* (left axis)", "final loss (right axis)"}  # the red series is in the legend


def test_c16_like_figure_keeps_the_start_of_x1_clear():
    fig = build_plot(_c16_like_spec())
    assert figure_problems(fig) == []
    shown = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "x_i* (closed form)" in shown and len(shown) == 6


def test_c17_c18_c15_c13_c1_like_figures():
    from experiments.appendix_c.mechanism_design import c17_plot
    from experiments.appendix_c.scaling import c18_plot

    specs = list(c17_plot({"penalty_belief_0.1": 1.19, "penalty_belief_mean": 0.12,
                           "expected_under_prior": {"belief_0.1": {"expected_penalty": 0.59},
                                                    "belief_mean_0.2": {"expected_penalty": 0.19}}}).values())
    ns = [10, 100, 1000, 10_000, 100_000]
    specs += list(c18_plot({"timings": [{"N": n, "autograd_s": 3e-4 + n * 3e-8, "analytic_s": 1e-4 + n * 1e-8,
                                         "fused_s": 1e-5 + n * 5e-10, "mock_s": 3e-5 + n * 4e-8} for n in ns]}).values())
    it = np.arange(0, 10_001, 10)
    target = np.where(it < 5000, 7.12, 9.55)
    specs.append({"kind": "line", "x": it.tolist(), "series": {"Σx": (target * (1 - 0.93 * np.exp(-(it % 5000) / 30))).tolist(),
                                                               "Σx* (target)": target.tolist()},
                  "vlines": [(5000, "target switch")], "xlabel": "iteration", "ylabel": "Σx", "title": "C.15-like"})
    specs.append({"kind": "line", "x": it[:501].tolist(), "logy": True,
                  "series": {"float32": (50 * np.exp(-it[:501] / 300) + 1e-7).tolist(),
                             "float64": (50 * np.exp(-it[:501] / 300)).tolist()}, "title": "C.13-like"})
    rng = np.random.default_rng(0)
    series = [{"x": np.cumsum(rng.normal(size=50)).tolist(), "y": np.cumsum(rng.normal(size=50)).tolist(),
               "label": "random starts" if b == 0 else None, "alpha": 0.4} for b in range(4)]
    specs.append({"kind": "xy", "series": series, "points": [(0.0, 0.0, "x*")], "title": "C.1-like"})
    for spec in specs:
        fig = build_plot(spec)
        assert figure_problems(fig) == [], spec.get("title")
        plt.close(fig)


@pytest.mark.slow
def test_appendix_figures_recomputed():
    """C.1, C.11, C.13, C.15, C.16 from the real experiments (C.13's long run takes ~15 s)."""
    from experiments.appendix_c import Config
    from experiments.appendix_c.convergence import c1
    from experiments.appendix_c.satisficing import c11
    from experiments.appendix_c.tracking import c13, c15, c16

    cfg = Config.quick()
    for f in (c1, c11, c13, c15, c16):
        for name, spec in f(cfg)["_plots"].items():
            fig = build_plot(spec)
            assert figure_problems(fig) == [], name
            plt.close(fig)


# ---------------------------------------------------------------- benchmark


def _record(scenario, contender, family, seed, steps, gaps, seconds=None, n_agents=5, switch=None):
    steps = list(map(int, steps))
    return {"scenario": scenario, "contender": contender, "family": family, "seed": seed, "n_agents": n_agents,
            "curve": {"env_steps": steps, "seconds": list(seconds or np.linspace(1e-4, 1.0, len(steps))),
                      "loss_gap": list(gaps)},
            "after_switch": {"switch_step": switch} if switch else None}


def _benchmark_records():
    recs = []
    steps = np.arange(0, 4001, 5) * 5
    for seed in (0, 1):
        for k, name in enumerate(("mbi-gradient-paper", "mbi-gradient-linesearch", "mbi-gradient-adaptive",
                                  "mbi-gradient-oracle", "mbi-momentum-oracle", "mbi-satisficing-oracle")):
            it = steps / 5
            gap = np.maximum(50 * np.exp(-it / (100 + 150 * k)), 1e-16)
            gap = np.where(it >= 2000, np.maximum(50 * np.exp(-(it - 2000) / (100 + 150 * k)), 1e-16), gap)
            recs.append(_record("C.15", name, "mbi", seed, steps, gap * (1 + 0.1 * seed), switch=2000))
            recs.append(_record("C.2-N1000", name, "mbi", seed, steps[:300] * 200,
                                np.maximum(100 * np.exp(-steps[:300] / (50 + 80 * k)), 1e-16), n_agents=1000))
        for name, gap in (("centralized", 0.0), ("nash", 95.0)):
            recs.append(_record("C.15", name, "classical", seed, steps, np.full(len(steps), gap), switch=2000))
            recs.append(_record("C.2-N1000", name, "classical", seed, [1000], [gap], n_agents=1000))
        ppo_steps = np.arange(1, 21) * 51_200
        recs.append(_record("C.15", "ppo-iterative-team", "ppo", seed, ppo_steps, 60 * np.exp(-ppo_steps / 4e5)))
    return recs


def test_benchmark_figures_pass_the_check_with_staggered_markers():
    recs = _benchmark_records()
    for scenario in ("C.15", "C.2-N1000"):
        fig = build_scenario_figure(recs, scenario, {"mode": "quick"})
        assert figure_problems(fig) == [], scenario
        ax = fig.axes[0]
        stars = np.concatenate([c.get_offset_transform().transform(c.get_offsets()) for c in ax.collections
                                if c.get_label() in ("centralized", "nash")])
        xs = []
        for line in ax.lines:
            idx = line.get_markevery()
            if not isinstance(idx, list) or not idx:
                continue
            pts = line.get_transform().transform(np.asarray(line.get_xydata())[idx])
            d = np.hypot(*(pts[:, None, :] - stars[None, :, :]).transpose(2, 0, 1))
            assert d.min() >= 12.0, (scenario, line.get_label())  # no marker on a star
            xs += [round(float(x), 1) for x in pts[:, 0]]
        assert len(xs) == len(set(xs)), scenario  # no two markers share an x
        plt.close(fig)


def test_benchmark_switch_and_no_ppo_note():
    recs = _benchmark_records()
    fig = build_scenario_figure(recs, "C.15", {"mode": "quick"})
    assert any("target switch" in ln.get_label() for ln in fig.axes[0].lines)
    assert "No PPO" not in fig._suptitle.get_text()
    fig = build_scenario_figure(recs, "C.2-N1000", {"mode": "quick"})
    assert "No PPO curve: this quick-mode run trained PPO only on C.15" in fig._suptitle.get_text()
    assert no_ppo_note(recs, "C.15") == ""


# ---------------------------------------------------------------- IC audit


def _audit_record(gains_at_best, best_ratio):
    lam = [0.1, 0.5, 0.2, 0.4, 0.6]
    ex_post = []
    for a, (t, g, b) in enumerate(zip(lam, gains_at_best, best_ratio)):
        reports = np.linspace(0.05, 1.0, 41)
        r = reports / t
        util = -(np.log(r / b)) ** 2 * t * 4 + g
        ex_post.append({"agent": a, "truth": t, "reports": reports.tolist(), "utilities": util.tolist(),
                        "truthful_utility": float(-(np.log(1 / b)) ** 2 * t * 4 + g), "best_report": b * t, "gain": g})
    return {"ex_post": ex_post, "max_regret": max(gains_at_best)}


def test_ic_audit_figure_dsic_rule_shows_curves_and_separate_dots():
    rec = _audit_record([1.8e-15, 7e-16, 4e-16, 5e-16, 1e-15], [1.0] * 5)
    fig = build_utility_figure("vcg", rec)
    assert figure_problems(fig) == []
    ax, bx = fig.axes[:2]
    assert ax.get_yscale() == "symlog"
    pts, _ = data_points(ax)
    assert len(pts) > 100  # the curves are inside the axes, not a spike leaving them
    dots = bx.collections[0].get_offset_transform().transform(bx.collections[0].get_offsets())
    gaps = np.hypot(*(dots[:, None, :] - dots[None, :, :]).transpose(2, 0, 1)) + np.eye(len(dots)) * 1e9
    assert gaps.min() > 20  # one row per agent: no two best-report dots overlap
    assert all("rounding" in t.get_text() for t in bx.texts)


def test_ic_audit_figure_rule_with_gains_is_linear():
    fig = build_utility_figure("dpm", _audit_record([0.29, 0.002, 0.03, 0.004, 0.001], [1.8, 1.1, 1.3, 1.12, 1.08]))
    assert figure_problems(fig) == []
    assert fig.axes[0].get_yscale() == "linear"


# ---------------------------------------------------------------- rebuild from JSON


@pytest.mark.slow  # a fresh interpreter / every committed figure: 6-7 s
def test_rebuild_figures_from_json(tmp_path):
    records = [r for r in _benchmark_records() if r["scenario"] == "C.2-N1000"]
    (tmp_path / "benchmark.json").write_text(json.dumps({"config": {"mode": "quick"}, "records": records}))
    paths = rebuild_figures(tmp_path / "benchmark.json", tmp_path / "out")
    assert [p.name for p in paths] == ["benchmark_C2-N1000.png"]
    audit = {"c4": {"rules": {"vcg": _audit_record([1e-15] * 5, [1.0] * 5)}}}
    (tmp_path / "ic_audit.json").write_text(json.dumps(audit))
    assert [p.name for p in rebuild_figures(tmp_path / "ic_audit.json", tmp_path / "out")] == ["utility_vs_report_vcg.png"]
    (tmp_path / "figures.json").write_text(json.dumps({"c16_like.png": _c16_like_spec()}))
    assert all(p.is_file() for p in rebuild_figures(tmp_path / "figures.json", tmp_path / "out"))
    with pytest.raises(FileNotFoundError, match="json_path"):
        rebuild_figures(tmp_path / "missing.json", tmp_path)
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="json_path"):
        rebuild_figures(tmp_path / "other.json", tmp_path)
