"""Every script answers ``--help`` before its heavy imports: argparse runs first, so ``--help`` (and a
bad value) costs a fraction of a second instead of the 5–20 s of importing torch, SB3 or torchrl.

A module-import test, not a timed one: each script's ``--help`` runs in a fresh interpreter
(``runpy``, SystemExit caught) and the test asserts exit 0 and that none of :data:`HEAVY` is in
``sys.modules`` afterwards. The names a script lists before importing its package (modes,
scenario keys, families, methods) are checked against the package here.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.name for p in (ROOT / "scripts").glob("*.py"))
HEAVY = ("torch", "stable_baselines3", "scipy", "torchrl", "numba", "matplotlib", "pandas", "tensordict", "optuna",
         "benchmarl", "ray", "mbi_envs", "mechanism", "baselines")

PROBE = """
import contextlib, io, json, runpy, sys
sys.argv = [sys.argv[1], "--help"]
code, out = None, io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "help": out.getvalue(), "heavy": [m for m in HEAVY if m in sys.modules]}))
"""


def _help(script: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", str(ROOT / "scripts" / script)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_script_is_covered():
    assert len(SCRIPTS) >= 20 and "benchmark.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_exits_0_without_heavy_imports(script):
    result = _help(script)
    assert result["code"] in (0, None) and "usage:" in result["help"]
    assert result["heavy"] == [], f"{script} --help imported {result['heavy']}"


def test_no_script_takes_a_bare_int_or_float():
    """Numeric options use the checked types of experiments.cli (positive_int, nonnegative_int, ...),
    so --seed -1 or --iterations 0 is an argparse error naming the option and the value."""
    bare = [f"{name}: {m.group(0)}" for name in SCRIPTS
            for m in re.finditer(r"type=(int|float)\b", (ROOT / "scripts" / name).read_text())]
    assert bare == []


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"help_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_names_listed_before_the_heavy_import_match_the_packages():
    """The choices a script spells out for --help are the package's own."""
    import mbi_envs
    from experiments.benchmark import MODES, scenarios
    from experiments.jobs import ENGINES
    from experiments.ppo_tuning import FAMILY_SCENARIOS
    from experiments.real_problems import MODES as REAL_MODES
    from experiments.scale import METHODS
    from mbi_envs.scenarios.type_report_v0 import PAYMENTS

    bench = _script("benchmark")
    assert bench.MODE_NAMES == tuple(sorted(MODES)) and bench.ENGINE_NAMES == ENGINES
    assert bench.SCENARIO_KEYS == tuple(s.key for s in scenarios("quick"))
    assert _script("real_problems").MODE_NAMES == tuple(sorted(REAL_MODES))
    assert _script("ppo_sweep").FAMILIES == tuple(FAMILY_SCENARIOS)
    assert _script("measure_ppo_symmetric").REWARD_MODES == tuple(mbi_envs.REWARD_MODES)
    assert _script("scale").METHODS == tuple(METHODS)
    assert _script("ic_audit").PAYMENTS == tuple(PAYMENTS)
    tasks = _script("benchmarl_run").TASKS
    assert tasks and set(tasks) <= set(mbi_envs.env_ids())
