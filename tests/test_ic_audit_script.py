"""scripts/ic_audit.py end to end (one to two minutes on 2 cores: marked slow)."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))


@pytest.mark.slow
def test_ic_audit_quick_writes_records_plots_and_markdown(tmp_path):
    import ic_audit

    ic_audit.main(["--quick", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "ic_audit.json").read_text())
    rules = data["c4"]["rules"]
    assert set(rules) == {"none", "dpm", "groves_h0", "vcg", "agv"}
    for rec in rules.values():
        assert {"max_regret", "mean_regret", "budget_surplus", "efficiency_loss"} <= set(rec)
    assert rules["vcg"]["max_regret"] <= 1e-6 and rules["dpm"]["max_regret"] > 0.1
    assert data["c4"]["claim_axis"]["holds"] is False
    assert rules["vcg"]["verdict"]["dsic"] == "proved" and rules["dpm"]["verdict"]["dsic"] == "violated"
    c17 = data["c17"]["rules"]["bayes_dpm"]["labels"]["bic"]
    assert c17["status"] == "violated" and c17["witness"]["agent"] in (1, 2, 3, 4) and c17["witness"]["gain"] > 0.05
    assert data["c17"]["claim_axis"]["holds"] is False
    assert "| dpm |" in (tmp_path / "ic_audit.md").read_text()
    assert (tmp_path / "utility_vs_report_dpm.png").stat().st_size > 1000


def test_ic_audit_rejects_negative_ppo_steps(tmp_path):
    import ic_audit

    with pytest.raises(SystemExit):
        ic_audit.parse_args(["--out", str(tmp_path), "--ppo-steps", "-1"])


def test_ic_audit_refuses_a_file_as_out_before_any_work(tmp_path, capsys):
    import ic_audit

    target = tmp_path / "a_file"
    target.write_text("x")
    with pytest.raises(SystemExit) as exc:
        ic_audit.main(["--quick", "--out", str(target)])
    assert exc.value.code == 2 and f"argument --out: '{target}' is a file; expected a folder" in capsys.readouterr().err
