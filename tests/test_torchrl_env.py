"""The TorchRL adapter: valid multi-agent specs, the batched env's dynamics, and the MAPPO example learns."""
from __future__ import annotations

import pytest
import torch

pytest.importorskip("torchrl")

from torchrl.envs.utils import check_env_specs  # noqa: E402

import mbi_envs  # noqa: E402
from mbi_envs.torchrl_env import MechanismTorchRLEnv  # noqa: E402


@pytest.mark.parametrize("mode", mbi_envs.MODES)
def test_specs_and_rollout_follow_the_batched_env(mode):
    kwargs = {"n_agents": 3, "mode": mode, "reward_mode": "difference",
              **({"max_steps": 4} if mode == "iterative" else {})}  # one-shot envs reject a horizon
    env = MechanismTorchRLEnv("heterogeneous_parallel_v0", num_envs=5, dtype=torch.float64, **kwargs)  # exact path
    check_env_specs(env)
    env.set_seed(7)
    td = env.rollout(6, break_when_any_done=False)
    assert td["next", "agents", "reward"].shape == (5, 6, 3, 1)
    assert td["agents", "action"].shape == (5, 6, 3, 1)
    # replay the same actions through the batched env directly: same observations and rewards
    venv = mbi_envs.make_vec("heterogeneous_parallel_v0", num_envs=5, autoreset=False, **kwargs)
    obs, _ = venv.reset(seed=7)
    torch.testing.assert_close(td["agents", "observation"][:, 0], obs, rtol=0, atol=0)
    for t in range(6):
        obs, rew, term, trunc, _ = venv.step(td["agents", "action"][:, t])
        torch.testing.assert_close(td["next", "agents", "reward"][:, t, :, 0], rew, rtol=0, atol=0)
        assert td["next", "done"][:, t, 0].tolist() == (term | trunc).tolist()
        torch.testing.assert_close(td["next", "agents", "observation"][:, t], obs, rtol=0, atol=0)
        if bool((term | trunc).all()):  # TorchRL resets the finished copies; generators continue
            obs, _ = venv.reset()
            if t + 1 < 6:
                torch.testing.assert_close(td["agents", "observation"][:, t + 1], obs, rtol=0, atol=0)


def test_partial_reset_is_rejected():
    from tensordict import TensorDict

    env = MechanismTorchRLEnv("symmetric_parallel_v0", num_envs=2, n_agents=2)
    env.reset()
    with pytest.raises(ValueError, match="_reset"):
        env.reset(TensorDict({"_reset": torch.tensor([[True], [False]])}, batch_size=[2]))


def test_mappo_example_learns():
    from scripts.torchrl_mappo_example import train

    history = train(num_envs=16, iterations=4, frames_per_iteration=16 * 8, seed=0)
    assert len(history) == 4
    assert history[-1]["mean_global_loss"] < 0.8 * history[0]["mean_global_loss"]
