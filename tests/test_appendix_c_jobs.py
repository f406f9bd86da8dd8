"""scripts/reproduce_appendix_c.py as a job set: records per experiment, resume, report from records."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from experiments.appendix_c import Config, run_all, sanitize

ROOT = Path(__file__).resolve().parents[1]


def _cli():
    spec = importlib.util.spec_from_file_location("reproduce_cli", ROOT / "scripts" / "reproduce_appendix_c.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _numbers(obj):
    if isinstance(obj, dict):
        return {k: _numbers(v) for k, v in obj.items() if "seconds" not in k}
    if isinstance(obj, list):
        return [_numbers(v) for v in obj]
    return obj


def test_resumed_reproduction_skips_finished_experiments_and_matches_run_all(tmp_path, capsys):
    argv = ["--tiny", "--only", "C.1,C.14", "--out", str(tmp_path), "--no-progress"]
    assert _cli().main(argv) == 0
    records = sorted((tmp_path / "records").glob("*.json"))
    assert len(records) == 2
    records[0].unlink()  # as if stopped before that experiment finished
    capsys.readouterr()
    assert _cli().main(argv) == 0
    assert "2 jobs, 1 already done" in capsys.readouterr().out
    written = json.loads((tmp_path / "appendix_c.json").read_text())
    direct = sanitize(run_all(Config.tiny(seed=0, out=tmp_path), only=["C.1", "C.14"], progress=False))
    assert _numbers(written) == _numbers(direct)


def test_report_marks_an_experiment_that_has_no_record_yet(tmp_path, monkeypatch):
    cli = _cli()
    real = cli.run_jobs

    def stopped_early(jobs, out, **kw):  # a run interrupted after its first experiment
        result = real(jobs[:1], out, **kw)
        result.jobs, result.records = list(jobs), result.records + [None] * (len(jobs) - 1)
        return result

    monkeypatch.setattr(cli, "run_jobs", stopped_early)
    assert cli.main(["--tiny", "--only", "C.1,C.14", "--out", str(tmp_path), "--no-progress"]) == 1
    written = json.loads((tmp_path / "appendix_c.json").read_text())
    assert written["C.1"]["status"] == "ok" and written["C.14"]["status"] == "error"
    assert "not run yet (interrupted)" in (tmp_path / "report.md").read_text()


def test_real_problems_refuses_a_file_as_out_before_any_work(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("real_cli", ROOT / "scripts" / "real_problems.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bad = tmp_path / "f"
    bad.write_text("")
    with pytest.raises(SystemExit) as exc:
        module.main(["--quick", "--out", str(bad)])
    assert exc.value.code == 2
    assert f"argument --out: '{bad}' is a file; expected a folder" in capsys.readouterr().err
    from experiments.real_problems import real_problem_jobs

    assert [j.label for j in real_problem_jobs("quick")] == ["dispatch", "supply_chain", "hit_rate"]


def test_scale_jobs_are_one_per_n_and_keyed_by_that_n_alone():
    from experiments.scale import ScaleConfig, scale_jobs

    two = scale_jobs(ScaleConfig(n_agents=(10, 100), iters=2))
    three = scale_jobs(ScaleConfig(n_agents=(1000, 10, 100), iters=2))
    assert [j.label for j in three] == ["N=1e+01", "N=1e+02", "N=1e+03"]
    assert [j.key for j in two] == [j.key for j in three][:2]  # adding an N keeps the measured ones
    assert scale_jobs(ScaleConfig(n_agents=(10,), iters=3))[0].key != two[0].key
