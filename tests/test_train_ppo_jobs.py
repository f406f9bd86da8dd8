"""scripts/train_ppo.py as a resumable job: a finished run is not trained again, one writer per
--out, a clean stop, and an evaluation horizon scaled to the training budget."""
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
TINY = ["--env", "symmetric_parallel_v0", "--env-kwargs", '{"n_agents": 2}', "--total-timesteps", "32",
        "--set", "n_steps=8", "n_epochs=1", "tensorboard=false", "progress_bar=false", "eval_seeds=[3]"]


def _cli():
    spec = importlib.util.spec_from_file_location("train_ppo_cli", ROOT / "scripts" / "train_ppo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_evaluation_horizon_is_the_training_budget_not_the_env_horizon():
    # 200 agent-steps with N = 10 and n_steps = 64: one rollout, 64 joint steps per env copy
    n10 = ["--env-kwargs", '{"n_agents": 10}']
    args, config = _cli().parse_args(["--env", "symmetric_parallel_v0", *n10, "--total-timesteps", "200", "--out", "x"])
    assert config.eval_max_steps == 64 and args.eval_horizon == 64  # the env's own horizon is 100,000
    _, config = _cli().parse_args(["--env", "symmetric_parallel_v0", *n10, "--out", "x", "--eval-horizon", "7"])
    assert config.eval_max_steps == 7
    _, config = _cli().parse_args(["--env", "symmetric_parallel_v0", "--out", "x", "--env-kwargs",
                                   '{"mode": "one_shot", "n_agents": 10}'])
    assert config.eval_max_steps is None


def test_a_finished_run_is_not_trained_again_and_another_config_is_refused(tmp_path, capsys):
    cli = _cli()
    cli.main([*TINY, "--out", str(tmp_path)])
    summary = (tmp_path / "summary.json").read_text()
    model = (tmp_path / "model.zip").stat().st_mtime_ns
    assert json.loads(summary)["hyperparameters"]["eval_max_steps"] == 16  # 32 agent-steps / N = 2 → 2 rollouts of 8
    capsys.readouterr()
    cli.main([*TINY, "--out", str(tmp_path)])
    assert "already trained" in capsys.readouterr().out
    assert (tmp_path / "model.zip").stat().st_mtime_ns == model and (tmp_path / "summary.json").read_text() == summary
    with pytest.raises(SystemExit) as exc:
        cli.main([*TINY, "--out", str(tmp_path), "--seed", "1"])
    assert exc.value.code == 2
    assert "holds a training run of another configuration" in capsys.readouterr().err


def test_a_second_run_on_a_locked_out_exits_naming_the_holder(tmp_path, capsys):
    with OutputLock(tmp_path):
        with pytest.raises(SystemExit) as exc:
            _cli().main([*TINY, "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert f"is in use by pid {os.getpid()} on host" in capsys.readouterr().err
    assert not (tmp_path / "model.zip").exists()


@pytest.mark.slow
def test_ctrl_c_during_training_stops_cleanly(tmp_path):
    cmd = [sys.executable, str(ROOT / "scripts" / "train_ppo.py"), "--env", "symmetric_parallel_v0",
           "--total-timesteps", "10000000", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    end = time.monotonic() + 120
    while not (tmp_path / "tb").exists():  # training has started
        assert proc.poll() is None and time.monotonic() < end
        time.sleep(0.1)
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err + out and "stopped by SIGINT" in err
    assert not (tmp_path / ".lock").exists() and not (tmp_path / "summary.json").exists()
