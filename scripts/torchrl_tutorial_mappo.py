"""TorchRL's multi-agent PPO tutorial, as written, with only the env construction changed.

The code of ``tutorials/sphinx-tutorials/multiagent_ppo.py`` (pytorch/rl: MultiAgentMLP policy
with shared parameters, centralised critic (MAPPO), ``RewardSum``, ``check_env_specs``,
``Collector``, replay buffer, GAE, ``ClipPPOLoss`` and its training loop, key for key), where the
tutorial's ``VmasEnv(scenario=..., num_envs=..., continuous_actions=True, max_steps=...,
device=..., n_agents=...)`` becomes ``MechanismTorchRLEnv(env_id, num_envs=..., max_steps=...,
device=..., **scenario_kwargs)``. The tutorial's sizes (``frames_per_batch``, ``n_iters``,
``num_epochs``, ``minibatch_size``, ``num_cells``) are arguments, so a test can run it in seconds;
printing, the progress bar and the plot are left out.

    PYTHONPATH=. python scripts/torchrl_tutorial_mappo.py                    # both envs, 5 iterations each
    PYTHONPATH=. python scripts/torchrl_tutorial_mappo.py --env economic_dispatch_v0 --n-iters 3

Prints the tutorial's logged quantity, the mean episode reward of finished episodes, per iteration.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from experiments.cli import positive_int, script_parser  # noqa: E402

# the two envs the issue names; the tutorial's n_agents=3 becomes each scenario's size argument
TUTORIAL_ENVS: dict[str, dict[str, Any]] = {
    "symmetric_parallel_v0": {"n_agents": 100},
    "economic_dispatch_v0": {},
}


def run_tutorial(env_id: str = "symmetric_parallel_v0", scenario_kwargs: dict[str, Any] | None = None, *,
                 frames_per_batch: int = 6_000, n_iters: int = 5, num_epochs: int = 30,
                 minibatch_size: int = 400, num_cells: int = 256, max_steps: int = 100,
                 seed: int = 0) -> list[float]:
    """The tutorial's script from ``torch.manual_seed(0)`` to the end of its training loop; returns
    ``episode_reward_mean_list`` (one value per iteration, as the tutorial logs it)."""
    # the tutorial's imports (here, not at the top of the file, so --help answers before torch loads)
    import torch
    from tensordict.nn import TensorDictModule, set_composite_lp_aggregate
    from tensordict.nn.distributions import NormalParamExtractor
    from torchrl.collectors import Collector
    from torchrl.data.replay_buffers import ReplayBuffer
    from torchrl.data.replay_buffers.samplers import SamplerWithoutReplacement
    from torchrl.data.replay_buffers.storages import LazyTensorStorage
    from torchrl.envs import RewardSum, TransformedEnv
    from torchrl.envs.utils import check_env_specs
    from torchrl.modules import MultiAgentMLP, ProbabilisticActor, TanhNormal
    from torchrl.objectives import ClipPPOLoss, ValueEstimators

    from mbi_envs.torchrl_env import MechanismTorchRLEnv

    torch.manual_seed(seed)
    device = torch.device("cpu")
    vmas_device = device  # the tutorial's name for the simulator's device
    total_frames = frames_per_batch * n_iters
    lr = 3e-4
    max_grad_norm = 1.0
    clip_epsilon = 0.2
    gamma = 0.99
    lmbda = 0.9
    entropy_eps = 1e-4
    set_composite_lp_aggregate(False).set()
    num_vmas_envs = frames_per_batch // max_steps

    # ---- the one changed statement: the tutorial builds VmasEnv(scenario="navigation", ...) here
    env = MechanismTorchRLEnv(env_id, num_envs=num_vmas_envs, max_steps=max_steps, device=vmas_device,
                              **(TUTORIAL_ENVS.get(env_id, {}) if scenario_kwargs is None else scenario_kwargs))
    # ---- from here on, the tutorial's code
    env = TransformedEnv(env, RewardSum(in_keys=[env.reward_key], out_keys=[("agents", "episode_reward")]))
    check_env_specs(env)
    env.rollout(5)

    share_parameters_policy = True
    policy_net = torch.nn.Sequential(
        MultiAgentMLP(
            n_agent_inputs=env.observation_spec["agents", "observation"].shape[-1],
            n_agent_outputs=2 * env.full_action_spec[env.action_key].shape[-1],
            n_agents=env.n_agents, centralised=False, share_params=share_parameters_policy, device=device,
            depth=2, num_cells=num_cells, activation_class=torch.nn.Tanh),
        NormalParamExtractor())
    policy_module = TensorDictModule(policy_net, in_keys=[("agents", "observation")],
                                     out_keys=[("agents", "loc"), ("agents", "scale")])
    policy = ProbabilisticActor(
        module=policy_module, spec=env.action_spec_unbatched, in_keys=[("agents", "loc"), ("agents", "scale")],
        out_keys=[env.action_key], distribution_class=TanhNormal,
        distribution_kwargs={"low": env.full_action_spec_unbatched[env.action_key].space.low,
                             "high": env.full_action_spec_unbatched[env.action_key].space.high},
        return_log_prob=True)

    share_parameters_critic = True
    mappo = True  # IPPO if False
    critic_net = MultiAgentMLP(
        n_agent_inputs=env.observation_spec["agents", "observation"].shape[-1], n_agent_outputs=1,
        n_agents=env.n_agents, centralised=mappo, share_params=share_parameters_critic, device=device,
        depth=2, num_cells=num_cells, activation_class=torch.nn.Tanh)
    critic = TensorDictModule(module=critic_net, in_keys=[("agents", "observation")],
                              out_keys=[("agents", "state_value")])
    policy(env.reset())
    critic(env.reset())

    collector = Collector(env, policy, device=vmas_device, storing_device=device,
                          frames_per_batch=frames_per_batch, total_frames=total_frames)
    replay_buffer = ReplayBuffer(storage=LazyTensorStorage(frames_per_batch, device=device),
                                 sampler=SamplerWithoutReplacement(), batch_size=minibatch_size)
    loss_module = ClipPPOLoss(actor_network=policy, critic_network=critic, clip_epsilon=clip_epsilon,
                              entropy_coeff=entropy_eps, normalize_advantage=False)
    loss_module.set_keys(reward=env.reward_key, action=env.action_key, value=("agents", "state_value"),
                         done=("agents", "done"), terminated=("agents", "terminated"))
    loss_module.make_value_estimator(ValueEstimators.GAE, gamma=gamma, lmbda=lmbda)
    GAE = loss_module.value_estimator
    optim = torch.optim.Adam(loss_module.parameters(), lr)

    episode_reward_mean_list = []
    for tensordict_data in collector:
        tensordict_data.set(("next", "agents", "done"), tensordict_data.get(("next", "done")).unsqueeze(-1).expand(
            tensordict_data.get_item_shape(("next", env.reward_key))))
        tensordict_data.set(("next", "agents", "terminated"),
                            tensordict_data.get(("next", "terminated")).unsqueeze(-1).expand(
                                tensordict_data.get_item_shape(("next", env.reward_key))))
        with torch.no_grad():
            GAE(tensordict_data, params=loss_module.critic_network_params,
                target_params=loss_module.target_critic_network_params)
        data_view = tensordict_data.reshape(-1)
        replay_buffer.extend(data_view)
        for _ in range(num_epochs):
            for _ in range(frames_per_batch // minibatch_size):
                subdata = replay_buffer.sample()
                loss_vals = loss_module(subdata)
                loss_value = loss_vals["loss_objective"] + loss_vals["loss_critic"] + loss_vals["loss_entropy"]
                loss_value.backward()
                torch.nn.utils.clip_grad_norm_(loss_module.parameters(), max_grad_norm)
                optim.step()
                optim.zero_grad()
        collector.update_policy_weights_()
        done = tensordict_data.get(("next", "agents", "done"))
        episode_reward_mean = tensordict_data.get(("next", "agents", "episode_reward"))[done].mean().item()
        episode_reward_mean_list.append(episode_reward_mean)
    collector.shutdown()
    return episode_reward_mean_list


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--env", choices=sorted(TUTORIAL_ENVS), action="append",
                        help="env id (repeatable; default: both)")
    parser.add_argument("--n-iters", type=positive_int, default=5)
    parser.add_argument("--frames-per-batch", type=positive_int, default=6_000,
                        help="frames per iteration (default 6,000; at least the minibatch of 400)")
    parser.add_argument("--num-epochs", type=positive_int, default=30)
    args = parser.parse_args()
    if args.frames_per_batch < 400:  # the tutorial's minibatch_size: fewer frames would train on nothing
        parser.error(f"argument --frames-per-batch: must be >= 400 (the minibatch size), got {args.frames_per_batch}")
    for env_id in args.env or list(TUTORIAL_ENVS):
        start = time.perf_counter()
        rewards = run_tutorial(env_id, n_iters=args.n_iters, frames_per_batch=args.frames_per_batch,
                               num_epochs=args.num_epochs)
        print(f"{env_id}: episode_reward_mean per iteration {[round(r, 4) for r in rewards]} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
