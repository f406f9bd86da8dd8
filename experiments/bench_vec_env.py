"""Throughput of the batched env (``mbi_envs.make_vec``) against the dict env, and of SB3 PPO training
through the dict path and the batched path, measured in one run so the ratios share the machine's
load. :func:`run_bench` is ``scripts/bench_vec_env.py``'s whole measurement (what is timed: the
script's help); the ``bench_*`` functions time one configuration each.
"""
from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import torch

import mbi_envs

from .timing import best_time_per_call

__all__ = ["bench_dict", "bench_batched", "bench_b1_view", "bench_ppo", "machine_meta", "write_markdown", "run_bench"]


def bench_dict(n_agents: int, seconds: float, repeats: int) -> dict:
    """Time ``MechanismEnv.step`` with a fixed action dict."""
    env = mbi_envs.make("symmetric_parallel_v0", n_agents=n_agents, max_steps=10 ** 9)
    obs, _ = env.reset(seed=0)
    actions = {a: o[:1].copy() for a, o in obs.items()}
    step_s = best_time_per_call(lambda: env.step(actions), seconds, repeats)
    return {"env": "dict", "device": "cpu", "dtype": "float64", "num_envs": 1, "n_agents": n_agents,
            "step_seconds": step_s, "agent_steps_per_second": n_agents / step_s}


def bench_batched(n_agents: int, num_envs: int, seconds: float, repeats: int, device: str = "cpu",
                  dtype: torch.dtype = torch.float64) -> dict:
    """Time ``VectorMechanismEnv.step`` with a fixed action tensor."""
    venv = mbi_envs.make_vec("symmetric_parallel_v0", num_envs=num_envs, n_agents=n_agents,
                             max_steps=10 ** 9, device=device, dtype=dtype)
    obs, _ = venv.reset(seed=0)
    actions = obs[..., :1].clone()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    step_s = best_time_per_call(lambda: venv.step(actions), seconds, repeats, sync)
    return {"env": "batched", "device": device, "dtype": str(dtype).replace("torch.", ""),
            "num_envs": num_envs, "n_agents": n_agents, "step_seconds": step_s,
            "agent_steps_per_second": num_envs * n_agents / step_s}


def bench_b1_view(n_agents: int, seconds: float, repeats: int) -> dict:
    """Time the cheapest dict view over the batched env with B = 1: actions dict → (1, N, 1) tensor,
    ``VectorMechanismEnv.step``, then obs / rewards / terminations / truncations / infos (only the
    incentive) back to per-agent dicts, each tensor converted once. This is what ``MechanismEnv``
    would cost as a B = 1 view of the batched core (issue 11 asks for that only if it is as fast)."""
    import numpy as np

    venv = mbi_envs.make_vec("symmetric_parallel_v0", num_envs=1, n_agents=n_agents, max_steps=10 ** 9)
    obs, _ = venv.reset(seed=0)
    agents = [f"agent_{i}" for i in range(n_agents)]
    actions = {a: obs[0, i, :1].numpy().copy() for i, a in enumerate(agents)}

    def step():
        X = torch.from_numpy(np.stack([actions[a] for a in agents]))[None]
        o, r, term, trunc, info = venv.step(X)
        o, inc, t0, t1 = o[0].numpy(), info["incentive"][0].numpy(), bool(term[0]), bool(trunc[0])
        return ({a: o[i] for i, a in enumerate(agents)}, dict(zip(agents, r[0].tolist())),
                dict.fromkeys(agents, t0), dict.fromkeys(agents, t1),
                {a: {"incentive": inc[i]} for i, a in enumerate(agents)})

    step_s = best_time_per_call(step, seconds, repeats)
    return {"env": "B=1 dict view", "device": "cpu", "dtype": "float64", "num_envs": 1, "n_agents": n_agents,
            "step_seconds": step_s, "agent_steps_per_second": n_agents / step_s}


def bench_ppo(n_agents: int, copies: int, rollouts: int, vectorized: bool, n_epochs: int | None = None) -> dict:
    """Train SB3 PPO for ``rollouts`` rollouts; split the wall-clock into rollouts and updates.
    ``n_epochs`` overrides the README's 10 (a lighter update, to show the rollout-bound regime)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    from baselines.ppo import make_vec_env
    from baselines.ppo_experiment import ONE_SHOT_DEFAULTS

    cfg = ONE_SHOT_DEFAULTS if n_epochs is None else replace(ONE_SHOT_DEFAULTS, n_epochs=n_epochs)

    class Timer(BaseCallback):
        def __init__(self):
            super().__init__()
            self.rollout_seconds, self._t0 = 0.0, 0.0

        def _on_rollout_start(self):
            self._t0 = time.perf_counter()

        def _on_rollout_end(self):
            self.rollout_seconds += time.perf_counter() - self._t0

        def _on_step(self):
            return True

    env_kwargs = {"n_agents": n_agents, "mode": "one_shot"}
    vec_env = make_vec_env("symmetric_parallel_v0", env_kwargs, copies, vectorized)
    rollout = cfg.n_steps * vec_env.num_envs
    model = PPO("MlpPolicy", vec_env, learning_rate=cfg.learning_rate, n_steps=cfg.n_steps,
                batch_size=min(cfg.batch_size, rollout), n_epochs=cfg.n_epochs, gamma=cfg.gamma,
                gae_lambda=cfg.gae_lambda, clip_range=cfg.clip_range, ent_coef=cfg.ent_coef,
                policy_kwargs={"net_arch": list(cfg.net_arch), "log_std_init": cfg.log_std_init},
                seed=0, device="cpu", verbose=0)
    timer = Timer()
    t0 = time.perf_counter()
    model.learn(total_timesteps=rollout * rollouts, callback=timer)
    total = time.perf_counter() - t0
    steps = int(model.num_timesteps)
    return {"path": "batched" if vectorized else "dict", "n_agents": n_agents, "copies": copies,
            "agent_steps": steps, "train_seconds": total, "rollout_seconds": timer.rollout_seconds,
            "update_seconds": total - timer.rollout_seconds,
            "update_fraction": (total - timer.rollout_seconds) / total,
            "train_agent_steps_per_second": steps / total,
            "rollout_agent_steps_per_second": steps / timer.rollout_seconds,
            "hyperparameters": {"n_steps": cfg.n_steps, "batch_size": min(cfg.batch_size, rollout),
                                "n_epochs": cfg.n_epochs, "learning_rate": cfg.learning_rate,
                                "net_arch": list(cfg.net_arch)}}


def machine_meta(threads: int) -> dict:
    """Python, torch, CPU model, cores, torch threads, load average and the CUDA device (if any)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"python": platform.python_version(), "torch": torch.__version__, "cpu": cpu,
            "cpu_count": os.cpu_count(), "torch_threads": threads, "load_average_1_5_15": load,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def write_markdown(path: Path, meta: dict, env_rows: list[dict], ppo_rows: list[dict]) -> None:
    """OUT.md: the env-step table (× the dict env), the PPO table and the batched/dict ratios."""
    dict_rate = next(r["agent_steps_per_second"] for r in env_rows if r["env"] == "dict")
    lines = [f"# Batched env throughput ({meta['cpu']}, {meta['cpu_count']} cores, torch threads "
             f"{meta['torch_threads']}, load average at start {meta['load_start']}, at end {meta['load_end']})", "",
             "| env | device | dtype | B | N | time per step | agent-steps/s | × dict env |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in env_rows:
        lines.append(f"| {r['env']} | {r['device']} | {r['dtype']} | {r['num_envs']} | {r['n_agents']} | "
                     f"{r['step_seconds'] * 1e6:,.1f} µs | {r['agent_steps_per_second']:,.0f} | "
                     f"{r['agent_steps_per_second'] / dict_rate:,.1f} |")
    if ppo_rows:
        lines += ["", "| PPO path | n_epochs | copies × N | agent-steps | train s | update s (share) | "
                  "training agent-steps/s | rollout agent-steps/s |", "|---|---:|---|---:|---:|---:|---:|---:|"]
        for r in ppo_rows:
            lines.append(f"| {r['path']} | {r['hyperparameters']['n_epochs']} | {r['copies']} × {r['n_agents']} | "
                         f"{r['agent_steps']:,} | "
                         f"{r['train_seconds']:.1f} | {r['update_seconds']:.1f} ({r['update_fraction']:.0%}) | "
                         f"{r['train_agent_steps_per_second']:,.0f} | {r['rollout_agent_steps_per_second']:,.0f} |")
        lines.append("")
        for dict_row, batched_row in zip(ppo_rows[::2], ppo_rows[1::2]):
            train = batched_row["train_agent_steps_per_second"] / dict_row["train_agent_steps_per_second"]
            rollout = batched_row["rollout_agent_steps_per_second"] / dict_row["rollout_agent_steps_per_second"]
            lines.append(f"PPO n_epochs={dict_row['hyperparameters']['n_epochs']}: batched over dict path "
                         f"{train:.2f}× training agent-steps/s, {rollout:.2f}× rollout agent-steps/s.")
    path.write_text("\n".join(lines) + "\n")


def run_bench(n_agents: int = 100, batch_sizes: Sequence[int] = (1, 64, 1024),
              cuda_agents: Sequence[int] = (10 ** 5, 10 ** 6, 10 ** 7), seconds: float = 1.0, repeats: int = 5,
              threads: int = 1, ppo_copies: int = 8, ppo_rollouts: int = 2, ppo_epochs: Sequence[int] = (10,),
              skip_ppo: bool = False, out: str | Path | None = None) -> dict:
    """Time the env step (dict, B = 1 view, batched for each B; CUDA totals when a GPU is there) and,
    unless ``skip_ppo``, PPO on both paths per ``ppo_epochs``; print a line per measurement and,
    with ``out``, write ``OUT.json`` and ``OUT.md``. Returns ``{"meta", "env_step", "ppo"}``."""
    torch.set_num_threads(threads)
    meta = machine_meta(threads)
    meta["load_start"] = [round(v, 2) for v in os.getloadavg()]
    N = n_agents
    env_rows = [bench_dict(N, seconds, repeats), bench_b1_view(N, seconds, repeats)]
    env_rows += [bench_batched(N, B, seconds, repeats) for B in batch_sizes]
    if torch.cuda.is_available():
        for total in cuda_agents:
            for dtype in (torch.float32, torch.float64):
                env_rows.append(bench_batched(N, max(total // N, 1), seconds, repeats, "cuda", dtype))
    for r in env_rows:
        print(f"{r['env']:>8} {r['device']:>5} {r['dtype']:>8} B={r['num_envs']:>7} N={r['n_agents']:>5} "
              f"{r['step_seconds'] * 1e6:>12.1f} us/step {r['agent_steps_per_second']:>16,.0f} agent-steps/s "
              f"({r['agent_steps_per_second'] / env_rows[0]['agent_steps_per_second']:,.1f}x dict)", flush=True)
    ppo_rows = []
    if not skip_ppo:
        for epochs in ppo_epochs:
            for vectorized in (False, True):
                row = bench_ppo(N, ppo_copies, ppo_rollouts, vectorized, epochs)
                print(f"PPO {row['path']:>8} n_epochs={epochs}: {row['train_agent_steps_per_second']:,.0f} "
                      f"training agent-steps/s, update {row['update_seconds']:.1f} s of {row['train_seconds']:.1f} s",
                      flush=True)
                ppo_rows.append(row)
    meta["load_end"] = [round(v, 2) for v in os.getloadavg()]
    payload = {"meta": meta, "env_step": env_rows, "ppo": ppo_rows}
    if out:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(payload, indent=2))
        write_markdown(out.with_suffix(".md"), meta, env_rows, ppo_rows)
        print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')} (the tables)")
    return payload
