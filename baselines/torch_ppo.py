"""PPO written as batched torch over the batched env: SB3's PPO algorithm without SB3 (issue 21).

``train_torch_ppo(env_id, env_kwargs, config)`` trains one policy shared by all agents of
``config.n_envs`` copies of ``mbi_envs.make_vec(env_id, **env_kwargs)``: observations, actions,
rewards, the rollout buffer, GAE and the minibatch updates are ``(n_steps, B·N, ·)`` tensors, with
no per-agent Python and no numpy round trip. It takes the same :class:`~baselines.ppo.PPOConfig` as
:func:`baselines.ppo.train_ppo` and returns the same curve (agent-steps, training seconds with
evaluations excluded, loss gap of the deterministic policy with ``mbi_envs.evaluate`` on the dict
env at rollout boundaries), so the two are compared on the same metric.

The algorithm is Stable-Baselines3 2.x's ``PPO("MlpPolicy", ...)`` as ``baselines/ppo.py`` builds it:

* **Policy**: separate actor and critic MLPs ``obs → 64 → 64`` (``config.net_arch``), tanh, on the
  raw float32 observation (SB3's ``FlattenExtractor``: no normalisation); action mean
  ``Linear(64, d)``, value ``Linear(64, 1)``; a state-independent log-std parameter initialised to
  ``config.log_std_init``. SB3's orthogonal initialisation: gain √2 for the hidden layers, 0.01 for
  the action mean, 1 for the value head, zero biases.
* **Rollout**: ``n_steps`` joint steps of every slot (slot = one agent of one copy; SB3's
  ``n_steps`` is per slot too), Gaussian actions ``mean + exp(log_std)·ε``; the env receives them
  projected onto each agent's box (SB3 clips to the action space, the batched env clips again,
  so the env sees the same action) and the buffer keeps the unclipped sample and its log-prob.
  Rewards are cast to float32 as SB3's buffer does. A time-limit truncation adds ``γ·V(final obs)``
  to the reward (SB3's timeout bootstrap); a termination does not bootstrap.
* **GAE** (γ, λ) backwards over the rollout with SB3's episode-start convention, bootstrapped from
  ``V(last obs)``; returns = advantages + values.
* **Update**: ``n_epochs`` passes over a random permutation of the rollout in minibatches of the
  largest divisor of the rollout ≤ ``batch_size`` (as ``train_ppo`` passes SB3); per minibatch the
  advantages normalised by their mean and unbiased std (+1e-8), clipped surrogate with
  ``clip_range``, value loss ``mse(returns, V)`` (no value clipping), entropy of the Gaussian,
  ``loss = policy + ent_coef·(−entropy) + 0.5·value``, gradients clipped to global norm 0.5, one Adam
  step (``eps=1e-5``) over all parameters. Learning rate ``constant`` or ``linear``
  (``lr·(1 − agent-steps so far / total)``, set before each rollout's update as SB3 does).

The loss is this module's own lines (``loss="torch"``) or TorchRL's ``ClipPPOLoss``
(``loss="torchrl"``, :func:`torchrl_loss`: ``loss_critic_type="l2"``, ``critic_coeff=0.5``,
``entropy_coeff=ent_coef``, a closed-form diagonal Gaussian); ``tests/test_torch_ppo.py`` checks
both against SB3: from SB3's initial parameters and SB3's own rollout, the log-probs, values,
advantages, returns and the parameters after one full-batch update agree to float32 rounding.
What TorchRL does not do here: the advantages are normalised with SB3's formula before the loss
(TorchRL's ``normalize_advantage`` divides by ``std.clamp_min(1e-6)``, SB3 by ``std + 1e-8``);
GAE is a port of SB3's ``compute_returns_and_advantage`` on ``(T, M)`` tensors, and the rollout
steps ``make_vec`` directly, not TorchRL's ``GAE`` module, ``Collector`` and
:class:`~mbi_envs.torchrl_env.MechanismTorchRLEnv`, which would add a TensorDict per step for the
same numbers.

Differences from SB3 that remain (none changes the algorithm; all change the random numbers):

* **Random streams**: one ``torch.Generator`` seeded with ``config.seed`` draws the initial weights,
  the action noise and the minibatch permutations; SB3 seeds torch's and numpy's global generators
  and permutes with numpy. Same seed → same numbers here, but not SB3's numbers.
* **Float arithmetic**: GAE and the buffer are torch float32 tensors (SB3: numpy float32 arrays);
  the order of the flattened rollout differs (step-major here, slot-major in SB3), which only
  changes which samples share a minibatch (none with one full-rollout minibatch); SB3 permutes
  the rollout even when one minibatch holds all of it, here it is used in order (the same sums in
  another order).
* **Env copies**: copy ``k`` is reset first with ``seed + k·N`` (as ``BatchedVecEnv`` does for SB3).

Not implemented (``baselines/ppo.py`` does not use them either): SB3's ``target_kl``, value
clipping, gSDE, observation/reward normalisation, TensorBoard logs and saving models.
``config.vectorized``, ``tensorboard`` and ``progress_bar`` are ignored (this path is always the
batched env, and logs nothing).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

import mbi_envs
from mechanism.errors import InvalidParameterError

from .ppo import PPOConfig, torch_threads

__all__ = ["ActorCritic", "TorchPPOPolicy", "TorchPPOResult", "train_torch_ppo", "minibatch_size", "gae", "update", "torchrl_loss", "LOSSES"]


def minibatch_size(batch_size: int, rollout: int) -> int:
    """The largest divisor of ``rollout`` that is ``<= batch_size`` (what ``train_ppo`` hands SB3)."""
    return max(b for b in range(1, min(batch_size, rollout) + 1) if rollout % b == 0)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    """SB3's ``MlpPolicy`` for a Box action space: separate tanh MLPs for the action mean and the
    value, a state-independent log-std, SB3's orthogonal initialisation (drawn from ``generator``)."""

    def __init__(self, obs_dim: int, action_dim: int, net_arch: tuple[int, ...], log_std_init: float,
                 generator: torch.Generator) -> None:
        super().__init__()
        sizes = [obs_dim, *net_arch]
        self.pi, self.vf = _mlp(sizes), _mlp(sizes)
        self.mean = nn.Linear(sizes[-1], action_dim)
        self.value = nn.Linear(sizes[-1], 1)
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))
        for module, gain in ((self.pi, math.sqrt(2)), (self.vf, math.sqrt(2)), (self.mean, 0.01), (self.value, 1.0)):
            for layer in module.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.orthogonal_(layer.weight, gain=gain, generator=generator)
                    nn.init.zeros_(layer.bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(action mean (M, d), value (M,))`` for float32 observations ``(M, obs_dim)``."""
        return self.mean(self.pi(obs)), self.value(self.vf(obs)).squeeze(-1)

    def values(self, obs: torch.Tensor) -> torch.Tensor:
        """The critic alone, ``(M,)``."""
        return self.value(self.vf(obs)).squeeze(-1)

    def log_prob_entropy(self, mean: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Diagonal Gaussian log-density of ``actions`` (summed over dims) and its entropy (per row)."""
        log_std = self.log_std.expand_as(mean)
        logp = (-((actions - mean) ** 2) / (2 * torch.exp(2 * log_std)) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        entropy = (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum(-1)
        return logp, entropy


class TorchPPOPolicy:
    """An ``mbi_envs`` policy (``reset``/``act``) from a trained :class:`ActorCritic`: every agent acts
    on its own observation; ``deterministic`` takes the mean action (as ``SB3Policy`` does), clipped
    to the agent's action box."""

    def __init__(self, model: ActorCritic, obs_dim: int, deterministic: bool = True,
                 generator: torch.Generator | None = None) -> None:
        if not isinstance(model, ActorCritic):
            raise InvalidParameterError(f"model must be an ActorCritic, got {type(model).__name__}")
        if not isinstance(deterministic, bool):
            raise InvalidParameterError(f"deterministic must be True or False, got {deterministic!r}")
        self.model, self.obs_dim, self.deterministic = model, int(obs_dim), deterministic
        self.generator = generator

    def reset(self, env: Any, seed: int | None = None) -> None:
        """Check that ``env``'s observations have the length the model was trained on."""
        got = env.observation_space(env.possible_agents[0]).shape
        if tuple(got) != (self.obs_dim,):
            raise InvalidParameterError(f"the torch PPO model was trained on observations of shape ({self.obs_dim},), "
                                        f"but the env's are {tuple(got)}")
        self._env = env

    def act(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One action per agent (float32, the shape of its action space)."""
        agents = list(observations)
        obs = torch.as_tensor(np.stack([np.asarray(observations[a]) for a in agents]), dtype=torch.float32)
        with torch.no_grad():
            mean, _ = self.model(obs)
            if not self.deterministic:
                mean = mean + torch.exp(self.model.log_std) * torch.randn(mean.shape, generator=self.generator)
        actions = mean.numpy()
        out = {}
        for k, agent in enumerate(agents):
            space = self._env.action_space(agent)
            out[agent] = np.clip(actions[k].reshape(space.shape), space.low, space.high).astype(np.float32)
        return out


@dataclass
class TorchPPOResult:
    """The trained :class:`ActorCritic`, its time-to-accuracy curve (as ``train_ppo``'s) and counts."""

    model: ActorCritic
    curve: list[dict[str, float | None]]
    config: PPOConfig
    env_id: str
    env_kwargs: dict[str, Any]
    train_seconds: float
    batch_size: int
    rollout: int
    n_agents: int
    extras: dict[str, Any] = field(default_factory=dict)


#: SB3 PPO's defaults that ``baselines/ppo.py`` keeps: value-loss coefficient, max gradient norm, Adam eps
VF_COEF, MAX_GRAD_NORM, ADAM_EPS = 0.5, 0.5, 1e-5


def gae(rewards: torch.Tensor, values: torch.Tensor, episode_starts: torch.Tensor, last_values: torch.Tensor,
        dones: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """SB3's ``RolloutBuffer.compute_returns_and_advantage`` on ``(T, M)`` tensors: the advantages
    and returns (``advantages + values``); ``episode_starts[t]`` is 1 where slot's step ``t`` began an
    episode, ``dones`` the done flags of the last step, ``last_values`` ``V`` of the last observation."""
    T = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(T)):
        if t == T - 1:
            non_terminal, next_value = 1.0 - dones, last_values
        else:
            non_terminal, next_value = 1.0 - episode_starts[t + 1], values[t + 1]
        delta = rewards[t] + gamma * next_value * non_terminal - values[t]
        running = delta + gamma * lam * non_terminal * running
        adv[t] = running
    return adv, adv + values


def update(model: ActorCritic, optim: torch.optim.Optimizer, buffer: tuple[torch.Tensor, ...], config: PPOConfig,
           batch: int, generator: torch.Generator, loss_module: Any = None) -> None:
    """SB3's ``PPO.train`` for one rollout: ``config.n_epochs`` passes in minibatches of ``batch``
    (a random permutation per epoch unless ``batch`` is the whole rollout) over ``buffer`` =
    ``(obs (T, M, obs_dim), actions (T, M, d), old log-probs, advantages, returns)`` (the last three
    ``(T, M)``): normalised advantages, clipped surrogate, ``mse`` value loss, entropy bonus,
    global-norm gradient clipping, one optimiser step per minibatch. With ``loss_module`` (from
    :func:`torchrl_loss`) TorchRL's ``ClipPPOLoss`` computes the three loss terms instead."""
    obs, actions = buffer[0], buffer[1]
    n = obs.shape[0] * obs.shape[1]
    flat = (obs.reshape(n, -1), actions.reshape(n, -1), *(x.reshape(n) for x in buffer[2:]))
    clip, ent = config.clip_range, config.ent_coef
    for _ in range(config.n_epochs):
        order = torch.randperm(n, generator=generator) if batch < n else None
        for start in range(0, n, batch):
            o, a, old_logp, A, R = flat if order is None else (x[order[start:start + batch]] for x in flat)
            if A.numel() > 1:
                A = (A - A.mean()) / (A.std() + 1e-8)
            if loss_module is not None:
                from tensordict import TensorDict

                td = TensorDict({"observation": o, "action": a, "action_log_prob": old_logp, "advantage": A.unsqueeze(-1),
                                 "value_target": R.unsqueeze(-1)}, batch_size=[o.shape[0]])
                out = loss_module(td)
                loss = out["loss_objective"] + out["loss_critic"] + out["loss_entropy"]
            else:
                mean, value = model(o)
                logp, entropy = model.log_prob_entropy(mean, a)
                ratio = torch.exp(logp - old_logp)
                policy_loss = -torch.min(A * ratio, A * torch.clamp(ratio, 1 - clip, 1 + clip)).mean()
                value_loss = torch.nn.functional.mse_loss(R, value)
                loss = policy_loss + ent * (-entropy.mean()) + VF_COEF * value_loss
            optim.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            optim.step()


class _LocScale(nn.Module):
    """The actor half of an :class:`ActorCritic` as TorchRL wants it: observation → (loc, scale)."""

    def __init__(self, model: ActorCritic) -> None:
        super().__init__()
        self.pi, self.mean, self.log_std = model.pi, model.mean, model.log_std

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loc = self.mean(self.pi(obs))
        return loc, torch.exp(self.log_std).expand_as(loc)


class _Value(nn.Module):
    """The critic half of an :class:`ActorCritic`: observation → value ``(M, 1)``."""

    def __init__(self, model: ActorCritic) -> None:
        super().__init__()
        self.vf, self.value = model.vf, model.value

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.value(self.vf(obs))


def _diag_gaussian(loc: torch.Tensor, scale: torch.Tensor) -> torch.distributions.Distribution:
    return torch.distributions.Independent(torch.distributions.Normal(loc, scale), 1)


def torchrl_loss(model: ActorCritic, config: PPOConfig) -> Any:
    """TorchRL's ``ClipPPOLoss`` over ``model``'s actor and critic (sharing its parameters), set to
    SB3's loss: ``clip_epsilon = clip_range``, ``entropy_coeff = ent_coef``, ``critic_coeff = 0.5``,
    ``loss_critic_type="l2"`` (mse), no value clipping, a diagonal Gaussian with closed-form entropy;
    ``normalize_advantage=False`` because :func:`update` normalises with SB3's formula
    (TorchRL's divides by ``std.clamp_min(1e-6)`` instead of ``std + 1e-8``). Needs ``torchrl``."""
    from tensordict.nn import TensorDictModule
    from torchrl.modules import ProbabilisticActor, ValueOperator
    from torchrl.objectives import ClipPPOLoss

    actor = ProbabilisticActor(TensorDictModule(_LocScale(model), in_keys=["observation"], out_keys=["loc", "scale"]),
                               in_keys=["loc", "scale"], distribution_class=_diag_gaussian, return_log_prob=True)
    critic = ValueOperator(_Value(model), in_keys=["observation"])
    loss = ClipPPOLoss(actor, critic, clip_epsilon=config.clip_range, entropy_coeff=config.ent_coef,
                       critic_coeff=VF_COEF, loss_critic_type="l2", normalize_advantage=False)
    loss.set_keys(action="action", sample_log_prob="action_log_prob", advantage="advantage", value_target="value_target")
    return loss


def _evaluate(model: ActorCritic, obs_dim: int, env_id: str, env_kwargs: dict[str, Any], seeds) -> dict[str, Any]:
    result = mbi_envs.evaluate(lambda: mbi_envs.make(env_id, **env_kwargs), TorchPPOPolicy(model, obs_dim), list(seeds))
    return {metric: stats["mean"] for metric, stats in result.to_dict()["aggregates"].items()}


#: what computes the loss: this module's own lines, or TorchRL's ``ClipPPOLoss`` (:func:`torchrl_loss`)
LOSSES = ("torch", "torchrl")


def train_torch_ppo(env_id: str, env_kwargs: dict[str, Any] | None = None,
                    config: PPOConfig | None = None, loss: str = "torch") -> TorchPPOResult:
    """Train the batched-torch PPO (see the module docstring) and evaluate it every
    ``config.eval_every`` agent-steps at rollout boundaries (at the start and end too) with
    ``mbi_envs.evaluate`` on ``config.eval_seeds``. The run is rounded up to whole rollouts of
    ``n_steps × n_envs × N`` agent-steps. Same ``config.seed`` → the same model and numbers
    (CPU). ``loss``: one of :data:`LOSSES` (``"torchrl"`` needs ``torchrl``; both compute SB3's
    loss, ``tests/test_torch_ppo.py`` checks each against SB3's update). Bad config values raise
    ``ValueError`` naming the field before any env is built."""
    if loss not in LOSSES:
        raise InvalidParameterError(f"loss must be one of {LOSSES}, got {loss!r}")
    config = config or PPOConfig()
    if not isinstance(config, PPOConfig):
        raise InvalidParameterError(f"config must be a PPOConfig, got {type(config).__name__}")
    config.validate()
    env_kwargs = dict(env_kwargs or {})
    with torch_threads(config.torch_threads):
        return _train(env_id, env_kwargs, config, loss)


def _train(env_id: str, env_kwargs: dict[str, Any], config: PPOConfig, loss: str) -> TorchPPOResult:
    venv = mbi_envs.make_vec(env_id, num_envs=config.n_envs, **{**env_kwargs, "autoreset": True})
    B, N, d, obs_dim = venv.num_envs, venv.n_agents, venv.action_dim, venv.obs_dim
    M, T = B * N, config.n_steps  # slots, steps per slot and rollout
    rollout = T * M
    batch = minibatch_size(config.batch_size, rollout)
    total = -(-config.total_timesteps // rollout) * rollout
    gen = torch.Generator().manual_seed(config.seed)
    model = ActorCritic(obs_dim, d, tuple(config.net_arch), config.log_std_init, gen)
    optim = torch.optim.Adam(model.parameters(), lr=config.learning_rate, eps=ADAM_EPS)
    loss_module = torchrl_loss(model, config) if loss == "torchrl" else None  # shares model's parameters
    gamma, lam = config.gamma, config.gae_lambda
    eval_kwargs = dict(env_kwargs)
    if config.eval_max_steps is not None and env_kwargs.get("mode", "iterative") != "one_shot":
        eval_kwargs["max_steps"] = config.eval_max_steps

    obs_buf = torch.zeros(T, M, obs_dim)
    act_buf = torch.zeros(T, M, d)
    rew_buf, val_buf, logp_buf, start_buf = (torch.zeros(T, M) for _ in range(4))
    curve: list[dict[str, float | None]] = []
    clock = {"train": 0.0, "since": time.perf_counter()}

    def evaluate(steps: int) -> None:
        clock["train"] += time.perf_counter() - clock["since"]
        r = _evaluate(model, obs_dim, env_id, eval_kwargs, config.eval_seeds)
        curve.append({"env_steps": int(steps), "wall_seconds": clock["train"], "loss_gap": r.get("loss_gap"),
                      "relative_gap": r.get("relative_gap"), "final_loss": r.get("final_loss"),
                      "distance_to_optimum": r.get("distance_to_optimum")})
        clock["since"] = time.perf_counter()

    obs_raw, _ = venv.reset(seed=[config.seed + k * N for k in range(B)])
    obs = obs_raw.reshape(M, obs_dim).to(torch.float32)
    episode_start = torch.ones(M)
    steps, next_eval = 0, 0
    clock["since"] = time.perf_counter()
    evaluate(0)
    next_eval = config.eval_every
    while steps < total:
        if steps >= next_eval:
            evaluate(steps)
            next_eval = steps + config.eval_every
        with torch.no_grad():
            for t in range(T):
                mean, value = model(obs)
                action = mean + torch.exp(model.log_std) * torch.randn(mean.shape, generator=gen)
                logp, _ = model.log_prob_entropy(mean, action)
                nxt, reward, terminated, truncated, info = venv.step(action.reshape(B, N, d).to(venv.dtype))
                reward = reward.reshape(M).to(torch.float32)
                done = (terminated | truncated).repeat_interleave(N).to(torch.float32)
                timeout = (truncated & ~terminated)
                if bool(timeout.any()):  # SB3's bootstrap on time-limit truncation
                    final = info["final_observation"].reshape(M, obs_dim).to(torch.float32)
                    mask = timeout.repeat_interleave(N)
                    reward = reward + mask.to(torch.float32) * gamma * model.values(final)
                obs_buf[t], act_buf[t], rew_buf[t], start_buf[t], val_buf[t], logp_buf[t] = (
                    obs, action, reward, episode_start, value, logp)
                obs, episode_start = nxt.reshape(M, obs_dim).to(torch.float32), done
            steps += rollout
            adv, ret = gae(rew_buf, val_buf, start_buf, model.values(obs), episode_start, gamma, lam)
        lr = config.learning_rate if config.lr_schedule == "constant" else config.learning_rate * (1.0 - steps / total)
        for group in optim.param_groups:
            group["lr"] = lr
        update(model, optim, (obs_buf, act_buf, logp_buf, adv, ret), config, batch, gen, loss_module)
    if curve[-1]["env_steps"] != steps:
        evaluate(steps)
    venv.close()
    return TorchPPOResult(model, curve, config, env_id, env_kwargs, curve[-1]["wall_seconds"], batch, rollout, N,
                          extras={"agent_steps": int(steps), "loss": loss})
