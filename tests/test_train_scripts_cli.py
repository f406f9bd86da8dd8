"""Training, measurement and demo scripts: bad input is an argparse error naming the option and the value."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _script(name):
    spec = importlib.util.spec_from_file_location(f"script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _error(capsys, monkeypatch, name, argv):
    """Run the script's argument parsing; return its argparse error line (exit status 2)."""
    module = _script(name)
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args(argv) if hasattr(module, "parse_args") else module.main()
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


OUT = ["--out", "runs/never_written"]


@pytest.mark.parametrize("argv, expected", [
    (["--env", "no_such_v0", *OUT], "argument --env: unknown env id 'no_such_v0'"),
    (["--env", "symmetric_parallel_v0", *OUT, "--env-kwargs", "{bad"], "argument --env-kwargs: not valid JSON"),
    (["--env", "symmetric_parallel_v0", *OUT, "--env-kwargs", "[1, 2]"], "argument --env-kwargs: must be a JSON object"),
    (["--env", "symmetric_parallel_v0", *OUT, "--env-kwargs", '{"n_agent": 3}'], "unknown keyword argument(s) ['n_agent']"),
    (["--env", "symmetric_parallel_v0", *OUT, "--env-kwargs", '{"n_agents": 0}'], "n_agents"),
    (["--env", "symmetric_parallel_v0", *OUT, "--set", "learning_rate=abc"],
     "argument --set: 'learning_rate=abc': learning_rate takes a float, got 'abc'"),
    (["--env", "symmetric_parallel_v0", *OUT, "--set", "nope=1"], "argument --set: 'nope=1' is not FIELD=VALUE"),
    (["--env", "symmetric_parallel_v0", *OUT, "--set", "n_steps=0"], "PPOConfig.n_steps must be a positive integer, got 0"),
    (["--env", "symmetric_parallel_v0", *OUT, "--total-timesteps", "-5"], "argument --total-timesteps: must be an integer >= 1, got '-5'"),
    (["--env", "symmetric_parallel_v0", "--out", "pyproject.toml"], "argument --out: 'pyproject.toml' is a file"),
])
def test_train_ppo_argument_errors(capsys, monkeypatch, argv, expected):
    assert expected in _error(capsys, monkeypatch, "train_ppo", argv)


def test_train_ppo_set_converts_to_field_types():
    _, config = _script("train_ppo").parse_args(["--env", "symmetric_parallel_v0", *OUT, "--set", "learning_rate=1e-3",
                                                 "net_arch=32,16", "tensorboard=false", "n_steps=8"])
    assert (config.learning_rate, config.net_arch, config.tensorboard, config.n_steps) == (1e-3, (32, 16), False, 8)


@pytest.mark.parametrize("name, argv, expected", [
    ("bench_env_throughput", ["--sizes", "0"], "argument --sizes: must be an integer >= 1, got '0'"),
    ("bench_env_throughput", ["--seconds", "nan"], "argument --seconds: must be finite, got 'nan'"),
    ("bench_env_throughput", ["--out", "pyproject.toml/x.json"], "argument --out: cannot write"),
    ("measure_ppo_symmetric", ["--timesteps", "many"], "argument --timesteps: must be an integer, got 'many'"),
    ("measure_ppo_symmetric", ["--reward-modes", "selfish"], "argument --reward-modes: invalid choice: 'selfish'"),
    ("ppo_sweep", ["--timesteps", "0"], "argument --timesteps: must be an integer >= 1, got '0'"),
    ("ppo_sweep", ["--out", "pyproject.toml/sweep.json"], "'pyproject.toml' is a file"),
    ("demo_assembly_line", ["--bogus"], "unrecognized arguments: --bogus"),
])
def test_other_scripts_argument_errors(capsys, monkeypatch, name, argv, expected):
    assert expected in _error(capsys, monkeypatch, name, argv)
