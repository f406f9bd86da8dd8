"""Run BenchMARL's MAPPO / IPPO on an mbi_envs task through ``Experiment.run()`` (needs benchmarl).

BenchMARL lives in its own venv (it pins torchrl<0.12 and would pull a CUDA torch through
torchvision): make it with ``bash scripts/benchmarl_venv.sh``, then

    /work/venvs/benchmarl/bin/python scripts/benchmarl_run.py --task symmetric_parallel_v0 --algorithm mappo
    /work/venvs/benchmarl/bin/python scripts/benchmarl_run.py --task economic_dispatch_v0 --algorithm ippo

A small experiment (CPU, csv logger, evaluation and a checkpoint at the end) that prints the
iterations and frames done, the wall time, the last evaluation's mean episode reward and the
files it wrote. The task config is the packaged ``mbi_envs/conf/benchmarl/<task>.yaml`` updated
with ``--set key=value`` (values parsed as YAML, e.g. ``--set n_agents=100``).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from experiments.cli import nonnegative_int, positive_int, script_parser  # noqa: E402

ALGORITHMS = ("ippo", "mappo")
# one task per packaged config (mbi_envs/conf/benchmarl/<task>.yaml, as MbiEnvsTask loads them), listed
# without importing benchmarl, so --help answers in the main venv too
TASKS = sorted(p.stem for p in (ROOT / "mbi_envs" / "conf" / "benchmarl").glob("*.yaml"))


def run(task: str = "symmetric_parallel_v0", algorithm: str = "mappo", overrides: dict[str, Any] | None = None, *,
        frames_per_batch: int = 1_000, iterations: int = 2, n_envs: int = 10, seed: int = 0,
        save_folder: str | None = None) -> dict[str, Any]:
    """One BenchMARL experiment; returns what it did (iterations, frames, seconds, last evaluation, files)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(ALGORITHMS)}, got {algorithm!r}")
    from benchmarl.algorithms import IppoConfig, MappoConfig
    from benchmarl.experiment import Experiment, ExperimentConfig
    from benchmarl.models.mlp import MlpConfig

    from mbi_envs.benchmarl import MbiEnvsTask

    algorithm_config = {"mappo": MappoConfig, "ippo": IppoConfig}[algorithm]
    member = MbiEnvsTask[task.upper()]
    base = member.get_from_yaml()
    task_obj = member.get_task(config={**base.config, **(overrides or {})})
    cfg = ExperimentConfig.get_from_yaml()
    cfg.sampling_device = cfg.train_device = cfg.buffer_device = "cpu"
    cfg.loggers = ["csv"]
    cfg.render = False
    cfg.on_policy_collected_frames_per_batch = frames_per_batch
    cfg.on_policy_n_envs_per_worker = n_envs
    cfg.on_policy_minibatch_size = min(400, frames_per_batch)
    cfg.on_policy_n_minibatch_iters = 2
    cfg.max_n_iters = iterations
    cfg.max_n_frames = frames_per_batch * iterations
    cfg.evaluation_interval = frames_per_batch * iterations  # evaluate at the end
    cfg.evaluation_episodes = 2
    cfg.checkpoint_at_end = True
    cfg.save_folder = save_folder or tempfile.mkdtemp(prefix="benchmarl_")
    start = time.perf_counter()
    experiment = Experiment(task=task_obj, algorithm_config=algorithm_config.get_from_yaml(),
                            model_config=MlpConfig.get_from_yaml(), critic_model_config=MlpConfig.get_from_yaml(),
                            seed=seed, config=cfg)
    experiment.run()
    seconds = time.perf_counter() - start
    folder = Path(experiment.folder_name)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    evals = sorted(folder.rglob("eval_reward_episode_reward_mean.csv"))
    last_eval = None
    if evals:
        rows = [line.split(",") for line in evals[0].read_text().splitlines() if line.strip()]
        last_eval = float(rows[-1][-1])
    return {"task": task, "algorithm": algorithm, "config": task_obj.config, "iterations": experiment.n_iters_performed,
            "frames": experiment.total_frames, "seconds": round(seconds, 1), "last_eval_episode_reward_mean": last_eval,
            "checkpoints": [f for f in files if f.endswith(".pt")], "folder": str(folder)}


def _override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set takes key=value, got {text!r}")
    import yaml

    key, value = text.split("=", 1)
    return key, yaml.safe_load(value)


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--task", default="symmetric_parallel_v0", choices=TASKS)
    parser.add_argument("--algorithm", default="mappo", choices=ALGORITHMS)
    parser.add_argument("--set", dest="overrides", type=_override, action="append", default=[], metavar="KEY=VALUE",
                        help="override a task config value (YAML), e.g. --set n_agents=100")
    parser.add_argument("--iterations", type=positive_int, default=2)
    parser.add_argument("--frames-per-batch", type=positive_int, default=1_000)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    result = run(args.task, args.algorithm, dict(args.overrides), iterations=args.iterations,
                 frames_per_batch=args.frames_per_batch, seed=args.seed)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
