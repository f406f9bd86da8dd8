"""baselines/torch_ppo.py: the batched-torch PPO is SB3's PPO (same log-probs, values, GAE and one
full-batch update from the same parameters and rollout, to float32 rounding), its runs are seeded
and reproducible, and bad input is refused before any env is built. Tiny runs, not timed tests."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

from baselines.ppo import PPOConfig, make_vec_env  # noqa: E402
from baselines.torch_ppo import ActorCritic, TorchPPOPolicy, gae, minibatch_size, torchrl_loss, train_torch_ppo, update  # noqa: E402
from mechanism.errors import InvalidParameterError  # noqa: E402

ENV = "symmetric_parallel_v0"
KWARGS = {"n_agents": 4, "mode": "one_shot", "reward_mode": "team"}
TINY = PPOConfig(total_timesteps=48, n_steps=4, batch_size=16, n_epochs=3, learning_rate=3e-3, ent_coef=0.01,
                 log_std_init=-1.0, eval_every=16, eval_seeds=(0,), tensorboard=False)


def _sb3_names(name: str) -> str:
    head, _, rest = name.partition(".")
    return {"pi": "mlp_extractor.policy_net.", "vf": "mlp_extractor.value_net.", "mean": "action_net.",
            "value": "value_net."}.get(head, head) + rest if rest else name


def test_a_tiny_run_is_reproducible_and_counts_whole_rollouts():
    a = train_torch_ppo(ENV, KWARGS, TINY)
    b = train_torch_ppo(ENV, KWARGS, TINY)
    c = train_torch_ppo(ENV, KWARGS, replace(TINY, seed=1))
    gaps = [p["loss_gap"] for p in a.curve]
    assert gaps == [p["loss_gap"] for p in b.curve] and gaps != [p["loss_gap"] for p in c.curve]
    for (name, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(x, y), name
    assert [p["env_steps"] for p in a.curve] == [0, 16, 32, 48] and a.extras["agent_steps"] == 48
    assert a.batch_size == a.rollout == 16 and a.n_agents == 4 and a.train_seconds >= 0
    assert all(p["loss_gap"] >= 0 for p in a.curve)
    assert train_torch_ppo(ENV, KWARGS, replace(TINY, total_timesteps=20)).extras["agent_steps"] == 32  # rounded up
    assert minibatch_size(12, 16) == 8 and minibatch_size(10_000, 16) == 16


@pytest.mark.slow
def test_the_torchrl_loss_run_is_reproducible_and_trains():
    pytest.importorskip("torchrl")
    a = train_torch_ppo(ENV, KWARGS, TINY, loss="torchrl")
    b = train_torch_ppo(ENV, KWARGS, TINY, loss="torchrl")
    assert [p["loss_gap"] for p in a.curve] == [p["loss_gap"] for p in b.curve] and a.extras["loss"] == "torchrl"
    assert a.curve[-1]["loss_gap"] != a.curve[0]["loss_gap"]


def test_bad_input_is_refused_before_training():
    with pytest.raises(InvalidParameterError, match="loss must be one of"):
        train_torch_ppo(ENV, KWARGS, TINY, loss="sb3")
    with pytest.raises(InvalidParameterError, match="config must be a PPOConfig"):
        train_torch_ppo(ENV, KWARGS, {"n_steps": 4})
    with pytest.raises(ValueError, match="PPOConfig.batch_size"):
        train_torch_ppo(ENV, KWARGS, replace(TINY, batch_size=0))
    with pytest.raises(ValueError, match="PPOConfig.lr_schedule"):
        train_torch_ppo(ENV, KWARGS, replace(TINY, lr_schedule="cosine"))
    with pytest.raises(ValueError, match="unknown keyword"):
        train_torch_ppo(ENV, {**KWARGS, "n_agent": 4}, TINY)
    model = ActorCritic(3, 1, (8,), -1.0, torch.Generator().manual_seed(0))
    with pytest.raises(InvalidParameterError, match="deterministic"):
        TorchPPOPolicy(model, 3, deterministic="yes")
    with pytest.raises(InvalidParameterError, match="model must be an ActorCritic"):
        TorchPPOPolicy(object(), 3)


@pytest.mark.parametrize("loss", ["torch", "torchrl"])
def test_one_full_batch_update_is_sb3s_update(loss):
    """From SB3's initial parameters and SB3's own rollout, the torch PPO computes the same
    log-probs, values, advantages and returns, and one update (3 epochs, full batch; the loss from
    this module's lines or from TorchRL's ClipPPOLoss) lands on SB3's parameters; the
    deterministic actions agree too."""
    if loss == "torchrl":
        pytest.importorskip("torchrl")
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    import mbi_envs
    from baselines.sb3_policy import SB3Policy

    cfg = replace(TINY, total_timesteps=16)
    torch.set_num_threads(1)
    sb3 = PPO("MlpPolicy", make_vec_env(ENV, KWARGS, 1, vectorized=True), learning_rate=cfg.learning_rate,
              n_steps=cfg.n_steps, batch_size=16, n_epochs=cfg.n_epochs, ent_coef=cfg.ent_coef, seed=0, device="cpu",
              policy_kwargs={"net_arch": [64, 64], "log_std_init": cfg.log_std_init})

    class Snapshot(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            self.params = {k: v.clone() for k, v in self.model.policy.state_dict().items()}
            buf = self.model.rollout_buffer
            # SB3 keeps observations and actions in the spaces' dtype (float64) and feeds float32 to the nets
            self.buf = {k: torch.as_tensor(np.array(getattr(buf, k), dtype=np.float32)) for k in
                        ("observations", "actions", "log_probs", "advantages", "returns", "values", "rewards",
                         "episode_starts")}
            self.last_values = self.locals["values"].flatten().clone()
            self.dones = torch.as_tensor(self.locals["dones"], dtype=torch.float32)

    snap = Snapshot()
    sb3.learn(total_timesteps=16, callback=snap)
    mine = ActorCritic(sb3.observation_space.shape[0], 1, (64, 64), cfg.log_std_init, torch.Generator().manual_seed(0))
    mine.load_state_dict({k: snap.params[_sb3_names(k)] for k in mine.state_dict()})
    b = snap.buf
    with torch.no_grad():
        mean, value = mine(b["observations"])
        logp, _ = mine.log_prob_entropy(mean, b["actions"])
    torch.testing.assert_close(logp, b["log_probs"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(value, b["values"], atol=1e-6, rtol=1e-5)
    adv, ret = gae(b["rewards"], b["values"], b["episode_starts"], snap.last_values, snap.dones, cfg.gamma, cfg.gae_lambda)
    torch.testing.assert_close(adv, b["advantages"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ret, b["returns"], atol=1e-5, rtol=1e-5)
    optim = torch.optim.Adam(mine.parameters(), lr=cfg.learning_rate, eps=1e-5)
    update(mine, optim, (b["observations"], b["actions"], b["log_probs"], b["advantages"], b["returns"]), cfg, 16,
           torch.Generator().manual_seed(0), torchrl_loss(mine, cfg) if loss == "torchrl" else None)
    after = sb3.policy.state_dict()
    moved = 0.0
    for name, p in mine.state_dict().items():
        torch.testing.assert_close(p, after[_sb3_names(name)], atol=1e-6, rtol=1e-5, msg=name)
        moved = max(moved, float((after[_sb3_names(name)] - snap.params[_sb3_names(name)]).abs().max()))
    assert moved > 1e-3  # the update did move the parameters (the comparison is not vacuous)
    env = mbi_envs.make(ENV, **KWARGS)
    obs, _ = env.reset(seed=0)
    ours, theirs = TorchPPOPolicy(mine, sb3.observation_space.shape[0]), SB3Policy(sb3)
    ours.reset(env, 0), theirs.reset(env, 0)
    a, t = ours.act(obs), theirs.act(obs)
    for agent in a:
        np.testing.assert_allclose(a[agent], t[agent], atol=1e-5)
