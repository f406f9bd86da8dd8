"""Bad numbers on the command line are argparse errors (exit 2) that name the option and the value,
raised before any heavy import or any work: ``--seed -1``, ``--iterations 0``, ``--repeats 0``.
Each case runs the script in a fresh interpreter (they answer in well under a second)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.cli import (check_choices, names_list, nonnegative_float, nonnegative_int, positive_float,
                             positive_int, sizes_list)

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *argv], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


@pytest.mark.parametrize("script, argv, expected", [
    ("reproduce_appendix_c.py", ["--seed", "-1"], "argument --seed: must be an integer >= 0, got '-1'"),
    ("ic_audit.py", ["--seed", "-1", "--out", "runs/never"], "argument --seed: must be an integer >= 0, got '-1'"),
    ("scale.py", ["--seed", "-1"], "argument --seed: must be an integer >= 0, got '-1'"),
    ("train_ppo.py", ["--seed", "-1", "--env", "symmetric_parallel_v0", "--out", "runs/never"],
     "argument --seed: must be an integer >= 0, got '-1'"),
    ("torchrl_mappo_example.py", ["--iterations", "0"], "argument --iterations: must be an integer >= 1, got '0'"),
    ("torchrl_mappo_example.py", ["--num-envs", "-2"], "argument --num-envs: must be an integer >= 1, got '-2'"),
    ("torchrl_tutorial_mappo.py", ["--frames-per-batch", "100"], "argument --frames-per-batch: must be >= 400"),
    ("scale.py", ["--iters", "0"], "argument --iters: must be an integer >= 1, got '0'"),
    ("bench_planner.py", ["--repeats", "0"], "argument --repeats: must be an integer >= 1, got '0'"),
    ("bench_planner.py", ["--dtype", "float16"], "argument --dtype: must be comma-separated names among float32"),
    ("bench_vec_env.py", ["--batch-sizes", "64", "0"], "argument --batch-sizes: must be an integer >= 1, got '0'"),
    ("vec_ppo_runs.py", ["--seeds", "-1", "--out", "runs/never"], "argument --seeds: must be an integer >= 0, got '-1'"),
    ("determinism_probe.py", ["--timesteps", "0"], "argument --timesteps: must be an integer >= 1, got '0'"),
    ("c10_hit_rates.py", ["--out", "runs/never", "--rastrigin-starts", "-5"],
     "argument --rastrigin-starts: must be an integer >= 0, got '-5'"),
    ("ulp_sweep.py", ["--instances", "0"], "argument --instances: must be an integer >= 1, got '0'"),
    ("benchmarl_run.py", ["--iterations", "0"], "argument --iterations: must be an integer >= 1, got '0'"),
    ("ppo_sweep.py", ["--seeds", "0", "1"], "argument --seeds: at least 3 seeds, got [0, 1]"),
])
def test_bad_numbers_are_argparse_errors_naming_option_and_value(script, argv, expected):
    proc = _run(script, *argv)
    assert proc.returncode == 2 and expected in proc.stderr, proc.stderr


def test_types_accept_their_range_and_name_the_value():
    assert (positive_int("3"), nonnegative_int("0"), positive_float("0.5"), nonnegative_float("0")) == (3, 0, 0.5, 0.0)
    assert sizes_list("1e3, 10000") == [1000, 10000]
    assert names_list(("a", "b"))("b,a") == ["b", "a"]
    for parse, text, message in [(positive_int, "0", "must be an integer >= 1, got '0'"),
                                 (nonnegative_int, "-1", "must be an integer >= 0, got '-1'"),
                                 (nonnegative_int, "1.5", "must be an integer, got '1.5'"),
                                 (positive_float, "0", "must be a number > 0, got '0'"),
                                 (positive_float, "inf", "must be finite, got 'inf'"),
                                 (nonnegative_float, "nan", "must be finite, got 'nan'"),
                                 (sizes_list, "1e3,0.5", "every N must be an integer >= 1, got '1e3,0.5'"),
                                 (sizes_list, "nan", "every N must be an integer >= 1, got 'nan'")]:
        with pytest.raises(argparse.ArgumentTypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse(text)


def test_check_choices_speaks_argparse(capsys):
    parser = argparse.ArgumentParser(prog="x")
    with pytest.raises(SystemExit):
        check_choices(parser, "--scenarios", ["C.1", "C.99"], ["C.1", "C.2"])
    assert "argument --scenarios: invalid choice: 'C.99' (choose from C.1, C.2)" in capsys.readouterr().err
