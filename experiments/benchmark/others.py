"""Contenders other than MBI: SB3 PPO (evaluated on rollout boundaries) and the classical solvers."""
from __future__ import annotations

import json
import math
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Sequence

from baselines.classical import CentralizedPolicy, NashPolicy

from .mbi import Contender
from .records import RunRecord, best, curve, env_episode, fine_reach, record_from_episode, relative, time_to_accuracy
from .scenarios import BenchScenario

__all__ = ["PPOContender", "ClassicalContender", "TUNED_PATH", "load_tuned", "tuned_differs", "exact_budget"]

TUNED_PATH = Path(__file__).resolve().parents[2] / "results" / "ppo_tuned.json"


def load_tuned(path: Path | Sequence[Path] = TUNED_PATH) -> dict[str, Any]:
    """The tuned PPO configurations (``results/ppo_tuned.json``: ``{"configs": {"<family>/<mode>/<reward>":
    {hyperparameters}}}``), or ``{}`` when there is no such file. Several paths are read in order and
    joined, a later file's entry replacing an earlier one's (e.g. the issue-10 tuning, then a re-tune of
    one family); each entry gains ``"source": "<file>: <key>"``."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    configs: dict[str, Any] = {}
    for p in map(Path, paths):
        if p.is_file():
            for key, entry in json.loads(p.read_text()).get("configs", {}).items():
                configs[key] = {**entry, "source": f"{_shown(p)}: {key}"}
    return configs


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it (how records name their source)."""
    try:
        return str(path.resolve().relative_to(TUNED_PATH.parents[1]))
    except ValueError:
        return str(path)


def tuned_differs(key: str, tuned: dict[str, Any], reference: dict[str, Any] | None = None) -> bool:
    """Whether ``tuned``'s hyperparameters for ``key`` differ from ``reference``'s (default: the
    committed ``results/ppo_tuned.json``): such a PPO run is a different job (a different record key)."""
    reference = load_tuned() if reference is None else reference
    strip = lambda e: None if e is None else {k: v for k, v in e.items() if k != "source"}  # noqa: E731
    return strip(tuned.get(key)) != strip(reference.get(key))


def exact_budget(total: int, rollout: int, n_evals: int) -> tuple[int, int]:
    """``(total, eval_every)`` rounded to whole rollouts: SB3 only stops and the evaluations only
    happen on rollout boundaries, so the agent-steps reported are the agent-steps trained."""
    rollouts = max(1, math.ceil(total / rollout))
    every = max(1, round(rollouts / max(n_evals, 1)))
    return rollouts * rollout, every * rollout


class PPOContender(Contender):
    """SB3 PPO (``baselines.ppo.train_ppo``), one shared policy, evaluated while it trains.

    Hyperparameters: the tuned configuration of the scenario's family from ``tuned`` (default
    ``results/ppo_tuned.json``; see :func:`load_tuned`) when there is one, else
    ``baselines.ppo_experiment``'s defaults (named in the record). Where the
    scenario asks for it (``ppo_vectorized``), PPO trains through the batched env with
    ``ppo_copies`` copies; evaluation always runs on the dict env, as for every contender."""

    family = "ppo"

    def __init__(self, mode: str, reward_mode: str, n_evals: int = 20, tuned: dict[str, Any] | None = None) -> None:
        self.mode, self.reward_mode, self.n_evals = mode, reward_mode, n_evals
        self.name = f"ppo-{'oneshot' if mode == 'one_shot' else 'iterative'}-{reward_mode}"
        self.tuned = load_tuned() if tuned is None else tuned

    def applies_to(self, scenario: BenchScenario) -> bool:
        return scenario.ppo_timesteps > 0 and (self.mode, self.reward_mode) in scenario.ppo_variants

    def tuning_key(self, scenario: BenchScenario) -> str:
        """``"<family>/<mode>/<reward>"``: the entry of the tuned file this contender reads."""
        return f"{scenario.family}/{self.mode}/{self.reward_mode}"

    def config(self, scenario: BenchScenario, seed: int):
        """The PPOConfig for ``scenario`` and its source (``"tuned: key"`` or ``"defaults: name"``)."""
        from baselines.ppo_experiment import ITERATIVE_DEFAULTS, ONE_SHOT_DEFAULTS

        base = ONE_SHOT_DEFAULTS if self.mode == "one_shot" else ITERATIVE_DEFAULTS
        source = "baselines.ppo_experiment." + ("ONE_SHOT_DEFAULTS" if self.mode == "one_shot" else "ITERATIVE_DEFAULTS")
        key = self.tuning_key(scenario)
        if key in self.tuned:
            known = {f.name for f in fields(base)}
            base = replace(base, **{k: v for k, v in self.tuned[key].items() if k in known})
            source = self.tuned[key].get("source", f"results/ppo_tuned.json: {key}")
        if scenario.ppo_vectorized:
            base = replace(base, vectorized=True, n_envs=scenario.ppo_copies)
        rollout = base.n_steps * base.n_envs * scenario.n_agents
        total, every = exact_budget(scenario.ppo_timesteps, rollout, self.n_evals)
        return replace(base, total_timesteps=total, seed=int(seed), eval_every=every, eval_seeds=(int(seed),),
                       tensorboard=False, progress_bar=False), source

    def run(self, scenario: BenchScenario, seed: int) -> RunRecord:
        from baselines.ppo import train_ppo

        kwargs = {**scenario.env_kwargs, **scenario.ppo_env_kwargs, "mode": self.mode, "reward_mode": self.reward_mode}
        if self.mode == "iterative":
            kwargs["max_steps"] = scenario.ppo_horizon
        config, source = self.config(scenario, seed)
        began = time.perf_counter()
        result = train_ppo(scenario.env_id, kwargs, config)
        elapsed = time.perf_counter() - began
        steps = [p["env_steps"] for p in result.curve]
        seconds = [p["wall_seconds"] for p in result.curve]
        gaps = [p["loss_gap"] for p in result.curve]
        final, n = result.curve[-1], scenario.n_agents
        optimal = None if final.get("final_loss") is None or final.get("loss_gap") is None \
            else final["final_loss"] - final["loss_gap"]
        params = {"mode": self.mode, "reward_mode": self.reward_mode, "total_timesteps": config.total_timesteps,
                  "eval_every": config.eval_every, "horizon": kwargs.get("max_steps", 1), "hyperparameters": source,
                  "config": {f.name: getattr(config, f.name) for f in fields(config)},
                  "env_path": "batched (mbi_envs.make_vec)" if config.vectorized else "dict (PettingZoo)",
                  "env_kwargs": kwargs,
                  "wall_seconds_with_evaluations": elapsed}
        return RunRecord(
            scenario=scenario.key, env_id=scenario.env_id, contender=self.name, family=self.family, seed=int(seed),
            status="trained", budget={"agent_steps": config.total_timesteps, "requested": scenario.ppo_timesteps},
            params=params, n_agents=n, final_loss=final.get("final_loss"), optimal_loss=optimal,
            loss_gap=final.get("loss_gap"), relative_gap=relative(final.get("loss_gap"), optimal),
            distance_to_optimum=final.get("distance_to_optimum"), best_gap=best(gaps),
            env_steps=int(steps[-1]), oracle_evaluations=int(steps[-1] // n), wall_seconds=float(seconds[-1]),
            time_to_accuracy=time_to_accuracy(steps, seconds, gaps), curve=curve(steps, seconds, gaps, False),
            reach=fine_reach(steps, seconds, gaps),
            notes="deterministic policy evaluated on the run's seed at rollout boundaries; "
                  "seconds = training time so far, evaluations excluded")


class ClassicalContender(Contender):
    """``centralized`` (L-BFGS-B, true types) or ``nash`` (share 0), scored by the env."""

    family = "classical"

    def __init__(self, kind: str, share: float = 0.0) -> None:
        if kind not in ("centralized", "nash"):
            raise ValueError(f"kind must be 'centralized' or 'nash', got {kind!r}")
        self.kind, self.share, self.name = kind, share, kind

    def run(self, scenario: BenchScenario, seed: int) -> RunRecord:
        dynamic = scenario.switch_step is not None
        policy = CentralizedPolicy() if self.kind == "centralized" else NashPolicy(self.share)
        env = scenario.make(mode="iterative", reward_mode="team", max_steps=scenario.mbi_iterations if dynamic else 1)
        ep = env_episode(env, policy, seed)
        params = {"solver": "L-BFGS-B (true types)"} if self.kind == "centralized" else {"share": self.share}
        return record_from_episode(scenario, self, seed, ep, n=env.n_agents, params=params,
                                   oracle=policy.total_evaluations, status="solved",
                                   notes="scored by one env step at the solution" if not dynamic else
                                   "acts every step, re-solves when the problem changes")
