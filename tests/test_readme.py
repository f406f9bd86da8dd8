"""The README's "load a trained PPO model and evaluate it beside MBI" snippet runs as written."""
from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _snippet(name: str) -> str:
    text = README.read_text()
    match = re.search(rf"<!-- snippet: {name} -->\n```python\n(.*?)```", text, re.S)
    assert match, f"README has no snippet {name!r}"
    return match.group(1)


def test_readme_ppo_beside_mbi_snippet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_snippet("ppo-beside-mbi"), "README.md", "exec"), namespace)
    assert (tmp_path / "runs" / "ppo_small" / "model.zip").exists()
    ppo = namespace["results"]["PPO"].aggregates["loss_gap"]
    mbi = namespace["results"]["MBI"].aggregates["loss_gap"]
    assert ppo["n"] == mbi["n"] == 2 and math.isfinite(ppo["mean"])
    assert mbi["mean"] < 1e-6 < ppo["mean"]
    printed = out.getvalue().splitlines()
    assert printed[0].startswith("PPO: mean loss gap") and printed[1].startswith("MBI: mean loss gap")
    # the numbers the README quotes are what the snippet prints
    text = README.read_text()
    for line in printed:
        assert f"`{line}`" in text
