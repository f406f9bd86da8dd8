"""The benchmark and reproduction CLIs reject bad values with argparse errors naming option and value."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv, expected", [
    (["--out", "x", "--budget", "0"], "argument --budget: must be a number > 0, got '0'"),
    (["--out", "x", "--budget", "abc"], "argument --budget: must be a number, got 'abc'"),
    (["--out", "x", "--scenarios", "C.99"], "argument --scenarios: invalid choice: 'C.99' (choose from C.1,"),
    (["--out", "x", "--from-json", "no/such.json"], "argument --from-json: no such file: 'no/such.json'"),
    (["--out", "x", "--mode", "huge"], "argument --mode: invalid choice: 'huge'"),
    (["--out", "x", "--seeds", "-1"], "argument --seeds: must be an integer >= 0, got '-1'"),
    (["--out", "x", "--seeds", "0", "0"], "argument --seeds: a seed is repeated in [0, 0]"),
    (["--out", "x", "--workers", "0"], "argument --workers: must be an integer >= 1, got '0'"),
    (["--out", "pyproject.toml"], "argument --out: 'pyproject.toml' is a file; expected a folder"),
])
def test_benchmark_cli_errors(argv, expected, capsys):
    with pytest.raises(SystemExit) as exc:
        _load("benchmark").parse_args(argv)
    assert exc.value.code == 2 and expected in capsys.readouterr().err


def test_benchmark_cli_rejects_a_file_that_is_not_a_benchmark(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit):
        _load("benchmark").parse_args(["--out", "x", "--estimate-from", str(bad)])
    assert f"argument --estimate-from: '{bad}' is not valid JSON" in capsys.readouterr().err


def test_benchmark_cli_refuses_to_merge_runs_of_different_modes(tmp_path, capsys):
    """Two parts of different modes are not one run: a clear CLI error, not a traceback."""
    import json
    parts = []
    for mode in ("quick", "full"):
        f = tmp_path / f"{mode}.json"
        f.write_text(json.dumps({"config": {"mode": mode, "budget": 1.0, "seeds": [0], "total_seconds": 1.0},
                                 "scenarios": [], "records": []}))
        parts.append(str(f))
    with pytest.raises(SystemExit):
        _load("benchmark").parse_args(["--out", "x", "--from-json", *parts])
    assert "argument --from-json: cannot merge these files: cannot merge benchmark runs with different 'mode'" \
        in capsys.readouterr().err


def test_benchmark_defaults_to_quick_mode():
    assert _load("benchmark").parse_args(["--out", "x"]).mode == "quick"


@pytest.mark.parametrize("argv, expected", [
    (["--only", "C.99"], "argument --only: unknown experiment id(s) ['C.99']"),
    (["--seed", "-3"], "argument --seed: must be an integer >= 0, got '-3'"),
    (["--seed", "x"], "argument --seed: must be an integer, got 'x'"),
])
def test_reproduce_cli_errors(argv, expected, capsys):
    with pytest.raises(SystemExit):
        _load("reproduce_appendix_c").parse_args(argv)
    assert expected in capsys.readouterr().err


def test_reproduce_writes_to_runs_by_default():
    args = _load("reproduce_appendix_c").parse_args([])
    assert args.out == Path("runs/appendix_c") and args.only is None
