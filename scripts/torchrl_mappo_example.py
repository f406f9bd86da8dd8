"""MAPPO / IPPO with TorchRL on a batched mbi_envs environment (the short example of docs/batched.md).

One policy shared by the agents (``MultiAgentMLP``, decentralised: each agent sees its own
observation), a critic that is centralised (MAPPO) or not (IPPO), TorchRL's ``ClipPPOLoss`` and
GAE, data from a ``Collector`` over :class:`mbi_envs.torchrl_env.MechanismTorchRLEnv`.

    PYTHONPATH=. python scripts/torchrl_mappo_example.py --iterations 20 [--ippo]

Prints the mean team reward and the final global loss per iteration (on C.2 one-shot the team
reward is −L, so it should rise toward −L* as the policy learns).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from experiments.cli import nonnegative_int, positive_int, script_parser  # noqa: E402


def train(env_id: str = "symmetric_parallel_v0", env_kwargs: dict | None = None, *, num_envs: int = 32,
          iterations: int = 10, frames_per_iteration: int = 32 * 8, epochs: int = 4, minibatch: int = 64,
          centralised_critic: bool = True, lr: float = 3e-3, seed: int = 0) -> list[dict[str, float]]:
    """Train MAPPO (``centralised_critic``) or IPPO; returns per-iteration mean reward and loss."""
    import torch  # here, not at the top: --help and bad arguments answer before torch and torchrl load
    from tensordict.nn import NormalParamExtractor, TensorDictModule
    from torch import nn
    from torchrl.collectors import Collector
    from torchrl.data import LazyTensorStorage, ReplayBuffer, SamplerWithoutReplacement
    from torchrl.modules import MultiAgentMLP, ProbabilisticActor, TanhNormal
    from torchrl.objectives import ClipPPOLoss, ValueEstimators

    from mbi_envs.torchrl_env import MechanismTorchRLEnv

    torch.manual_seed(seed)
    env = MechanismTorchRLEnv(env_id, num_envs=num_envs, dtype=torch.float32,
                              **(env_kwargs or {"n_agents": 10, "mode": "one_shot"}))
    env.set_seed(seed)
    n_agents, obs_dim = env.venv.n_agents, env.venv.obs_dim
    act_spec = env.action_spec["agents", "action"]
    policy_net = nn.Sequential(
        MultiAgentMLP(n_agent_inputs=obs_dim, n_agent_outputs=2 * env.venv.action_dim, n_agents=n_agents,
                      centralised=False, share_params=True, depth=2, num_cells=64, activation_class=nn.Tanh),
        NormalParamExtractor())
    policy = ProbabilisticActor(
        TensorDictModule(policy_net, in_keys=[("agents", "observation")], out_keys=[("agents", "loc"), ("agents", "scale")]),
        spec=env.action_spec, in_keys=[("agents", "loc"), ("agents", "scale")], out_keys=[("agents", "action")],
        distribution_class=TanhNormal, return_log_prob=True,
        distribution_kwargs={"low": act_spec.space.low[0], "high": act_spec.space.high[0]})
    critic = TensorDictModule(
        MultiAgentMLP(n_agent_inputs=obs_dim, n_agent_outputs=1, n_agents=n_agents,
                      centralised=centralised_critic, share_params=True, depth=2, num_cells=64,
                      activation_class=nn.Tanh),
        in_keys=[("agents", "observation")], out_keys=[("agents", "state_value")])
    collector = Collector(env, policy, frames_per_batch=frames_per_iteration,
                                  total_frames=frames_per_iteration * iterations)
    buffer = ReplayBuffer(storage=LazyTensorStorage(frames_per_iteration), sampler=SamplerWithoutReplacement(),
                          batch_size=minibatch)
    loss_module = ClipPPOLoss(actor_network=policy, critic_network=critic, clip_epsilon=0.2,
                              entropy_coeff=1e-3, normalize_advantage=False)
    loss_module.set_keys(reward=("agents", "reward"), action=("agents", "action"),
                         value=("agents", "state_value"), sample_log_prob=("agents", "action_log_prob"),
                         done=("agents", "done"), terminated=("agents", "terminated"))
    loss_module.make_value_estimator(ValueEstimators.GAE, gamma=0.99, lmbda=0.95)
    optim = torch.optim.Adam(loss_module.parameters(), lr)
    history = []
    for data in collector:
        # the agents of a copy end together: broadcast the root done flags to the agent group
        for key in ("done", "terminated"):
            data.set(("next", "agents", key), data.get(("next", key)).unsqueeze(-1).expand(
                data.get(("next", "agents", "reward")).shape))
        with torch.no_grad():
            loss_module.value_estimator(data, params=loss_module.critic_network_params,
                                        target_params=loss_module.target_critic_network_params)
        buffer.extend(data.reshape(-1))
        for _ in range(epochs):
            for _ in range(frames_per_iteration // minibatch):
                losses = loss_module(buffer.sample())
                loss = losses["loss_objective"] + losses["loss_critic"] + losses["loss_entropy"]
                optim.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(loss_module.parameters(), 1.0)
                optim.step()
        collector.update_policy_weights_()
        history.append({"mean_reward": float(data.get(("next", "agents", "reward")).mean()),
                        "mean_global_loss": float(data.get(("next", "global_loss")).mean())})
    collector.shutdown()
    return history


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--iterations", type=positive_int, default=20, help="collect-and-update iterations (default 20)")
    parser.add_argument("--num-envs", type=positive_int, default=32, help="batched env copies (default 32)")
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.add_argument("--ippo", action="store_true", help="decentralised critic (IPPO) instead of MAPPO")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    frames = args.num_envs * 8  # 8 steps per copy and iteration; a minibatch never larger than the batch
    for i, row in enumerate(train(num_envs=args.num_envs, iterations=args.iterations, seed=args.seed,
                                  frames_per_iteration=frames, minibatch=min(64, frames),
                                  centralised_critic=not args.ippo)):
        print(f"iteration {i:3d}: mean reward {row['mean_reward']:.4f}, mean global loss {row['mean_global_loss']:.4f}")


if __name__ == "__main__":
    main()
