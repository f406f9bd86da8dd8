"""SB3 PPO's training throughput at the tuned minibatch against one full-rollout minibatch (issue 21).

The setting is the benchmark's ``ppo-oneshot-team`` row on C.2-N100 (``symmetric_parallel_v0``,
N = 100, one-shot, team reward): the configuration is the one
:meth:`experiments.benchmark.others.PPOContender.config` builds (the tuned
``symmetric_large/one_shot/team`` entry of ``results/ppo_tuned.json``, the budget rounded to whole
rollouts, evaluations on the run's seed at rollout boundaries). The second configuration is the
same one with ``batch_size`` = the whole rollout (``n_steps × n_envs × N`` agent-steps): one
minibatch per epoch. Everything else (clipping, normalisation, network, optimiser, epochs,
learning rate) is unchanged. ``full-batch-vec`` and ``full-batch-vec4`` train that full-batch
configuration through the batched env (``mbi_envs.make_vec``) with 1 and :data:`COPIES` copies per
rollout (the batch stays the whole rollout); ``torch-vec`` and ``torch-vec4`` train the same two
configurations with :mod:`baselines.torch_ppo` (the same algorithm written as batched torch), and
``torchrl-vec`` / ``torchrl-vec4`` the same with TorchRL's ``ClipPPOLoss`` computing the loss.

Both configurations run per seed back to back in one process, so the throughput ratio
(agent-steps per second of training, evaluations excluded) is measured under the same load.
"""
from __future__ import annotations

import os
import platform
import time
from dataclasses import fields, replace
from typing import Any, Callable, Sequence

import numpy as np

from mechanism.errors import InvalidParameterError

__all__ = ["CONFIGS", "SCENARIO", "BENCHMARK_TIMESTEPS", "configs", "COPIES", "run_one", "run_comparison", "summarise", "markdown_table"]

#: the benchmark scenario and its PPO budget in the full benchmark (agent-steps)
SCENARIO = "C.2-N100"
BENCHMARK_TIMESTEPS = 1_000_000
#: copies per rollout of the ``*-vec4`` configurations
COPIES = 4
#: the loss gap whose first reach (agent-steps and training seconds) each run records
TARGET_GAP = 0.1


def configs(timesteps: int, seed: int, n_evals: int = 10) -> dict[str, tuple[Any, str]]:
    """``{name: (PPOConfig, source)}`` for every name of :data:`CONFIGS` on C.2-N100 at ``timesteps``
    agent-steps (rounded up to whole rollouts of each configuration, as the benchmark does).

    ``tuned``: the benchmark's configuration; ``full-batch``: the same with ``batch_size`` = the
    rollout; ``full-batch-vec``: that one trained through the batched env (``vectorized=True``);
    ``full-batch-vec4``: the batched env with :data:`COPIES` copies per rollout and ``batch_size``
    = the whole rollout (``n_steps × COPIES × N``); ``torch-vec`` and ``torch-vec4``: the same two
    configurations trained by :func:`baselines.torch_ppo.train_torch_ppo` instead of SB3 (its own loss
    lines), ``torchrl-vec`` and ``torchrl-vec4`` the same with TorchRL's ``ClipPPOLoss``."""
    from experiments.benchmark.others import PPOContender, exact_budget
    from experiments.benchmark.scenarios import scenarios

    if not isinstance(timesteps, int) or isinstance(timesteps, bool) or timesteps < 1:
        raise InvalidParameterError(f"timesteps must be a positive integer, got {timesteps!r}")
    if not isinstance(n_evals, int) or isinstance(n_evals, bool) or n_evals < 1:
        raise InvalidParameterError(f"n_evals must be a positive integer, got {n_evals!r}")
    scenario = scenarios("full", budget=timesteps / BENCHMARK_TIMESTEPS, keys=[SCENARIO])[0]
    scenario = replace(scenario, ppo_timesteps=timesteps)  # exact, not rounded through the factor
    tuned, source = PPOContender("one_shot", "team", n_evals=n_evals).config(scenario, seed)
    rollout = tuned.n_steps * tuned.n_envs * scenario.n_agents
    full = replace(tuned, batch_size=rollout)
    out = {"tuned": (tuned, source), "full-batch": (full, f"{source}, batch_size = rollout ({rollout})")}
    for n_envs in (1, COPIES):
        name = "vec" if n_envs == 1 else f"vec{n_envs}"
        big = n_envs * rollout
        total, every = exact_budget(timesteps, big, n_evals)
        cfg = replace(full, vectorized=True, n_envs=n_envs, batch_size=big, total_timesteps=total, eval_every=every)
        what = f"{source}, batched env (mbi_envs.make_vec), n_envs = {n_envs}, batch_size = rollout ({big})"
        out[f"full-batch-{name}"] = (cfg, what)
        out[f"torch-{name}"] = (cfg, f"baselines.torch_ppo with the same config: {what}")
        out[f"torchrl-{name}"] = (cfg, f"baselines.torch_ppo, TorchRL's ClipPPOLoss, with the same config: {what}")
    return out


def _env(scenario_key: str = SCENARIO) -> tuple[str, dict[str, Any]]:
    from experiments.benchmark.scenarios import scenarios

    sc = scenarios("full", keys=[scenario_key])[0]
    return sc.env_id, {**sc.env_kwargs, **sc.ppo_env_kwargs, "mode": "one_shot", "reward_mode": "team"}


def run_one(name: str, config: Any, source: str) -> dict[str, Any]:
    """Train one configuration (``torch.set_num_threads(config.torch_threads)``) and return its record:
    effective batch size and rollout, agent-steps, training seconds (evaluations excluded) and with
    evaluations, agent-steps/s, final and best loss gap (``mbi_envs.evaluate`` on the run's seed), and
    the agent-steps and seconds at which the gap first reached :data:`TARGET_GAP` (``None``: never)."""
    from .benchmark.records import best, time_to_accuracy

    env_id, kwargs = _env()
    began = time.perf_counter()
    if name.startswith("torch"):
        from baselines.torch_ppo import train_torch_ppo

        loss = "torchrl" if name.startswith("torchrl") else "torch"
        result = train_torch_ppo(env_id, kwargs, config, loss=loss)
        batch_size, rollout, n_agents = result.batch_size, result.rollout, result.n_agents
        implementation = f"baselines.torch_ppo (loss={loss!r})"
    else:
        from baselines.ppo import train_ppo

        result = train_ppo(env_id, kwargs, config)
        batch_size, rollout = int(result.model.batch_size), int(result.model.n_steps * result.model.env.num_envs)
        n_agents = int(result.model.env.n_agents) if hasattr(result.model.env, "n_agents") else None
        implementation = "stable_baselines3 (baselines.ppo)"
    elapsed = time.perf_counter() - began
    steps = [p["env_steps"] for p in result.curve]
    seconds = [p["wall_seconds"] for p in result.curve]
    gaps = [p["loss_gap"] for p in result.curve]
    reach = time_to_accuracy(steps, seconds, gaps, (TARGET_GAP,))[0]
    return {"config": name, "seed": int(config.seed), "hyperparameters": source, "implementation": implementation,
            "env_path": "batched (mbi_envs.make_vec)" if (config.vectorized or name.startswith("torch")) else "dict (PettingZoo)",
            "batch_size": int(batch_size), "rollout": int(rollout), "n_agents": n_agents, "agent_steps": int(result.extras["agent_steps"]),
            "train_seconds": float(seconds[-1]), "seconds_with_evaluations": float(elapsed),
            "agent_steps_per_s": float(steps[-1] / seconds[-1]) if seconds[-1] > 0 else None,
            "final_gap": gaps[-1], "best_gap": best(gaps),
            "target_gap": TARGET_GAP, "steps_to_target": reach["env_steps"], "seconds_to_target": reach["seconds"],
            "curve": {"env_steps": steps, "seconds": seconds, "loss_gap": gaps},
            "config_fields": {f.name: getattr(config, f.name) for f in fields(config)}}


CONFIGS = ("tuned", "full-batch", "full-batch-vec", "full-batch-vec4", "torch-vec", "torch-vec4", "torchrl-vec",
           "torchrl-vec4")


def run_comparison(timesteps: int, seeds: Sequence[int], n_evals: int = 10,
                   progress: Callable[[str], None] | None = None,
                   names: Sequence[str] = ("tuned", "full-batch")) -> dict[str, Any]:
    """The configurations ``names`` (of :data:`CONFIGS`; default tuned and full-batch) on every seed,
    back to back per seed; returns the runs, per-seed throughput ratios (full-batch / tuned, and
    every configuration / full-batch, agent-steps per second, where both ran) and the run's metadata
    (machine, ``os.getloadavg()`` before and after, budget)."""
    seeds = [int(s) for s in seeds]
    if not seeds or any(s < 0 for s in seeds):
        raise InvalidParameterError(f"seeds must be one or more integers >= 0, got {seeds!r}")
    names = list(names)
    if not names or any(n not in CONFIGS for n in names) or len(set(names)) != len(names):
        raise InvalidParameterError(f"names must be one or more distinct names of {CONFIGS}, got {names!r}")
    cfgs = {s: configs(timesteps, s, n_evals) for s in seeds}  # every bad value fails before training
    load_before, began = os.getloadavg(), time.perf_counter()
    runs = []
    for s in seeds:
        for name in names:
            cfg, source = cfgs[s][name]
            runs.append(run_one(name, cfg, source))
            if progress is not None:
                r = runs[-1]
                progress(f"seed {s} {name}: batch {r['batch_size']}, {r['agent_steps_per_s']:.0f} agent-steps/s, "
                         f"final gap {r['final_gap']:.3g}, {r['seconds_with_evaluations']:.0f} s")
    import torch

    meta = {"configs": names, "machine": f"{platform.machine()} {os.cpu_count()} cores ({platform.processor() or platform.platform()})",
            "torch": torch.__version__, "torch_threads": int(cfgs[seeds[0]]["tuned"][0].torch_threads),
            "loadavg_before": list(load_before), "loadavg_after": list(os.getloadavg()),
            "seconds": time.perf_counter() - began}
    return {"scenario": SCENARIO, "env": _env()[0], "mode": "one_shot", "reward_mode": "team",
            "timesteps": int(timesteps), "benchmark_timesteps": BENCHMARK_TIMESTEPS, "seeds": seeds,
            "n_evals": n_evals, "target_gap": TARGET_GAP, "runs": runs, "summary": summarise(runs), "metadata": meta}


def _stats(values: Sequence[float | None]) -> dict[str, Any]:
    v = [float(x) for x in values if x is not None]
    if not v:
        return {"median": None, "mean": None, "min": None, "max": None, "n": 0}
    return {"median": float(np.median(v)), "mean": float(np.mean(v)), "min": min(v), "max": max(v), "n": len(v)}


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per configuration: median/mean/min/max of throughput, final gap, best gap and seconds; per seed,
    the throughput ratio full-batch / tuned and whether the full batch's final gap is ≤ the tuned one's."""
    out: dict[str, Any] = {"configs": {}, "per_seed": []}
    for name in dict.fromkeys(r["config"] for r in runs):
        mine = [r for r in runs if r["config"] == name]
        out["configs"][name] = {key: _stats([r[key] for r in mine]) for key in
                                ("agent_steps_per_s", "final_gap", "best_gap", "train_seconds",
                                 "seconds_with_evaluations", "seconds_to_target", "steps_to_target")}
        out["configs"][name]["batch_size"] = sorted({r["batch_size"] for r in mine})
        out["configs"][name]["reached_target"] = sum(r["steps_to_target"] is not None for r in mine)
    by_seed: dict[int, dict[str, dict[str, Any]]] = {}
    for r in runs:
        by_seed.setdefault(r["seed"], {})[r["config"]] = r
    for seed, pair in by_seed.items():
        if {"tuned", "full-batch"} <= set(pair):
            t, f = pair["tuned"], pair["full-batch"]
            out["per_seed"].append({"seed": seed, "throughput_ratio": f["agent_steps_per_s"] / t["agent_steps_per_s"],
                                    "final_gap_tuned": t["final_gap"], "final_gap_full": f["final_gap"],
                                    "full_no_worse": f["final_gap"] <= t["final_gap"]})
    out["throughput_ratio"] = _stats([p["throughput_ratio"] for p in out["per_seed"]])
    # every other configuration against SB3 full-batch on the dict env, and torch against SB3 on the same env
    pairs = [(n, "full-batch") for n in CONFIGS if n not in ("tuned", "full-batch")]
    pairs += [(f"{impl}-{n}", f"full-batch-{n}") for impl in ("torch", "torchrl") for n in ("vec", "vec4")]
    out["versus"] = {}
    for a, b in pairs:
        rows = [{"seed": seed, "throughput_ratio": p[a]["agent_steps_per_s"] / p[b]["agent_steps_per_s"],
                 "final_gap": [p[a]["final_gap"], p[b]["final_gap"]], "best_gap": [p[a]["best_gap"], p[b]["best_gap"]],
                 "final_no_worse": p[a]["final_gap"] <= p[b]["final_gap"], "best_no_worse": p[a]["best_gap"] <= p[b]["best_gap"]}
                for seed, p in by_seed.items() if {a, b} <= set(p)]
        if rows:
            out["versus"][f"{a} / {b}"] = {"per_seed": rows, "throughput_ratio": _stats([r["throughput_ratio"] for r in rows]),
                                           "final_no_worse_on": f"{sum(r['final_no_worse'] for r in rows)}/{len(rows)} seeds",
                                           "best_no_worse_on": f"{sum(r['best_no_worse'] for r in rows)}/{len(rows)} seeds"}
    out["full_no_worse_on"] = f"{sum(p['full_no_worse'] for p in out['per_seed'])}/{len(out['per_seed'])} seeds"
    return out


def markdown_table(payload: dict[str, Any]) -> str:
    """One row per run and a ratio line: what docs/ppo.md quotes."""
    lines = ["| config | seed | batch | agent-steps | train s | agent-steps/s | final gap | best gap | "
             f"steps to gap {payload['target_gap']:g} | s to gap {payload['target_gap']:g} |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v, f: "never" if v is None else format(v, f)  # noqa: E731
    for r in payload["runs"]:
        lines.append(f"| {r['config']} | {r['seed']} | {r['batch_size']} | {r['agent_steps']:,} | "
                     f"{r['train_seconds']:.1f} | {r['agent_steps_per_s']:,.0f} | {r['final_gap']:.3g} | "
                     f"{r['best_gap']:.3g} | {fmt(r['steps_to_target'], ',')} | {fmt(r['seconds_to_target'], '.1f')} |")
    s = payload["summary"]
    ratio = s["throughput_ratio"]
    if s["per_seed"]:
        lines += ["", f"Throughput ratio full-batch / tuned, per seed: "
                  + ", ".join(f"{p['throughput_ratio']:.1f}×" for p in s["per_seed"])
                  + f" (median {ratio['median']:.1f}×, min {ratio['min']:.1f}×, max {ratio['max']:.1f}×); "
                  f"full batch's final gap ≤ tuned's on {s['full_no_worse_on']}."]
    for pair, v in s.get("versus", {}).items():
        r = v["throughput_ratio"]
        lines += ["", f"Throughput ratio {pair}, per seed: " + ", ".join(f"{p['throughput_ratio']:.2f}×" for p in v["per_seed"])
                  + f" (median {r['median']:.2f}×); final gap ≤ on {v['final_no_worse_on']}, best gap ≤ on {v['best_no_worse_on']}."]
    return "\n".join(lines)
