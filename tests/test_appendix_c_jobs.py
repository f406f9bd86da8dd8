"""scripts/reproduce_appendix_c.py as a job set: records per experiment, resume, report from records."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

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
