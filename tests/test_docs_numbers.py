"""Numbers in README.md and docs/*.md are the numbers of the committed results they cite.

This is the one kind of test that reads committed results: its job is to check the docs against
them. Three checks:

- every ``<!-- table: NAME PATH... -->`` block is exactly what ``experiments.docs_tables``
  generates from the files it names (regenerate with ``python -m experiments.docs_tables``);
- every number in a ``<!-- numbers-from: PATH... -->`` table equals some number in those files;
- every number in the prose list ``PROSE`` below equals the value it cites.

Tolerance everywhere: the printed precision, i.e. half a unit in the last significant digit the
text shows (``experiments.docs_tables.matches``; trailing zeros of an integer are not significant).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from experiments import docs_tables
from experiments.docs_tables import matches, numbers_from_blocks, stale_blocks, unmatched_numbers

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@functools.lru_cache(maxsize=16)
def _json(path: str) -> Any:
    return json.loads((ROOT / path).read_text())


def _at(path: str, *keys: Any) -> Callable[[], float]:
    def get() -> float:
        x = _json(path)
        for k in keys:
            x = x[k]
        return x
    return get


def _head(path: str, scenario: str, ppo: str, mbi: str, key: str) -> Callable[[], float]:
    def get() -> float:
        rows = [h for h in _json(path)["headline"] if (h["scenario"], h["ppo"], h["mbi"]) == (scenario, ppo, mbi)]
        assert len(rows) == 1, (scenario, ppo, mbi)
        return rows[0][key]["median"]
    return get


def _ratios(path: str, key: str, keep: Callable[[dict], bool], pick: Callable) -> Callable[[], float]:
    return lambda: pick(h[key]["median"] for h in _json(path)["headline"] if keep(h))


BENCH = "results/benchmark_full/benchmark.json"
V2 = "results/benchmark_full_v2/benchmark.json"
RETUNED = "results/benchmark_c2n100_retuned/benchmark.json"
AMD, INTEL = "results/appendix_c_amd_epyc", "results/appendix_c"
NOT_PAPER = lambda h: not h["mbi"].endswith("-paper")  # noqa: E731

def _mbi_agreement() -> float:
    """Largest relative difference of an MBI run's final loss between the AMD and the Intel full run."""
    amd = {(r["scenario"], r["contender"], r["seed"]): r["final_loss"] for r in _json(BENCH)["records"]}
    return max(abs(r["final_loss"] - amd[k]) / abs(amd[k]) for r in _json(V2)["records"]
               if r["family"] == "mbi" and (k := (r["scenario"], r["contender"], r["seed"])) in amd
               and r["final_loss"] is not None and amd[k])


# (document, the sentence fragment as written, the number in it, what it cites: file, value)
PROSE: list[tuple[str, str, str, str, Callable[[], float]]] = [
    ("README.md", "It took 177–282 s", "177", f"{AMD}/run_meta.json", _at(f"{AMD}/run_meta.json", "seconds")),
    ("README.md", "It took 177–282 s", "282", f"{INTEL}/run_meta.json", _at(f"{INTEL}/run_meta.json", "seconds")),
    ("README.md", "committed quick run took 310 s", "310", "results/benchmark/benchmark.json",
     _at("results/benchmark/benchmark.json", "config", "total_seconds")),
    ("README.md", "(7.5 h of runs, three resumed parts)", "7.5", V2,
     lambda: _json(V2)["config"]["total_seconds"] / 3600),
    ("docs/results.md", "reaches a best gap of 1.7e-4 and beats", "1.7e-4", RETUNED,
     _head(RETUNED, "C.2-N100", "ppo-oneshot-team", "mbi-gradient-paper", "ppo_best_gap")),
    ("docs/results.md", "losses equal the AMD run's to 8.3e-16 relative", "8.3e-16", V2, lambda: _mbi_agreement()),
    ("docs/ppo.md", "on **5/5 seeds** (ratio 0.39;", "0.39", RETUNED,
     _head(RETUNED, "C.2-N100", "ppo-oneshot-team", "mbi-gradient-paper", "steps_ratio")),
    ("docs/ppo.md", "(medians 4.45–6.9×)", "4.45", RETUNED,
     _head(RETUNED, "C.2-N100", "ppo-oneshot-team", "mbi-gradient-linesearch", "steps_ratio")),
    ("docs/ppo.md", "(medians 4.45–6.9×)", "6.9", RETUNED,
     _head(RETUNED, "C.2-N100", "ppo-oneshot-team", "mbi-gradient-oracle", "steps_ratio")),
    ("README.md", "C.2's relative gap: 0 vs 4.2e-16", "0", f"{AMD}/appendix_c.json",
     _at(f"{AMD}/appendix_c.json", "C.2", "measured", "rel_loss_gap")),
    ("README.md", "C.2's relative gap: 0 vs 4.2e-16", "4.2e-16", f"{INTEL}/appendix_c.json",
     _at(f"{INTEL}/appendix_c.json", "C.2", "measured", "rel_loss_gap")),
    ("README.md", "about 6–12 s wall", "6", "results/timings/readme_timings.json",
     lambda: min(r["wall_seconds"] for r in _json("results/timings/readme_timings.json")["demo_assembly_line"]["runs"])),
    ("README.md", "about 6–12 s wall", "12", "results/timings/readme_timings.json",
     lambda: max(r["wall_seconds"] for r in _json("results/timings/readme_timings.json")["demo_assembly_line"]["runs"])),
    ("README.md", "(3 s CPU)", "3", "results/timings/readme_timings.json",
     lambda: max(r["cpu_seconds"] for r in _json("results/timings/readme_timings.json")["demo_assembly_line"]["runs"])),
    ("docs/testing.md", "| 949 passed, 3 skipped", "949", "results/timings/test_suite.json", _at("results/timings/test_suite.json", "result", "passed")),
    ("docs/testing.md", "589 s (pytest's count", "589", "results/timings/test_suite.json", _at("results/timings/test_suite.json", "pytest_wall_seconds")),
    ("docs/ecosystem.md", "`tests/test_ecosystem_recipes.py` 77 passed", "77", "results/timings/test_suite.json",
     _at("results/timings/test_suite.json", "per_file_default_suite", "tests/test_ecosystem_recipes.py", "passed")),
    ("docs/ecosystem.md", "`tests/test_envs_ecosystem.py` 167", "167", "results/timings/test_suite.json",
     _at("results/timings/test_suite.json", "per_file_default_suite", "tests/test_envs_ecosystem.py", "passed")),
    # docs/results.md: the head-to-head's "where PPO wins"
    ("docs/results.md", "ratio 0.11 and 0.44", "0.11", BENCH,
     _head(BENCH, "C.2-N100", "ppo-oneshot-team", "mbi-gradient-paper", "steps_ratio")),
    ("docs/results.md", "ratio 0.11 and 0.44", "0.44", BENCH,
     _head(BENCH, "C.2-N100", "ppo-oneshot-difference", "mbi-gradient-paper", "steps_ratio")),
    ("docs/results.md", "C.4 (team, 0.87)", "0.87", BENCH,
     _head(BENCH, "C.4", "ppo-oneshot-team", "mbi-gradient-paper", "steps_ratio")),
    ("docs/results.md", "Tuned PPO reaches 3e-4 on C.2", "3e-4", BENCH,
     _head(BENCH, "C.2-N100", "ppo-oneshot-team", "mbi-gradient-paper", "ppo_best_gap")),
    ("docs/results.md", "on C.2 N = 100 (5–7×)", "5", BENCH,
     _head(BENCH, "C.2-N100", "ppo-oneshot-difference", "mbi-gradient-paper", "seconds_ratio")),
    ("docs/results.md", "on C.2 N = 100 (5–7×)", "7", BENCH,
     _head(BENCH, "C.2-N100", "ppo-oneshot-team", "mbi-gradient-paper", "seconds_ratio")),
    ("docs/results.md", "and C.4 (9×)", "9", BENCH,
     _head(BENCH, "C.4", "ppo-oneshot-team", "mbi-gradient-paper", "seconds_ratio")),
    ("docs/results.md", "PPO's best gap\n  3.3e-4 to the global minimum", "3.3e-4", BENCH,
     _head(BENCH, "C.10", "ppo-oneshot-team", "mbi-gradient-paper", "ppo_best_gap")),
    ("docs/results.md", "(343× fewer agent-steps than PPO)", "343", BENCH,
     _head(BENCH, "C.10", "ppo-oneshot-team", "mbi-gradient-linesearch", "steps_ratio")),
    ("docs/results.md", "1.2–2.6× fewer", "1.2", BENCH,
     _ratios(BENCH, "steps_ratio", lambda h: NOT_PAPER(h) and h["scenario"] == "C.2-N100" and h["ppo"] ==
             "ppo-oneshot-team", min)),
    ("docs/results.md", "1.2–2.6× fewer", "2.6", BENCH,
     _ratios(BENCH, "steps_ratio", lambda h: NOT_PAPER(h) and h["scenario"] == "C.2-N100" and h["ppo"] ==
             "ppo-oneshot-team", max)),
    ("docs/results.md", "12–416× at N = 1000", "12", BENCH,
     _ratios(BENCH, "steps_ratio", lambda h: NOT_PAPER(h) and h["scenario"] == "C.2-N1000", min)),
    ("docs/results.md", "12–416× at N = 1000", "416", BENCH,
     _ratios(BENCH, "steps_ratio", lambda h: NOT_PAPER(h) and h["scenario"] == "C.2-N1000", max)),
    ("docs/results.md", "157–2,200× on C.1, C.2 N = 2 and C.4", "157", BENCH,
     _ratios(BENCH, "steps_ratio", lambda h: NOT_PAPER(h) and h["scenario"] in ("C.1", "C.2-N2", "C.4"), min)),
    ("docs/results.md", "157–2,200× on C.1, C.2 N = 2 and C.4", "2,200", BENCH,
     _ratios(BENCH, "steps_ratio", lambda h: NOT_PAPER(h) and h["scenario"] in ("C.1", "C.2-N2", "C.4"), max)),
    ("docs/results.md", "to a gap\n  of 2.8", "2.8", BENCH,
     _head(BENCH, "C.15", "ppo-iterative-team", "mbi-gradient-paper", "ppo_best_gap")),
    ("docs/results.md", "(`--quick --seeds 0 1 2`, 310 s", "310", "results/benchmark/benchmark.json",
     _at("results/benchmark/benchmark.json", "config", "total_seconds")),
    # docs/results.md: Appendix C prose
    ("docs/results.md", "η < 1/(N+λ) = 0.009999", "0.009999", f"{INTEL}/appendix_c.json",
     _at(f"{INTEL}/appendix_c.json", "C.7", "measured", "loss")),
    ("docs/results.md", "an agent gains 0.289 by misreporting", "0.289", "results/ic_audit/ic_audit.json",
     _at("results/ic_audit/ic_audit.json", "c4", "rules", "dpm", "max_regret")),
]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_generated_tables_are_current(doc):
    stale = stale_blocks(doc.read_text())
    assert not stale, f"{doc.name}: tables out of date, run `python -m experiments.docs_tables`: {stale}"


def test_readme_and_results_have_generated_tables():
    text = (ROOT / "README.md").read_text()
    assert "<!-- table: benchmark-headline " in text and "<!-- table: appendix-c-spread " in text
    results = (ROOT / "docs" / "results.md").read_text()
    assert "<!-- table: appendix-c-summary " in results and "<!-- table: benchmark-matrix " in results


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_hand_written_tables_match_their_sources(doc):
    for sources, labels, table in numbers_from_blocks(doc.read_text()):
        missing = unmatched_numbers(table, sources, labels)
        assert not missing, f"{doc.name}: numbers not in {sources} (at their printed precision): {missing}"


def test_the_table_check_catches_a_wrong_number():
    """A digit changed in a hand-written table is caught (in a large file a wrong number can still
    equal some other number by chance: 0.289 -> 0.298 happens to be an AGV witness's report)."""
    text = (ROOT / "docs" / "results.md").read_text()
    sources, labels, table = next(b for b in numbers_from_blocks(text) if "0.289 / 3.17" in b[2])
    assert unmatched_numbers(table, sources, labels) == []
    assert unmatched_numbers(table.replace("0.289 / 3.17", "0.389 / 3.17"), sources, labels) == ["0.389"]
    assert unmatched_numbers(table.replace("0.0676", "0.0667"), sources, labels) == ["0.0667"]


@pytest.mark.parametrize("doc, phrase, token, source, value", PROSE, ids=[f"{p[0]}:{p[2]}" for p in PROSE])
def test_prose_number_is_the_cited_value(doc, phrase, token, source, value):
    assert phrase in (ROOT / doc).read_text(), f"{doc} no longer says {phrase!r}: update PROSE"
    assert token in phrase
    v = value()
    assert matches(token, v), f"{doc}: {token!r} in {phrase!r}, but {source} gives {v!r}"


def test_matches_tolerance_is_the_printed_precision():
    assert matches("0.258", 0.25815808) and not matches("0.258", 0.2586)
    assert matches("1,248", 1248.0) and not matches("1,248", 1249.0)
    assert matches("2,200", 2218.7) and not matches("2,200", 2260.0)
    assert matches("1.47e+03", 1468.3) and matches("4.2e-16", 4.1675e-16)


def test_generator_refuses_an_unknown_table_or_a_missing_source():
    from mechanism.errors import InvalidParameterError
    with pytest.raises(InvalidParameterError, match="unknown table generator 'nope'"):
        docs_tables.regenerate("<!-- table: nope x.json -->\n<!-- /table -->")
    with pytest.raises(InvalidParameterError, match="results/no_such_run/benchmark.json"):
        docs_tables.regenerate("<!-- table: benchmark-matrix results/no_such_run/benchmark.json -->\n<!-- /table -->")


def test_check_flags_a_stale_table_and_a_rewrite_fixes_it(tmp_path, capsys):
    doc = tmp_path / "page.md"
    doc.write_text("intro\n<!-- table: appendix-c-summary results/appendix_c/appendix_c.json -->\n| old |\n"
                   "<!-- /table -->\nend\n")
    assert docs_tables.main(["--check", str(doc)]) == 1
    assert "appendix-c-summary" in capsys.readouterr().out
    assert docs_tables.main([str(doc)]) == 0
    assert docs_tables.main(["--check", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith("<!-- /table -->\nend\n") and "| C.6 |" in text


def test_docs_list_every_registered_env_id():
    import mbi_envs
    envs, design = (ROOT / "docs" / "envs.md").read_text(), (ROOT / "docs" / "design.md").read_text()
    for env_id in mbi_envs.env_ids():
        assert f"| `{env_id}` |" in envs, f"docs/envs.md's table lacks {env_id}"
        assert f"`{env_id}`" in design, f"docs/design.md's id list lacks {env_id}"
