"""PPO's tuning budget: an Optuna (TPE) search per scenario family, ≥ 3 seeds per configuration.

Search space (:data:`SPACE`): learning rate (log-uniform 1e-4 … 1e-2) with a constant or linear
decay schedule, batch size, n_steps, copies of the env per rollout (``n_envs``), entropy
coefficient and initial log-std. The batch size goes up to the whole rollout: the choice
``"full"`` (:data:`FULL_BATCH`) is ``n_steps × n_envs × N`` agent-steps, one minibatch per epoch
(:func:`resolve_params` turns it into the number ``PPOConfig`` takes; ``baselines.ppo`` uses the
largest divisor of the rollout ≤ ``batch_size``, so the number is exactly the rollout). SB3 spends
most of its training time in minibatch updates, so large batches are much faster per agent-step
(issue 21, docs/ppo.md).

Each trial trains PPO on every seed for ``timesteps`` agent-steps and scores ``median over seeds
of log10(best gap over the evaluation curve)`` (the benchmark's target is PPO's best gap): **that
is what TPE minimises**, at a fixed agent-step budget. Beside it every seed records its agent-steps
and training seconds (evaluations excluded) to the target gap ``target_gap`` (default
:data:`TARGET_GAP`; ``None``: never reached) and its agent-steps per second, and each trial the
medians over seeds (``steps_to_target``, ``seconds_to_target``: ``None`` unless most seeds reached
it), so a configuration can be chosen on seconds as well; the objective stays the best gap
because the seconds depend on the machine's load and the benchmark compares at equal agent-steps. The first trial of each
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

__all__ = ["SPACE", "FULL_BATCH", "TARGET_GAP", "FAMILY_SCENARIOS", "run_sweep", "trial_config", "resolve_params",
           "study_name", "journal_storage", "check_space_params"]

#: the batch-size choice "the whole rollout" (n_steps × n_envs × N agent-steps: one minibatch per epoch)
FULL_BATCH = "full"
#: the loss gap whose first reach (agent-steps and seconds) each trial records beside its objective
TARGET_GAP = 0.1
SPACE = {"learning_rate": (1e-4, 1e-2), "lr_schedule": ("constant", "linear"),
         "batch_size": (64, 256, 1024, 4096, FULL_BATCH), "n_steps": (16, 32, 64, 128), "n_envs": (1, 2, 4),
         "ent_coef": (0.0, 1e-3, 1e-2), "log_std_init": (-3.0, 0.5)}
#: the value of a parameter that earlier sweeps did not search (their trials ran with it)
_BEFORE = {"n_envs": 1}
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
            "n_envs": CategoricalDistribution(SPACE["n_envs"]),
            "ent_coef": CategoricalDistribution(SPACE["ent_coef"]),
            "log_std_init": FloatDistribution(*SPACE["log_std_init"])}


def trial_config(trial: Any) -> dict[str, Any]:
    """Hyperparameters suggested by an Optuna trial over :data:`SPACE`."""
    return {"learning_rate": trial.suggest_float("learning_rate", *SPACE["learning_rate"], log=True),
            "lr_schedule": trial.suggest_categorical("lr_schedule", SPACE["lr_schedule"]),
            "batch_size": trial.suggest_categorical("batch_size", SPACE["batch_size"]),
            "n_steps": trial.suggest_categorical("n_steps", SPACE["n_steps"]),
            "n_envs": trial.suggest_categorical("n_envs", SPACE["n_envs"]),
            "ent_coef": trial.suggest_categorical("ent_coef", SPACE["ent_coef"]),
            "log_std_init": trial.suggest_float("log_std_init", *SPACE["log_std_init"])}


def check_space_params(params: Any, option: str = "params") -> None:
    """Refuse a configuration that is not a dict over :data:`SPACE`'s keys with values in its ranges
    (``InvalidParameterError`` naming ``option``, the key and the value)."""
    from mechanism.errors import InvalidParameterError

    if not isinstance(params, dict):
        raise InvalidParameterError(f"{option} must be a dict of hyperparameters, got {params!r}")
    for key, value in params.items():
        if key not in SPACE:
            raise InvalidParameterError(f"{option}: unknown hyperparameter {key!r} (known: {sorted(SPACE)})")
        allowed = SPACE[key]
        if key in ("learning_rate", "log_std_init"):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and allowed[0] <= value <= allowed[1]
        else:
            ok = value in allowed and not isinstance(value, bool)
        if not ok:
            raise InvalidParameterError(f"{option}: {key}={value!r} is outside the search space {allowed!r}")


def resolve_params(params: dict[str, Any], n_agents: int) -> dict[str, Any]:
    """``params`` as ``PPOConfig`` fields: ``batch_size="full"`` becomes the rollout,
    ``n_steps × n_envs × n_agents`` (``n_envs`` 1 where absent); other values pass unchanged."""
    out = dict(params)
    if out.get("batch_size") == FULL_BATCH:
        out["batch_size"] = int(out["n_steps"]) * int(out.get("n_envs", 1)) * int(n_agents)
    return out


def _reach(curve: Sequence[dict[str, Any]], target_gap: float) -> tuple[int | None, float | None]:
    """Agent-steps and training seconds at the first evaluation with ``loss_gap ≤ target_gap``."""
    for p in curve:
        if p["loss_gap"] is not None and p["loss_gap"] <= target_gap:
            return int(p["env_steps"]), float(p["wall_seconds"])
    return None, None


def _median_reached(values: Sequence[float | None]) -> float | None:
    """Median over seeds with never-reached counted as infinite (``None`` when that median is)."""
    m = float(np.median([math.inf if v is None else v for v in values]))
    return m if math.isfinite(m) else None


def _score(params: dict[str, Any], env_id: str, env_kwargs: dict[str, Any], seeds: Sequence[int],
           timesteps: int, target_gap: float = TARGET_GAP) -> dict[str, Any]:
    import mbi_envs

    n_agents = mbi_envs.make(env_id, **env_kwargs).n_agents
    per_seed = []
    for seed in seeds:
        cfg = replace(ONE_SHOT_DEFAULTS, **resolve_params(params, n_agents), total_timesteps=timesteps,
                      seed=int(seed), eval_every=max(timesteps // 5, 1), eval_seeds=(int(seed),), tensorboard=False)
        res = train_ppo(env_id, env_kwargs, cfg)
        gaps = [p["loss_gap"] for p in res.curve if p["loss_gap"] is not None]
        steps, seconds = _reach(res.curve, target_gap)
        trained = res.curve[-1]["wall_seconds"]
        per_seed.append({"seed": int(seed), "best_gap": min(gaps), "final_gap": res.final.get("loss_gap"),
                         "train_seconds": res.train_seconds, "batch_size": int(res.model.batch_size),
                         "agent_steps": int(res.extras["agent_steps"]),
                         "agent_steps_per_s": res.extras["agent_steps"] / trained if trained > 0 else None,
                         "steps_to_target": steps, "seconds_to_target": seconds})
    logs = [math.log10(max(r["best_gap"], 1e-16)) for r in per_seed]
    return {"objective": float(np.median(logs)), "per_seed": per_seed, "target_gap": target_gap,
            "steps_to_target": _median_reached([r["steps_to_target"] for r in per_seed]),
            "seconds_to_target": _median_reached([r["seconds_to_target"] for r in per_seed])}


def _warm_start(study: Any, earlier: Sequence[dict[str, Any]]) -> None:
    """Add an earlier sweep's trials of one family to ``study`` as completed trials."""
    import optuna

    dists = distributions()
    for t in earlier:
        params = {**_BEFORE, **t["params"]}  # a sweep before n_envs was searched ran n_envs = 1
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists,
                                                  value=float(t["objective"]),
                                                  user_attrs={"earlier": True, "per_seed": t.get("per_seed", [])}))


def study_name(family: str, seeds: Sequence[int], timesteps: int) -> str:
    """The study of one family in a shared storage: the same name for every process of one sweep.
    The ``-space2`` suffix marks the search space with large batches and ``n_envs`` (issue 21):
    Optuna refuses a categorical parameter whose choices changed, so a study of the earlier space
    is not resumed with this one (warm-start from its JSON instead)."""
    return f"ppo-{family}-{timesteps}steps-seeds{'_'.join(str(int(s)) for s in seeds)}-space2"


def journal_storage(path: str) -> Any:
    """An Optuna JournalStorage in the file ``path`` (append-only, lock-protected: safe for several
    processes on one machine or a shared file system, and for a process killed mid-write)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(path)))


def _record(trial: Any) -> dict[str, Any]:
    return {"number": trial.number, "params": dict(trial.params), "earlier": bool(trial.user_attrs.get("earlier")),
            "objective": trial.value, "per_seed": trial.user_attrs.get("per_seed", []),
            **{k: trial.user_attrs.get(k) for k in ("target_gap", "steps_to_target", "seconds_to_target")}}


def run_sweep(families: Sequence[str], seeds: Sequence[int], timesteps: int, time_budget_s: float,
              max_trials: int = 50, sampler_seed: int = 0, n_startup_trials: int = 4,
              warm_start: dict[str, list[dict[str, Any]]] | None = None,
              progress: Callable[[str], None] | None = None, storage: Any = None,
              target_gap: float = TARGET_GAP, enqueue: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Tune one-shot team-reward PPO per family; returns every completed trial (earlier ones first,
    marked ``"earlier": True``) and the chosen configurations. ``max_trials`` counts the trials of
    this sweep (with ``storage``: every process's, and those of the runs it resumes), not the
    warm-start ones; ``time_budget_s`` is this process's. Each trial also records the agent-steps and
    seconds to ``target_gap`` (not optimised); a chosen ``batch_size="full"`` is written as the number
    it stands for on the family's env (``batch_size_choice`` keeps ``"full"``).

    ``enqueue``: configurations to try first in each new study (not in a resumed one), each a dict
    over :data:`SPACE`'s keys; keys it leaves out are taken from the family's best warm-start trial
    (without warm start: from the defaults). ``{"batch_size": "full"}`` tries the best earlier
    configuration with one full-rollout minibatch.

    A suggested configuration whose one rollout (``n_steps × n_envs × N`` agent-steps) is larger
    than ``timesteps`` is pruned without training (it would train more agent-steps than the others
    get); the payload lists them under ``pruned``."""
    import optuna

    for extra in enqueue:
        check_space_params(extra, option="enqueue")

    if n_startup_trials < 1:
        raise ValueError(f"n_startup_trials must be >= 1, got {n_startup_trials!r}")
    if isinstance(target_gap, bool) or not isinstance(target_gap, (int, float)) or not target_gap > 0:
        raise ValueError(f"target_gap must be a number > 0, got {target_gap!r}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warm_start = warm_start or {}
    defaults = {k: asdict(ONE_SHOT_DEFAULTS)[k] for k in SPACE}
    studies, envs, n_agents = {}, {}, {}
    for fam in families:
        sc = scenarios("quick", keys=[FAMILY_SCENARIOS[fam]])[0]
        n_agents[fam] = sc.n_agents
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
        base = {**_BEFORE, **min(earlier, key=lambda t: t["objective"])["params"]} if earlier else defaults
        for extra in enqueue:
            studies[fam].enqueue_trial({**base, **extra})
    began = time.perf_counter()

    def completed(fam: str, new_only: bool = False) -> list[Any]:
        done = studies[fam].get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        return [t for t in done if not (new_only and t.user_attrs.get("earlier"))]

    def objective_for(fam: str):
        def objective(trial):
            params = trial_config(trial)
            rollout = int(params["n_steps"]) * int(params["n_envs"]) * n_agents[fam]
            if rollout > timesteps:  # one rollout would train more agent-steps than the budget gives
                trial.set_user_attr("pruned_because", f"rollout {rollout:,} agent-steps > budget {timesteps:,}")
                raise optuna.TrialPruned()
            out = _score(params, *envs[fam], seeds, timesteps, target_gap)
            for key in ("per_seed", "target_gap", "steps_to_target", "seconds_to_target"):
                trial.set_user_attr(key, out[key])
            return out["objective"]
        return objective

    while time.perf_counter() - began <= time_budget_s:
        todo = [fam for fam in families if len(completed(fam, new_only=True)) < max_trials]
        if not todo:
            break
        for fam in todo:
            studies[fam].optimize(objective_for(fam), n_trials=1)
            if progress is not None:
                last = studies[fam].trials[-1]
                shown = (f"{last.value:.2f}" if last.state == optuna.trial.TrialState.COMPLETE
                         else f"pruned ({last.user_attrs['pruned_because']})" if "pruned_because" in last.user_attrs
                         else "failed")
                progress(f"{fam} trial {len(completed(fam, new_only=True))}/{max_trials}: {shown}")
    trials = {fam: [_record(t) for t in sorted(completed(fam), key=lambda t: t.number)] for fam in families}
    chosen = {}
    for fam in families:
        best = min(trials[fam], key=lambda t: t["objective"])
        default = trials[fam][0]
        n_agents = scenarios("quick", keys=[FAMILY_SCENARIOS[fam]])[0].n_agents
        choice = {"batch_size_choice": FULL_BATCH} if best["params"].get("batch_size") == FULL_BATCH else {}
        chosen[f"{fam}/one_shot/team"] = {**resolve_params(best["params"], n_agents), **choice,
                                          "objective": best["objective"],
                                          "steps_to_target": best.get("steps_to_target"),
                                          "seconds_to_target": best.get("seconds_to_target"),
                                          "default_objective": default["objective"], "trials": len(trials[fam])}
    return {"families": {f: FAMILY_SCENARIOS[f] for f in families}, "seeds": list(seeds), "timesteps": timesteps,
            "time_budget_s": time_budget_s, "seconds": time.perf_counter() - began, "objective":
            "median over seeds of log10(best loss gap over the evaluation curve)", "target_gap": target_gap,
            "recorded": "per trial, beside the objective: median agent-steps and training seconds to target_gap",
            "space": SPACE,
            "sampler": f"optuna.samplers.TPESampler(seed={sampler_seed}, n_startup_trials={n_startup_trials}); "
                       "first trial = previous defaults",
            "warm_started": {f: sum(t["earlier"] for t in trials[f]) for f in families},
            "enqueued": [dict(e) for e in enqueue],
            "pruned": {f: [{"params": dict(t.params), "because": t.user_attrs.get("pruned_because")}
                           for t in studies[f].get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))]
                       for f in families},
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
                  "| trial | lr | schedule | batch | n_steps | n_envs | ent | log_std | best gap per seed | objective "
                  "| s to target |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for t in sorted(trials, key=lambda t: t["objective"]):
            p = t["params"]
            tag = (" (default)" if t is trials[0] else "") + (" (earlier)" if t.get("earlier") else "")
            gaps = ", ".join(f"{s['best_gap']:.3g}" for s in t["per_seed"])
            lines.append(f"| {t['number']}{tag} | {p['learning_rate']:.2g} | {p['lr_schedule']} | {p['batch_size']} | "
                         f"{p['n_steps']} | {p.get('n_envs', 1)} | {p['ent_coef']:g} | {p['log_std_init']:.2f} | "
                         f"{gaps} | {t['objective']:.2f} | "
                         f"{'—' if t.get('seconds_to_target') is None else format(t['seconds_to_target'], '.1f')} |")
        lines.append("")
    return "\n".join(lines)
