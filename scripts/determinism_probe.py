"""Fingerprint of a short PPO training run, to compare float results across machines and kernel pins.

Trains SB3 PPO (the one-shot defaults of ``baselines.ppo_experiment``) on C.2 with N = 100 for
``--timesteps`` agent-steps with one torch thread, then prints one JSON line: the SHA-256 of the
trained weights (bit-exact), their sum, the final loss gap, the torch CPU capability in use and the
kernel-pin variables. Two runs agree bit for bit exactly when their ``sha256`` fields are equal.

    python scripts/determinism_probe.py                                        # as the machine dispatches
    ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE python scripts/determinism_probe.py   # pinned

docs/appendix_c.md ("C.6 across machines") records what it showed.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace

from experiments.cli import nonnegative_int, positive_int, script_parser

PIN_VARIABLES = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA",
                 "NPY_DISABLE_CPU_FEATURES", "OMP_NUM_THREADS")


def fingerprint(timesteps: int, seed: int) -> dict:
    """Train and fingerprint the weights (see the module docstring)."""
    import torch

    from baselines.ppo import train_ppo
    from baselines.ppo_experiment import ONE_SHOT_DEFAULTS

    config = replace(ONE_SHOT_DEFAULTS, total_timesteps=timesteps, seed=seed, eval_every=timesteps,
                     eval_seeds=(1000,), tensorboard=False, torch_threads=1)
    result = train_ppo("symmetric_parallel_v0", {"n_agents": 100, "Y": 10.0, "lam": 0.1, "mode": "one_shot"}, config)
    params = [p.detach().to(torch.float64).flatten() for p in result.model.policy.parameters()]
    flat = torch.cat(params)
    digest = hashlib.sha256(b"".join(p.detach().cpu().numpy().tobytes() for p in result.model.policy.parameters()))
    return {"sha256": digest.hexdigest(), "param_sum": float(flat.sum()), "loss_gap": result.final.get("loss_gap"),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__,
            "pins": {k: os.environ.get(k) for k in PIN_VARIABLES}, "timesteps": timesteps, "seed": seed}


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--timesteps", type=positive_int, default=12_800, help="agent-steps (default 12,800)")
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.add_argument("--label", default="", help="a name for this run, copied into the output")
    args = parser.parse_args()
    print(json.dumps({"label": args.label, **fingerprint(args.timesteps, args.seed)}), flush=True)


if __name__ == "__main__":
    main()
