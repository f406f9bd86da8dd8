"""A TorchRL ``EnvBase`` over the batched env (optional: needs ``pip install torchrl``).

>>> from mbi_envs.torchrl_env import MechanismTorchRLEnv
>>> env = MechanismTorchRLEnv("symmetric_parallel_v0", num_envs=32, n_agents=10)
>>> td = env.rollout(5)        # td["next", "agents", "reward"]: (32, 5, 10, 1)

Multi-agent layout as in TorchRL's VMAS wrapper (what BenchMARL and TorchRL's MAPPO/IPPO
tutorials expect: ``env.n_agents``, ``env.group_map == {"agents": ["agent_0", ...]}``, float32
by default), with batch size ``(B,)``:

* ``("agents", "observation")`` ``(B, N, obs_dim)``, ``("agents", "action")`` ``(B, N, d)``
  (``Bounded`` by the feasible box), ``("agents", "reward")`` ``(B, N, 1)``;
* ``"done"``, ``"terminated"``, ``"truncated"`` ``(B, 1)`` at the root (the agents of a copy end
  together); ``"global_loss"`` ``(B, 1)`` (true types) at the root of every step's output (0 at a
  one-shot reset, before any submission).

``dtype=torch.float32`` (the default) is what TorchRL's modules expect (their parameters are
float32: a float64 observation fails the first forward pass); ``dtype=torch.float64`` is the
exact path the MBI policies use. The action spec is ``Bounded`` by each agent's own box
(``(B, N, d)`` bounds): TorchRL's ``TanhNormal`` reads per-agent bounds, so the native boxes work
here without the PettingZoo env's ``action_space="normalized"``.

Dynamics, rewards and seeding are those of :class:`~mbi_envs.vector.VectorMechanismEnv` (copy
``b`` seeded with ``seed + b``). All copies share a fixed horizon and end together, so a reset
resets every copy; a partial ``"_reset"`` mask raises ``ValueError``.
"""
from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from mechanism import InvalidParameterError

from .vector import VectorMechanismEnv, make_vec

__all__ = ["MechanismTorchRLEnv"]


class MechanismTorchRLEnv(EnvBase):
    """TorchRL view of ``mbi_envs.make_vec(env_id, num_envs, **kwargs)`` (group ``"agents"``).

    Args:
        env_id: a registered id, or ``None`` with ``venv=`` an existing batched env.
        num_envs: copies ``B`` (the TorchRL batch size).
        venv: wrap this :class:`~mbi_envs.vector.VectorMechanismEnv` instead of building one
            (its own ``dtype`` is used; ``env_id``, ``dtype`` and ``kwargs`` must then be left out).
        dtype: ``torch.float32`` (default, TorchRL's modules) or ``torch.float64`` (exact).
        **kwargs: :func:`mbi_envs.make_vec` arguments (``device``, ``mode``, ``max_steps``, scenario's).

    Attributes: ``venv``, ``n_agents``, ``group_map`` (``{"agents": ["agent_0", ...]}``), ``agent_names``.
    """

    def __init__(self, env_id: str | None = None, num_envs: int = 1, *, venv: VectorMechanismEnv | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        if venv is None:
            if dtype is not None and dtype not in (torch.float32, torch.float64):
                raise InvalidParameterError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
            venv = make_vec(env_id, num_envs=num_envs, dtype=torch.float32 if dtype is None else dtype,
                            **{**kwargs, "autoreset": False})
        elif env_id is not None or dtype is not None or kwargs:
            raise InvalidParameterError("MechanismTorchRLEnv takes either venv= or env_id/dtype/kwargs, not both; got "
                                        f"env_id={env_id!r}, dtype={dtype!r}, kwargs={sorted(kwargs)}")
        elif venv.autoreset:
            raise InvalidParameterError("MechanismTorchRLEnv needs a batched env with autoreset=False "
                                        "(TorchRL resets finished envs itself)")
        super().__init__(device=venv.device, batch_size=torch.Size([venv.num_envs]))
        self.venv = venv
        self.n_agents = venv.n_agents
        self.agent_names = [f"agent_{i}" for i in range(venv.n_agents)]
        self.group_map = {"agents": list(self.agent_names)}
        self._make_specs()

    def _make_specs(self) -> None:
        v = self.venv
        B, N, d = v.num_envs, v.n_agents, v.action_dim
        kw = {"device": v.device, "dtype": v.dtype}
        self.observation_spec = Composite(
            agents=Composite(observation=Unbounded(shape=(B, N, v.obs_dim), **kw), shape=(B, N)),
            global_loss=Unbounded(shape=(B, 1), **kw), shape=(B,))
        low, high = v.action_low.expand(B, N, d), v.action_high.expand(B, N, d)
        self.action_spec = Composite(
            agents=Composite(action=Bounded(low=low, high=high, shape=(B, N, d), **kw), shape=(B, N)),
            shape=(B,))
        self.reward_spec = Composite(
            agents=Composite(reward=Unbounded(shape=(B, N, 1), **kw), shape=(B, N)), shape=(B,))
        flag = Categorical(n=2, shape=(B, 1), dtype=torch.bool, device=v.device)
        self.done_spec = Composite(done=flag, terminated=flag.clone(), truncated=flag.clone(), shape=(B,))

    def _global_loss(self) -> torch.Tensor:
        loss = self.venv.global_loss
        if loss is None:  # one-shot reset: nothing submitted yet (0, as the envs' reset infos)
            return torch.zeros((self.venv.num_envs, 1), device=self.device, dtype=self.venv.dtype)
        return loss.unsqueeze(-1)

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        if tensordict is not None and "_reset" in tensordict.keys():
            mask = tensordict.get("_reset")
            if bool(mask.any()) and not bool(mask.all()):
                raise InvalidParameterError("MechanismTorchRLEnv resets all copies together; got a partial _reset mask")
        obs, _ = self.venv.reset()
        B = self.venv.num_envs
        false = torch.zeros(B, 1, dtype=torch.bool, device=self.device)
        return TensorDict({"agents": TensorDict({"observation": obs}, batch_size=obs.shape[:2]),
                           "global_loss": self._global_loss(), "done": false, "terminated": false.clone(),
                           "truncated": false.clone()}, batch_size=self.batch_size, device=self.device)

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        action = tensordict.get(("agents", "action"))
        obs, reward, terminated, truncated, _ = self.venv.step(action)
        term, trunc = terminated.unsqueeze(-1), truncated.unsqueeze(-1)
        return TensorDict({"agents": TensorDict({"observation": obs, "reward": reward.unsqueeze(-1)},
                                                batch_size=obs.shape[:2]),
                           "global_loss": self._global_loss(), "done": term | trunc, "terminated": term,
                           "truncated": trunc}, batch_size=self.batch_size, device=self.device)

    def _set_seed(self, seed: int | None) -> None:
        """Seed copy ``b`` with ``seed + b`` for the next reset (``None``: leave the generators)."""
        self.venv.seed(seed)
