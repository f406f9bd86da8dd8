"""``scripts/benchmark.py --ppo-tuned``: PPO rows with another tuning are other jobs (other record
keys) while every other job keeps its key, the run uses the file's hyperparameters, and the
report says which configuration each PPO row used."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.benchmark import scenarios
from experiments.benchmark.markdown import ppo_configurations
from experiments.benchmark.others import TUNED_PATH, PPOContender, load_tuned, tuned_differs
from experiments.benchmark.runner import benchmark_jobs, planned_runs, run_job

KEY = "symmetric_large/one_shot/team"


def _retuned(tmp_path: Path, **change) -> Path:
    entry = {**load_tuned()[KEY], **change}
    entry.pop("source")
    path = tmp_path / "ppo_tuned_v2.json"
    path.write_text(json.dumps({"configs": {KEY: entry}}))
    return path


def test_later_files_replace_earlier_entries_and_name_their_source(tmp_path):
    path = _retuned(tmp_path, batch_size=1600)
    joined = load_tuned([TUNED_PATH, path])
    assert joined[KEY]["batch_size"] == 1600 and joined[KEY]["source"] == f"{path}: {KEY}"
    assert joined["assembly/one_shot/team"]["source"] == "results/ppo_tuned.json: assembly/one_shot/team"
    assert tuned_differs(KEY, joined) and not tuned_differs("assembly/one_shot/team", joined)
    assert not tuned_differs(KEY, load_tuned([TUNED_PATH, _retuned(tmp_path)]))  # same numbers, other file
    assert tuned_differs(KEY, {}) and not tuned_differs("no/such/entry", {})  # default reference: the committed file
    (tmp_path / "empty.json").write_text("{}")
    assert load_tuned([tmp_path / "empty.json"]) == {}  # a file without configs adds nothing


def test_only_the_retuned_ppo_jobs_change_key(tmp_path):
    sc = scenarios("quick", keys=["C.2-N100"])
    default = benchmark_jobs("quick", 1.0, sc, [0, 1])
    retuned = benchmark_jobs("quick", 1.0, sc, [0, 1], ppo_tuned=[str(TUNED_PATH), str(_retuned(tmp_path, batch_size=1600))])
    changed = [(a.label, b.config) for a, b in zip(default, retuned) if a.key != b.key]
    assert [label for label, _ in changed] == ["C.2-N100 ppo-oneshot-team seed 0", "C.2-N100 ppo-oneshot-team seed 1"]
    assert all(cfg["hyperparameters"]["batch_size"] == 1600 for _, cfg in changed)
    same = benchmark_jobs("quick", 1.0, sc, [0, 1], ppo_tuned=[str(TUNED_PATH)])
    assert [j.key for j in same] == [j.key for j in default]  # the default file named explicitly: same jobs
    assert len(retuned) == len(default) == planned_runs(sc, [0, 1])  # every applicable contender, every seed


def test_a_file_without_the_entry_gives_that_row_the_defaults(tmp_path):
    path = tmp_path / "only_large.json"
    entry = {k: v for k, v in load_tuned()[KEY].items() if k != "source"}
    path.write_text(json.dumps({"configs": {KEY: entry}}))
    sc = scenarios("quick", keys=["C.2-N2"])  # reads symmetric_small, which this file lacks
    job = next(j for j in benchmark_jobs("quick", 1.0, sc, [0], ppo_tuned=[str(path)])
               if j.config["contender"] == "ppo-oneshot-team")
    assert job.config["hyperparameters"] == {} and job.config["hyperparameters_from"] is None


def test_a_retuned_job_trains_with_the_files_hyperparameters(tmp_path):
    sc = scenarios("quick", budget=0.05, keys=["C.2-N2"])
    path = tmp_path / "t.json"
    entry = {k: v for k, v in load_tuned()["symmetric_small/one_shot/team"].items() if k != "source"}
    path.write_text(json.dumps({"configs": {"symmetric_small/one_shot/team": {**entry, "batch_size": 32,
                                                                              "n_steps": 16}}}))
    job = next(j for j in benchmark_jobs("quick", 0.05, sc, [0], ppo_tuned=[str(path)])
               if j.config["contender"] == "ppo-oneshot-team")
    record = run_job(job.config)
    assert record["params"]["config"]["batch_size"] == 32
    assert record["params"]["hyperparameters"] == f"{path}: symmetric_small/one_shot/team"
    table = "\n".join(ppo_configurations([record]))
    assert "| C.2-N2 | ppo-oneshot-team | 0 |" in table and "| 32 | 16 |" in table


def test_ppo_contender_names_its_tuning_entry():
    sc = scenarios("quick", keys=["C.2-N100"])[0]
    assert PPOContender("one_shot", "difference").tuning_key(sc) == "symmetric_large/one_shot/difference"


@pytest.mark.parametrize("extra", [["--from-json", "results/benchmark_full/benchmark.json"],
                                   ["--estimate-from", "results/benchmark_full/benchmark.json"]])
def test_ppo_tuned_is_refused_where_nothing_runs(extra, tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark", Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    with pytest.raises(SystemExit):
        bench.parse_args([*extra, "--ppo-tuned", str(TUNED_PATH), "--out", str(tmp_path / "o")])
    assert "--ppo-tuned" in capsys.readouterr().err


@pytest.mark.parametrize("content, words", [("{bad", "is not a tuned-configurations JSON object"),
                                             ("[1, 2]", "is not a tuned-configurations JSON object"),
                                             ('{"families": {}}', 'has no "configs" object')])
def test_a_malformed_tuned_file_is_refused_before_anything_runs(content, words, tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark", Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bad = tmp_path / "tuned.json"
    bad.write_text(content)
    with pytest.raises(SystemExit):
        bench.parse_args(["--ppo-tuned", str(bad), "--out", str(tmp_path / "o")])
    assert words in capsys.readouterr().err and not (tmp_path / "o").exists()
