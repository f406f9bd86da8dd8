"""PPO's tuning budget: an Optuna (TPE) search per scenario family, ≥ 3 seeds per configuration.

Search space (:data:`SPACE`): learning rate (log-uniform 1e-4 … 1e-2) with a constant or linear
decay schedule, batch size, n_steps, entropy coefficient and initial log-std. Each trial trains
PPO on every seed for ``timesteps`` agent-steps and scores ``median over seeds of log10(best gap
over the evaluation curve)`` (the benchmark's target is PPO's best gap). The first trial of each
family is the previous default (``baselines.ppo_experiment``), so the tuned configuration is
never worse than the default on the objective. Trials go round-robin over the families until
``time_budget_s`` is spent, so each family gets the same number of trials (± 1).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, replace
from typing import Any, Callable, Sequence

import numpy as np

from baselines.ppo import train_ppo
from baselines.ppo_experiment import ONE_SHOT_DEFAULTS

from .benchmark.scenarios import scenarios

__all__ = ["SPACE", "FAMILY_SCENARIOS", "run_sweep", "trial_config"]

SPACE = {"learning_rate": (1e-4, 1e-2), "lr_schedule": ("constant", "linear"), "batch_size": (64, 256, 1024),
         "n_steps": (16, 32, 64, 128), "ent_coef": (0.0, 1e-3, 1e-2), "log_std_init": (-3.0, 0.5)}
#: the scenario whose env stands for each family (benchmark keys)
FAMILY_SCENARIOS = {"assembly": "C.1", "symmetric_small": "C.2-N2", "symmetric_large": "C.2-N100",
                    "heterogeneous": "C.4", "nonconvex": "C.10"}


def trial_config(trial: Any) -> dict[str, Any]:
    """Hyperparameters suggested by an Optuna trial over :data:`SPACE`."""
    return {"learning_rate": trial.suggest_float("learning_rate", *SPACE["learning_rate"], log=True),
            "lr_schedule": trial.suggest_categorical("lr_schedule", SPACE["lr_schedule"]),
            "batch_size": trial.suggest_categorical("batch_size", SPACE["batch_size"]),
            "n_steps": trial.suggest_categorical("n_steps", SPACE["n_steps"]),
            "ent_coef": trial.suggest_categorical("ent_coef", SPACE["ent_coef"]),
            "log_std_init": trial.suggest_float("log_std_init", *SPACE["log_std_init"])}


def _score(params: dict[str, Any], env_id: str, env_kwargs: dict[str, Any], seeds: Sequence[int],
           timesteps: int) -> dict[str, Any]:
    per_seed = []
    for seed in seeds:
        cfg = replace(ONE_SHOT_DEFAULTS, **params, total_timesteps=timesteps, seed=int(seed),
                      eval_every=max(timesteps // 5, 1), eval_seeds=(int(seed),), tensorboard=False)
        res = train_ppo(env_id, env_kwargs, cfg)
        gaps = [p["loss_gap"] for p in res.curve if p["loss_gap"] is not None]
        per_seed.append({"seed": int(seed), "best_gap": min(gaps), "final_gap": res.final.get("loss_gap"),
                         "train_seconds": res.train_seconds})
    logs = [math.log10(max(r["best_gap"], 1e-16)) for r in per_seed]
    return {"objective": float(np.median(logs)), "per_seed": per_seed}


def run_sweep(families: Sequence[str], seeds: Sequence[int], timesteps: int, time_budget_s: float,
              max_trials: int = 50, sampler_seed: int = 0,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Tune one-shot team-reward PPO per family; returns every trial and the chosen configurations."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    defaults = {k: asdict(ONE_SHOT_DEFAULTS)[k] for k in SPACE}
    studies, envs = {}, {}
    for fam in families:
        sc = scenarios("quick", keys=[FAMILY_SCENARIOS[fam]])[0]
        envs[fam] = (sc.env_id, {**sc.env_kwargs, "mode": "one_shot", "reward_mode": "team"})
        studies[fam] = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=sampler_seed))
        studies[fam].enqueue_trial(defaults)
    trials: dict[str, list] = {fam: [] for fam in families}
    began = time.perf_counter()

    def objective_for(fam: str):
        def objective(trial):
            params = trial_config(trial)
            out = _score(params, *envs[fam], seeds, timesteps)
            trials[fam].append({"number": trial.number, "params": params, **out})
            return out["objective"]
        return objective

    for k in range(max_trials):
        if time.perf_counter() - began > time_budget_s:
            break
        for fam in families:
            studies[fam].optimize(objective_for(fam), n_trials=1)
            if progress is not None:
                progress(f"{fam} trial {k}: {trials[fam][-1]['objective']:.2f}")
    chosen = {}
    for fam in families:
        best = min(trials[fam], key=lambda t: t["objective"])
        default = trials[fam][0]
        chosen[f"{fam}/one_shot/team"] = {**best["params"], "objective": best["objective"],
                                          "default_objective": default["objective"], "trials": len(trials[fam])}
    return {"families": {f: FAMILY_SCENARIOS[f] for f in families}, "seeds": list(seeds), "timesteps": timesteps,
            "time_budget_s": time_budget_s, "seconds": time.perf_counter() - began, "objective":
            "median over seeds of log10(best loss gap over the evaluation curve)", "space": SPACE,
            "sampler": f"optuna.samplers.TPESampler(seed={sampler_seed}); first trial = previous defaults",
            "trials": trials, "configs": chosen}
