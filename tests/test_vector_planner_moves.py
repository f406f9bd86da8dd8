"""The batched env applies a scenario's Planner move (``planner_update``) copy by copy and reports
its extra infos, as the dict env does (before, ``make_vec`` ignored both: economic dispatch's
multiplier never moved in the batched env, so its losses and observations drifted from the dict
env's after the first update)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import mbi_envs

B = 3


@pytest.mark.parametrize("mode", mbi_envs.MODES)
def test_batched_dispatch_equals_dict_env_with_multiplier_updates(mode):
    kwargs = {"multiplier_every": 1, "mode": mode, **({"max_steps": 4} if mode == "iterative" else {})}
    venv = mbi_envs.make_vec("economic_dispatch_v0", num_envs=B, autoreset=False, **kwargs)
    envs = [mbi_envs.make("economic_dispatch_v0", **kwargs) for _ in range(B)]
    obs, info = venv.reset(seed=7)
    resets = [env.reset(seed=7 + b) for b, env in enumerate(envs)]
    extra = ("multiplier", "system_marginal_price", "balance_mw", "generation_cost")
    for key in extra:  # reset infos (one-shot: 0 placeholders, as the dict env's)
        np.testing.assert_allclose(info[key].numpy(), [i["agent_0"][key] for _, i in resets], rtol=1e-12, atol=1e-12)
    low, high = venv.template.action_low, venv.template.action_high
    rng = np.random.default_rng(0)
    for t in range(4 if mode == "iterative" else 1):
        actions = rng.uniform(low, high, size=(B,) + low.shape)
        obs, rew, term, trunc, info = venv.step(torch.from_numpy(actions))
        outs = [env.step(dict(zip(env.possible_agents, actions[b]))) for b, env in enumerate(envs)]
        np.testing.assert_allclose(obs.numpy(), [np.stack([o[0][a] for a in envs[0].possible_agents]) for o in outs],
                                   rtol=1e-12, atol=1e-12, err_msg=f"obs step {t}")
        np.testing.assert_allclose(rew.numpy(), [[o[1][a] for a in envs[0].possible_agents] for o in outs],
                                   rtol=1e-12, atol=1e-9, err_msg=f"rewards step {t}")
        for key in ("global_loss", "optimal_loss", "loss_gap") + extra:
            np.testing.assert_allclose(info[key].numpy(), [o[4]["agent_0"][key] for o in outs], rtol=1e-12,
                                       atol=1e-9, err_msg=f"{key} step {t}")
    if mode == "iterative":  # the multipliers moved, and apart: each copy holds its own problem
        assert len({id(p) for p in venv.problems}) == B and venv.problem is venv.problems[0]
        assert len(set(info["multiplier"].tolist())) == B
