"""Printed tables degrade to full-width plain text off a terminal (a log keeps every character: no
"ppo-one…" cut at 80 columns), are drawn by rich on a terminal without cutting, and are written to
the output folder; the scale table says when a run has not converged."""
from __future__ import annotations

import csv
import io
from collections import Counter

from experiments.console import markdown_table, plain_table, print_table

LONG = ("C.2-N1000", "ppo-one-shot-team-tuned-vectorized", "mbi-gradient-agents-adaptive-step-oracle-free",
        "12.3", "∞", "mbi-gradient-agents-adaptive-step-oracle-free", "ppo-one-shot-team-tuned-vectorized")
COLUMNS = ("scenario", "PPO", "MBI", "steps ratio PPO/MBI", "time ratio", "fewer steps", "less time")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_the_table_is_full_width_plain_text(tmp_path):
    stream = io.StringIO()  # not a terminal, like a log file or a pipe
    written = print_table("Headline", COLUMNS, [LONG], file=stream, csv_path=tmp_path / "t.csv")
    text = stream.getvalue()
    assert text == plain_table("Headline", COLUMNS, [LONG]) + "\n"
    assert "…" not in text and all(cell in text for cell in LONG)
    assert max(len(line) for line in text.splitlines()) > 80  # wider than rich's default for a non-terminal
    with open(written, newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [list(COLUMNS), list(LONG)]


def test_on_a_terminal_rich_draws_it_and_folds_instead_of_cutting():
    stream = _Terminal()
    print_table("Headline", COLUMNS, [LONG], file=stream)
    text = stream.getvalue()
    assert "…" not in text and "Headline" in text and "scenario" in text
    # folded cells are split over lines (and interleaved with their neighbours): every character stays
    wanted = Counter(ch for cell in (*COLUMNS, *LONG) for ch in cell if not ch.isspace())
    assert not wanted - Counter(ch for ch in text if not ch.isspace())


def test_markdown_table_pads_columns_and_rejects_ragged_rows():
    lines = markdown_table(("a", "bb"), [("x", None), ("long cell", "1"), ("|G|", "2")]).splitlines()
    assert lines[0] == "| a         | bb  |" and lines[1] == "|-----------|-----|" and lines[2] == "| x         |     |"
    assert lines[4] == "| \\|G\\|     | 2   |"  # a pipe in a cell is escaped, as Markdown reads it
    try:
        markdown_table(("a", "b"), [("x",)])
    except ValueError as exc:
        assert "row 0 has 1 cells; the table has 2 columns" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("a ragged row was accepted")


def test_benchmark_headline_prints_whole_names_and_is_written_beside_the_json(tmp_path, capsys):
    from experiments.benchmark.command import print_summary

    ratio = {"median": 12.3, "ci_low": 10.0, "ci_high": 15.0, "n": 3, "n_null": 0}
    never = {"median": None, "ci_low": None, "ci_high": None, "n": 3, "n_null": 3}
    payload = {"headline": [{"scenario": "C.2-N1000", "ppo": LONG[1], "mbi": LONG[2], "steps_ratio": ratio,
                             "seconds_ratio": never, "winner_steps": "MBI", "winner_seconds": "MBI"}]}
    path = print_summary(payload, tmp_path / "benchmark_headline.csv")
    out = capsys.readouterr().out
    assert LONG[1] in out and LONG[2] in out and "…" not in out
    assert LONG[2] in path.read_text(encoding="utf-8")


def test_reproduction_summary_is_written_as_csv(tmp_path, capsys):
    from experiments.report import print_summary

    results = {"C.1": {"status": "error", "error": "not run yet", "verdict": {"numbers": "error", "claim": "error"}}}
    path = print_summary(results, tmp_path / "summary.csv")
    assert "| C.1        | error   | error | not run yet |" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8").splitlines()[0] == "experiment,numbers,claim,key number"


def test_scale_table_says_the_run_has_not_converged():
    from experiments.scale import convergence_status, relative_gap, to_markdown

    record = {"n_agents": 10 ** 6, "method": "fused", "iters": 20, "status": "budget_exhausted",
              "seconds_per_iteration": 1e-3, "agent_updates_per_second": 1e9, "mock_seconds_per_iteration": None,
              "speedup_vs_mock": None, "numpy_pass_seconds": None, "ratio_to_numpy_pass": None,
              "peak_memory_bytes": None, "final_loss": 404354.0, "optimal_loss": 9.99e-05}
    payload = {"machine": {"cpu": "cpu", "cores": 2, "torch": "2", "numba": "0"},
               "config": {"device": "cpu", "dtype": "float32", "world_size": 1, "iters": 20, "repeats": 1},
               "records": [record], "fits": {"fit_min_n": 1e5}, "targets": []}
    text = to_markdown(payload)
    assert "| not converged after 20 iterations | 4.05e+09 |" in text
    assert "Not converged, by design" in text
    assert convergence_status({**record, "status": "converged", "iters": 7}) == "converged after 7 iterations"
    assert relative_gap({**record, "optimal_loss": 0.0}) is None
