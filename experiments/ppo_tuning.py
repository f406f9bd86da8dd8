"""PPO's tuning budget: an Optuna (TPE) search per scenario family, ≥ 3 seeds per configuration.

Search space (:data:`SPACE`): learning rate (log-uniform 1e-4 … 1e-2) with a constant or linear
decay schedule, batch size, n_steps, entropy coefficient and initial log-std. Each trial trains
PPO on every seed for ``timesteps`` agent-steps and scores ``median over seeds of log10(best gap
over the evaluation curve)`` (the benchmark's target is PPO's best gap). The first trial of each
family is the previous default (``baselines.ppo_experiment``), so the tuned configuration is
never worse than the default on the objective. Trials go round-robin over the families until
``time_budget_s`` is spent, so each family gets the same number of trials (± 1).

TPE needs a few random trials before it models anything: ``n_startup_trials`` (default 4) sets
how many. A sweep can go on from an earlier one (``warm_start``: its ``trials``): the earlier
trials are added to each family's study as completed trials, so TPE models them and the chosen
configuration is the best over old and new trials.

**Shared storage.** With ``storage`` (an Optuna storage: a URL such as ``sqlite:///sweep.db`` or a
:func:`journal_storage` file) every family's study lives there under a name fixed by the family,
seeds and budget (:func:`study_name`), so several processes (or machines sharing the file or
database) work on one study, and a killed sweep resumes: a rerun finds the completed trials
(each holds its per-seed results as user attributes) and goes on. ``max_trials`` then counts the
study's completed trials, over every process. Parallel processes need different ``sampler_seed``
values, or their random start-up trials coincide.
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

__all__ = ["SPACE", "FAMILY_SCENARIOS", "run_sweep", "trial_config", "study_name", "journal_storage"]

SPACE = {"learning_rate": (1e-4, 1e-2), "lr_schedule": ("constant", "linear"), "batch_size": (64, 256, 1024),
         "n_steps": (16, 32, 64, 128), "ent_coef": (0.0, 1e-3, 1e-2), "log_std_init": (-3.0, 0.5)}
#: the scenario whose env stands for each family (benchmark keys)
FAMILY_SCENARIOS = {"assembly": "C.1", "symmetric_small": "C.2-N2", "symmetric_large": "C.2-N100",
                    "heterogeneous": "C.4", "nonconvex": "C.10"}


def distributions() -> dict[str, Any]:
    """:data:`SPACE` as Optuna distributions (the ones :func:`trial_config` suggests from)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    return {"learning_rate": FloatDistribution(*SPACE["learning_rate"], log=True),
            "lr_schedule": CategoricalDistribution(SPACE["lr_schedule"]),
            "batch_size": CategoricalDistribution(SPACE["batch_size"]),
            "n_steps": CategoricalDistribution(SPACE["n_steps"]),
            "ent_coef": CategoricalDistribution(SPACE["ent_coef"]),
            "log_std_init": FloatDistribution(*SPACE["log_std_init"])}


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


def _warm_start(study: Any, earlier: Sequence[dict[str, Any]]) -> None:
    """Add an earlier sweep's trials of one family to ``study`` as completed trials."""
    import optuna

    dists = distributions()
    for t in earlier:
        study.add_trial(optuna.trial.create_trial(params=dict(t["params"]), distributions=dists,
                                                  value=float(t["objective"]),
                                                  user_attrs={"earlier": True, "per_seed": t.get("per_seed", [])}))


def study_name(family: str, seeds: Sequence[int], timesteps: int) -> str:
    """The study of one family in a shared storage: the same name for every process of one sweep."""
    return f"ppo-{family}-{timesteps}steps-seeds{'_'.join(str(int(s)) for s in seeds)}"


def journal_storage(path: str) -> Any:
    """An Optuna JournalStorage in the file ``path`` (append-only, lock-protected: safe for several
    processes on one machine or a shared file system, and for a process killed mid-write)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(path)))


def _record(trial: Any) -> dict[str, Any]:
    return {"number": trial.number, "params": dict(trial.params), "earlier": bool(trial.user_attrs.get("earlier")),
            "objective": trial.value, "per_seed": trial.user_attrs.get("per_seed", [])}


def run_sweep(families: Sequence[str], seeds: Sequence[int], timesteps: int, time_budget_s: float,
              max_trials: int = 50, sampler_seed: int = 0, n_startup_trials: int = 4,
              warm_start: dict[str, list[dict[str, Any]]] | None = None,
              progress: Callable[[str], None] | None = None, storage: Any = None) -> dict[str, Any]:
    """Tune one-shot team-reward PPO per family; returns every completed trial (earlier ones first,
    marked ``"earlier": True``) and the chosen configurations. ``max_trials`` counts the trials of
    this sweep (with ``storage``: every process's, and those of the runs it resumes), not the
    warm-start ones; ``time_budget_s`` is this process's."""
    import optuna

    if n_startup_trials < 1:
        raise ValueError(f"n_startup_trials must be >= 1, got {n_startup_trials!r}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warm_start = warm_start or {}
    defaults = {k: asdict(ONE_SHOT_DEFAULTS)[k] for k in SPACE}
    studies, envs = {}, {}
    for fam in families:
        sc = scenarios("quick", keys=[FAMILY_SCENARIOS[fam]])[0]
        envs[fam] = (sc.env_id, {**sc.env_kwargs, "mode": "one_shot", "reward_mode": "team"})
        sampler = optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=n_startup_trials)
        studies[fam] = optuna.create_study(direction="minimize", sampler=sampler, storage=storage,
                                           study_name=study_name(fam, seeds, timesteps) if storage else None,
                                           load_if_exists=True)
        if studies[fam].trials:  # a resumed study (shared storage): its earlier runs added all of this
            continue
        earlier = warm_start.get(fam, [])
        _warm_start(studies[fam], earlier)
        if not earlier:
            studies[fam].enqueue_trial(defaults)
    began = time.perf_counter()

    def completed(fam: str, new_only: bool = False) -> list[Any]:
        done = studies[fam].get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        return [t for t in done if not (new_only and t.user_attrs.get("earlier"))]

    def objective_for(fam: str):
        def objective(trial):
            params = trial_config(trial)
            out = _score(params, *envs[fam], seeds, timesteps)
            trial.set_user_attr("per_seed", out["per_seed"])
            return out["objective"]
        return objective

    while time.perf_counter() - began <= time_budget_s:
        todo = [fam for fam in families if len(completed(fam, new_only=True)) < max_trials]
        if not todo:
            break
        for fam in todo:
            studies[fam].optimize(objective_for(fam), n_trials=1)
            if progress is not None:
                last = completed(fam)[-1] if completed(fam) else None
                progress(f"{fam} trial {len(completed(fam, new_only=True))}/{max_trials}: "
                         + (f"{last.value:.2f}" if last is not None else "failed"))
    trials = {fam: [_record(t) for t in sorted(completed(fam), key=lambda t: t.number)] for fam in families}
    chosen = {}
    for fam in families:
        best = min(trials[fam], key=lambda t: t["objective"])
        default = trials[fam][0]
        chosen[f"{fam}/one_shot/team"] = {**best["params"], "objective": best["objective"],
                                          "default_objective": default["objective"], "trials": len(trials[fam])}
    return {"families": {f: FAMILY_SCENARIOS[f] for f in families}, "seeds": list(seeds), "timesteps": timesteps,
            "time_budget_s": time_budget_s, "seconds": time.perf_counter() - began, "objective":
            "median over seeds of log10(best loss gap over the evaluation curve)", "space": SPACE,
            "sampler": f"optuna.samplers.TPESampler(seed={sampler_seed}, n_startup_trials={n_startup_trials}); "
                       "first trial = previous defaults",
            "warm_started": {f: sum(t["earlier"] for t in trials[f]) for f in families},
            "studies": {f: study_name(f, seeds, timesteps) for f in families} if storage else None,
            "trials": trials, "configs": chosen}


def merge_sweeps(payloads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One sweep payload from several (e.g. families run in parallel processes): families,
    trials and configs are joined (a family in two payloads: the later one wins, it holds the
    earlier trials when it was warm-started from them); seconds add up; the runs' settings
    and metadata are kept per part under ``parts``."""
    if not payloads:
        raise ValueError("merge_sweeps needs at least one payload")
    merged: dict[str, Any] = {"families": {}, "trials": {}, "configs": {}, "parts": []}
    for p in payloads:
        merged["families"].update(p["families"])
        merged["trials"].update(p.get("trials", {}))
        merged["configs"].update(p["configs"])
        merged["parts"].append({k: p.get(k) for k in ("families", "seeds", "timesteps", "time_budget_s", "seconds",
                                                       "sampler", "warm_started", "metadata")})
    for key in ("seeds", "timesteps", "objective", "space"):
        values = {repr(p.get(key)) for p in payloads}
        if len(values) > 1:
            raise ValueError(f"cannot merge sweeps with different {key!r}: {sorted(values)}")
        merged[key] = payloads[0].get(key)
    merged["seconds"] = sum(p["seconds"] for p in payloads)
    return merged


def sweep_markdown(payload: dict[str, Any]) -> str:
    """Every trial of a sweep, per family, sorted by objective (the chosen configuration first);
    trials carried over from an earlier sweep are marked ``(earlier)``, the previous default ``(default)``."""
    lines = [f"Objective: {payload['objective']}; {len(payload['seeds'])} seeds {payload['seeds']}, "
             f"{payload['timesteps']:,} agent-steps per run; {payload['seconds'] / 60:.1f} min of trials "
             "(summed over parallel parts).", ""]
    for fam, trials in payload["trials"].items():
        lines += [f"**{fam} ({payload['families'][fam]}):** {len(trials)} trials "
                  f"({sum(not t.get('earlier') for t in trials)} in this sweep)", "",
                  "| trial | lr | schedule | batch | n_steps | ent | log_std | best gap per seed | objective |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for t in sorted(trials, key=lambda t: t["objective"]):
            p = t["params"]
            tag = (" (default)" if t is trials[0] else "") + (" (earlier)" if t.get("earlier") else "")
            gaps = ", ".join(f"{s['best_gap']:.3g}" for s in t["per_seed"])
            lines.append(f"| {t['number']}{tag} | {p['learning_rate']:.2g} | {p['lr_schedule']} | {p['batch_size']} | "
                         f"{p['n_steps']} | {p['ent_coef']:g} | {p['log_std_init']:.2f} | {gaps} | "
                         f"{t['objective']:.2f} |")
        lines.append("")
    return "\n".join(lines)
