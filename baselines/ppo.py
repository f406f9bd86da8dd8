"""PPO (Stable-Baselines3) trained for real on ``mbi_envs`` environments, one policy shared by all agents.

``train_ppo(env_id, env_kwargs, config)`` builds ``config.n_envs`` copies of the environment
behind :class:`~baselines.vec_env.ParallelEnvVecEnv` (every agent is a VecEnv slot, so the
policy is shared and sees each agent's private features), trains SB3's PPO, and evaluates the
deterministic policy periodically with the suite's own ``mbi_envs.evaluate`` (the same code
that scores MBI agents). It records a time-to-accuracy curve: environment agent-steps,
wall-clock seconds (training time included) and the loss gap at each evaluation.

Step counting: SB3's ``num_timesteps`` counts VecEnv slot-steps, i.e. agent-steps, so
``total_timesteps = 1_000_000`` with N = 100 agents is 10,000 joint environment steps.
SB3's ``n_steps`` is per slot: one rollout holds ``n_steps × n_envs × N`` agent-steps.
"""
from __future__ import annotations

import contextlib
import math

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

import mbi_envs
from mbi_envs.evaluation import json_safe

from mbi_envs.checks import check_seed, check_seeds

from .sb3_policy import TRAINED_ON, SB3Policy
from .vec_env import ParallelEnvVecEnv

__all__ = ["PPOConfig", "TrainResult", "train_ppo", "train_from_config", "load_ppo", "make_vec_env", "torch_threads"]


@dataclass
class PPOConfig:
    """PPO hyperparameters and the training/evaluation budget.

    Defaults come from the sweep documented in README.md (symmetric problem, one-shot and
    iterative modes, N = 2 and N = 100).
    """

    total_timesteps: int = 100_000
    seed: int = 0
    n_envs: int = 1
    learning_rate: float = 3e-4
    lr_schedule: str = "constant"  # or "linear": decays linearly from learning_rate to 0 over training
    n_steps: int = 64
    batch_size: int = 256
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    log_std_init: float = -1.0
    net_arch: tuple[int, ...] = (64, 64)
    eval_every: int = 10_000
    eval_seeds: tuple[int, ...] = (1000, 1001)
    eval_max_steps: int | None = None  # iterative envs: evaluation horizon (None: the env's max_steps)
    progress_bar: bool = False
    torch_threads: int = 1  # small MLPs: one thread is as fast and does not fight other jobs
    tensorboard: bool = True
    vectorized: bool = False  # True: step the n_envs copies as one batched env (mbi_envs.make_vec)

    def validate(self) -> None:
        """Raise ValueError naming any invalid field."""
        for name in ("total_timesteps", "n_envs", "n_steps", "batch_size", "n_epochs", "eval_every",
                     "torch_threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"PPOConfig.{name} must be a positive integer, got {value!r}")
        if self.eval_max_steps is not None and (not isinstance(self.eval_max_steps, int)
                                                or isinstance(self.eval_max_steps, bool) or self.eval_max_steps < 1):
            raise ValueError(f"PPOConfig.eval_max_steps must be None or a positive integer, got {self.eval_max_steps!r}")
        for name in ("learning_rate", "clip_range", "gamma", "gae_lambda", "log_std_init"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"PPOConfig.{name} must be a finite number, got {value!r}")
        for name in ("learning_rate", "clip_range"):
            if not getattr(self, name) > 0:
                raise ValueError(f"PPOConfig.{name} must be > 0, got {getattr(self, name)!r}")
        if not isinstance(self.ent_coef, (int, float)) or isinstance(self.ent_coef, bool) or not self.ent_coef >= 0:
            raise ValueError(f"PPOConfig.ent_coef must be a number >= 0, got {self.ent_coef!r}")
        check_seed(self.seed, "PPOConfig.seed")
        if self.seed is None:
            raise ValueError("PPOConfig.seed must be an integer >= 0, got None (runs are seeded)")
        if not check_seeds(self.eval_seeds, "PPOConfig.eval_seeds", allow_none=False):
            raise ValueError("PPOConfig.eval_seeds must hold at least one seed, got ()")
        arch = self.net_arch
        if isinstance(arch, (str, bytes)) or not hasattr(arch, "__iter__") or not all(
                isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in arch):
            raise ValueError(f"PPOConfig.net_arch must be a sequence of positive integers, got {arch!r}")
        for name in ("progress_bar", "tensorboard", "vectorized"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"PPOConfig.{name} must be True or False, got {getattr(self, name)!r}")
        if self.lr_schedule not in ("constant", "linear"):
            raise ValueError(f"PPOConfig.lr_schedule must be 'constant' or 'linear', got {self.lr_schedule!r}")
        if not 0 <= self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError(f"PPOConfig.gamma and gae_lambda must be in [0, 1], got "
                             f"{self.gamma!r}, {self.gae_lambda!r}")


@dataclass
class TrainResult:
    """A trained model, its time-to-accuracy curve and final evaluation (JSON-safe dicts)."""

    model: PPO
    curve: list[dict[str, float | None]]
    final: dict[str, Any]
    config: PPOConfig
    env_id: str
    env_kwargs: dict[str, Any]
    train_seconds: float
    extras: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What ``summary.json`` holds."""
        return {"env_id": self.env_id, "env_kwargs": self.env_kwargs,
                "hyperparameters": asdict(self.config), "train_seconds": self.train_seconds,
                "final_evaluation": self.final, "curve": self.curve, **self.extras}


def make_vec_env(env_id: str, env_kwargs: dict[str, Any], n_envs: int = 1, vectorized: bool = False):
    """``n_envs`` copies of ``mbi_envs.make(env_id, **env_kwargs)`` as one parameter-shared VecEnv
    (``vectorized``: one batched env, :class:`~baselines.batched_vec_env.BatchedVecEnv`)."""
    if vectorized:
        from .batched_vec_env import BatchedVecEnv
        return BatchedVecEnv(mbi_envs.make_vec(env_id, num_envs=n_envs, **env_kwargs))
    mbi_envs.make(env_id, **env_kwargs).close()  # fail early, with the env's own error, on bad kwargs
    return ParallelEnvVecEnv([lambda: mbi_envs.make(env_id, **env_kwargs) for _ in range(n_envs)])


class _EvalCallback(BaseCallback):
    """Evaluates the deterministic policy every ``every`` agent-steps with ``mbi_envs.evaluate``."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any], every: int, seeds: tuple[int, ...],
                 best_path: Path | None = None) -> None:
        super().__init__()
        self.env_id, self.env_kwargs, self.every, self.seeds = env_id, env_kwargs, every, seeds
        self.best_path, self.best = best_path, None  # with best_path: save the best evaluated policy
        self.curve: list[dict[str, float | None]] = []
        self._next = 0
        self._start = 0.0
        self._eval_seconds = 0.0

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()
        self._evaluate()

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        # a rollout boundary: the policy has been trained on exactly num_timesteps agent-steps
        if self.num_timesteps >= self._next:
            self._evaluate()

    def _on_training_end(self) -> None:
        if not self.curve or self.curve[-1]["env_steps"] != self.num_timesteps:
            self._evaluate()

    def _evaluate(self) -> None:
        began = time.perf_counter()
        result = evaluate_model(self.model, self.env_id, self.env_kwargs, self.seeds)
        self._eval_seconds += time.perf_counter() - began
        point = {"env_steps": int(self.num_timesteps),
                 "wall_seconds": began - self._start,  # training time so far, evaluations excluded
                 "loss_gap": result.get("loss_gap"), "relative_gap": result.get("relative_gap"),
                 "final_loss": result.get("final_loss"),
                 "distance_to_optimum": result.get("distance_to_optimum")}
        self.curve.append(point)
        self._save_if_best(point)
        self._start += time.perf_counter() - began
        for key in ("loss_gap", "final_loss"):
            if point[key] is not None:
                self.logger.record(f"eval/{key}", point[key])
        self._next = self.num_timesteps + self.every


    def _save_if_best(self, point: dict[str, Any]) -> None:
        """Keep the policy with the smallest evaluated loss gap (the final loss where no reference)."""
        key = "loss_gap" if point["loss_gap"] is not None else "final_loss"
        if self.best_path is None or point[key] is None:
            return
        if self.best is None or point[key] < self.best[key]:
            self.best = dict(point)
            self.best_path.parent.mkdir(parents=True, exist_ok=True)
            self.model.save(self.best_path)


def evaluate_model(model: PPO, env_id: str, env_kwargs: dict[str, Any], seeds, deterministic: bool = True) -> dict[str, Any]:
    """Mean metrics of ``model`` over ``seeds`` with the suite's ``evaluate``."""
    result = mbi_envs.evaluate(lambda: mbi_envs.make(env_id, **env_kwargs),
                               SB3Policy(model, deterministic=deterministic), list(seeds))
    return {metric: stats["mean"] for metric, stats in result.to_dict()["aggregates"].items()}


def train_ppo(env_id: str, env_kwargs: dict[str, Any] | None = None, config: PPOConfig | None = None,
              out_dir: str | Path | None = None, save_best: bool = False) -> TrainResult:
    """Train PPO on ``env_id`` and evaluate it; with ``out_dir``, write the model (``model.zip``),
    TensorBoard logs (``tb/``) and ``summary.json``. With ``save_best`` (needs ``out_dir``) also
    ``best_model.zip``: the policy at the evaluation with the smallest loss gap (``summary.json``
    and ``result.extras["best"]`` name that evaluation point).

    SB3 trains in whole rollouts of ``n_steps × n_envs × N`` agent-steps, so the run is rounded
    up to a whole number of rollouts (``result.extras["agent_steps"]``; the progress bar counts
    to that number). The rounding does not change training: SB3 would collect the same rollouts.

    Same ``config.seed`` → identical model and numbers (torch, numpy and the env resets are all
    seeded; SB3 runs on the CPU).
    """
    config = config or PPOConfig()
    config.validate()
    with torch_threads(config.torch_threads):
        return _train(env_id, dict(env_kwargs or {}), config, out_dir, save_best)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``torch.set_num_threads(n)`` and restore the caller's count afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _train(env_id: str, env_kwargs: dict[str, Any], config: PPOConfig, out_dir: str | Path | None,
           save_best: bool) -> TrainResult:
    vec_env = make_vec_env(env_id, env_kwargs, config.n_envs, config.vectorized)
    rollout = config.n_steps * vec_env.num_envs  # agent-steps per rollout (n_steps is per agent)
    batch_size = max(b for b in range(1, min(config.batch_size, rollout) + 1) if rollout % b == 0)
    out = Path(out_dir) if out_dir is not None else None
    tb = str(out / "tb") if (out is not None and config.tensorboard) else None
    lr = config.learning_rate
    learning_rate = lr if config.lr_schedule == "constant" else (lambda remaining: lr * remaining)
    model = PPO("MlpPolicy", vec_env, learning_rate=learning_rate, n_steps=config.n_steps,
                batch_size=batch_size, n_epochs=config.n_epochs, gamma=config.gamma,
                gae_lambda=config.gae_lambda, clip_range=config.clip_range, ent_coef=config.ent_coef,
                policy_kwargs={"net_arch": list(config.net_arch), "log_std_init": config.log_std_init},
                seed=config.seed, device="cpu", tensorboard_log=tb, verbose=0)
    # what the model was trained on: kept by model.save/PPO.load (an attribute of the model), and
    # compared by SB3Policy.check_env, so evaluating it on another id or N fails with both named
    setattr(model, TRAINED_ON, {"env_id": env_id, "n_agents": int(vec_env.n_agents)})
    if save_best and out is None:
        raise ValueError("save_best=True needs out_dir (where best_model.zip goes)")
    eval_kwargs = dict(env_kwargs)
    if config.eval_max_steps is not None and env_kwargs.get("mode", "iterative") != "one_shot":
        eval_kwargs["max_steps"] = config.eval_max_steps
    callback = _EvalCallback(env_id, eval_kwargs, config.eval_every, config.eval_seeds,
                             best_path=out / "best_model.zip" if save_best else None)
    total = -(-config.total_timesteps // rollout) * rollout  # whole rollouts: what SB3 runs anyway
    began = time.perf_counter()
    model.learn(total_timesteps=total, callback=callback, progress_bar=config.progress_bar, tb_log_name="ppo")
    train_seconds = time.perf_counter() - began
    final = callback.curve[-1] if callback.curve else {}
    extras = {"agent_steps": int(model.num_timesteps), **({"best": callback.best} if save_best else {})}
    result = TrainResult(model, callback.curve, final, config, env_id, env_kwargs, train_seconds, extras)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        model.save(out / "model.zip")
        (out / "summary.json").write_text(json.dumps(json_safe(result.summary()), indent=2, allow_nan=False))
    vec_env.close()
    return result


def train_from_config(job: dict[str, Any]) -> dict[str, Any]:
    """:func:`train_ppo` from a JSON job (``env_id``, ``env_kwargs``, ``config``: PPOConfig fields,
    ``out``, ``save_best``): writes the run to ``out`` and returns its ``summary.json`` content
    (what ``scripts/train_ppo.py`` runs as a resumable job, see ``experiments.jobs``)."""
    cfg = dict(job["config"])
    for name in ("net_arch", "eval_seeds"):
        cfg[name] = tuple(cfg[name])
    result = train_ppo(job["env_id"], job["env_kwargs"], PPOConfig(**cfg), out_dir=job["out"],
                       save_best=job.get("save_best", False))
    return json_safe(result.summary())


def load_ppo(path: str | Path) -> PPO:
    """Load a model saved by :func:`train_ppo` (CPU)."""
    return PPO.load(str(path), device="cpu")
