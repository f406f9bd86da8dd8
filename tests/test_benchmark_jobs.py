"""scripts/benchmark.py as a resumable job set: an interrupted run resumes without redoing
finished runs and gives the numbers of an uninterrupted run; one writer per --out; the report
of an unfinished run names what is missing."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.jobs import OutputLock

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--scenarios", "C.1", "--budget", "0.05", "--seeds", "0", "1", "--no-progress"]  # 16 MBI/classical runs


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def numbers(obj):
    """A record or payload without its timings (seconds differ from run to run; nothing else may)."""
    if isinstance(obj, dict):
        return {k: numbers(v) for k, v in obj.items() if "seconds" not in k and k not in ("metadata", "machine")}
    if isinstance(obj, list):
        return [numbers(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "whole"
    _load("benchmark").main([*TINY, "--out", str(out)])
    return out


def test_resume_skips_finished_runs_and_matches_an_uninterrupted_run(uninterrupted, tmp_path, capsys):
    bench = _load("benchmark")
    out = tmp_path / "resumed"
    records = uninterrupted / "records"
    kept = sorted(records.glob("*.json"))[:9]  # an interrupted run: 9 of 16 records were written
    (out / "records").mkdir(parents=True)
    for p in kept:
        (out / "records" / p.name).write_text(p.read_text())
    capsys.readouterr()
    bench.main([*TINY, "--out", str(out)])
    log = capsys.readouterr().out
    assert "16 jobs, 9 already done" in log and "skipped 9 finished run(s), ran 7" in log
    for p in kept:  # finished runs were not redone (their files are the old ones, timings included)
        assert (out / "records" / p.name).read_text() == p.read_text()
    whole = json.loads((uninterrupted / "benchmark.json").read_text())
    again = json.loads((out / "benchmark.json").read_text())
    assert len(again["records"]) == 16
    assert numbers(again["records"]) == numbers(whole["records"])
    assert numbers(again["headline"]) == numbers(whole["headline"])


def test_report_of_an_unfinished_run_names_the_missing_runs(uninterrupted, tmp_path, capsys):
    out = tmp_path / "part"
    (out / "records").mkdir(parents=True)
    for p in sorted((uninterrupted / "records").glob("*.json"))[:5]:
        (out / "records" / p.name).write_text(p.read_text())
    with pytest.raises(SystemExit) as exc:
        _load("benchmark").main([*TINY, "--out", str(out), "--report-only"])
    assert exc.value.code == 1
    report = (out / "benchmark.md").read_text()
    assert "Incomplete: 11 of 16 planned runs have no record" in report
    assert json.loads((out / "benchmark.json").read_text())["config"]["unfinished"]
    assert len(list((out / "records").glob("*.json"))) == 5  # --report-only ran nothing


def test_a_second_run_on_a_locked_out_exits_naming_the_holder(tmp_path, capsys):
    with OutputLock(tmp_path):
        with pytest.raises(SystemExit) as exc:
            _load("benchmark").main([*TINY, "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --out: {tmp_path} is in use by pid {os.getpid()} on host" in err
    assert not (tmp_path / "records").exists()


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys):
    bad = tmp_path / "f"
    bad.write_text("")
    with pytest.raises(SystemExit):
        _load("benchmark").main([*TINY, "--out", str(bad / "sub")])
    assert "argument --out:" in capsys.readouterr().err and bad.read_text() == ""


@pytest.mark.slow
def test_benchmark_killed_midway_resumes_to_the_same_numbers(uninterrupted, tmp_path):
    """The real thing: the command SIGKILLed after its first records, then rerun with the same --out."""
    out = tmp_path / "killed"
    cmd = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), *TINY, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    end = time.monotonic() + 120
    while len(list((out / "records").glob("*.json"))) < 4:
        assert proc.poll() is None and time.monotonic() < end
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list((out / "records").glob("*.json")))
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"skipped {done} finished run(s), ran {16 - done}" in rerun.stdout
    assert "taking over a stale lock" in rerun.stderr
    whole = json.loads((uninterrupted / "benchmark.json").read_text())
    again = json.loads((out / "benchmark.json").read_text())
    assert numbers(again["records"]) == numbers(whole["records"])


def test_parts_split_by_scenario_or_seed_have_the_keys_of_the_whole_run():
    """Why merging parts is resuming: a run's key does not depend on the other runs asked for."""
    from experiments.benchmark import scenarios
    from experiments.benchmark.runner import benchmark_jobs

    whole = {j.key for j in benchmark_jobs("quick", 1.0, scenarios("quick"), [0, 1])}
    part_a = {j.key for j in benchmark_jobs("quick", 1.0, scenarios("quick", keys=["C.1", "C.4"]), [1])}
    part_b = {j.key for j in benchmark_jobs("quick", 1.0, scenarios("quick", keys=["C.2-N2"]), [0, 1])}
    assert part_a <= whole and part_b <= whole and not part_a & part_b
    assert not whole & {j.key for j in benchmark_jobs("quick", 0.5, scenarios("quick", 0.5), [0, 1])}
