"""mbi_envs as a BenchMARL task (optional: needs ``benchmarl``, in its own environment).

>>> from mbi_envs.benchmarl import MbiEnvsTask
>>> task = MbiEnvsTask.SYMMETRIC_PARALLEL_V0.get_task()            # the packaged task config
>>> task = MbiEnvsTask.ECONOMIC_DISPATCH_V0.get_task(config={"max_steps": 50})
>>> # Experiment(task=task, algorithm_config=MappoConfig.get_from_yaml(), ...).run()

One enum member per registered id. The task config is the keyword arguments of
:class:`mbi_envs.torchrl_env.MechanismTorchRLEnv` (the env's common ones such as ``mode``,
``max_steps``, ``reward_mode`` and the scenario's own such as ``n_agents``); the default configs
are ``mbi_envs/conf/benchmarl/<id>.yaml``. BenchMARL builds the env with its own number of
copies, seed and device; the group is ``"agents"`` (VMAS-style), observations are float32,
actions are continuous and ``Bounded`` by each agent's own box.

**Install.** ``benchmarl`` 1.5 pins ``torchrl<0.12`` (this project's ``dev`` extra uses 0.14) and
requires ``torchvision``, which pip would satisfy with a CUDA torch and its ``nvidia-*``
packages. BenchMARL never imports torchvision on this path, so keep the CPU torch with a
constraint, in a venv of its own: ``scripts/benchmarl_venv.sh`` (docs/ecosystem.md, BenchMARL).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from benchmarl.environments.common import Task, TaskClass
from benchmarl.utils import DEVICE_TYPING, _read_yaml_config
from torchrl.data import Composite
from torchrl.envs import EnvBase

from .registry import builtin_env_ids
from .torchrl_env import MechanismTorchRLEnv

__all__ = ["MbiEnvsClass", "MbiEnvsTask", "CONFIG_DIR"]

CONFIG_DIR = Path(__file__).resolve().parent / "conf" / "benchmarl"


class MbiEnvsClass(TaskClass):
    """How BenchMARL builds and describes an mbi_envs task (the task's name is the env id)."""

    def get_env_fun(self, num_envs: int, continuous_actions: bool, seed: Optional[int],
                    device: DEVICE_TYPING) -> Callable[[], EnvBase]:
        """A constructor of ``num_envs`` copies of the env (copy ``b`` seeded with ``seed + b``)."""
        if not continuous_actions:
            raise ValueError(f"{self.name.lower()}: mbi_envs tasks have continuous actions only "
                             "(set prefer_continuous_actions=True or use a continuous-action algorithm)")
        config, env_id = copy.deepcopy(self.config), self.name.lower()

        def make() -> EnvBase:
            env = MechanismTorchRLEnv(env_id, num_envs=num_envs, device=device, **config)
            if seed is not None:
                env.set_seed(seed)
            return env

        return make

    def supports_continuous_actions(self) -> bool:
        """Every mbi_envs action is a point of a box."""
        return True

    def supports_discrete_actions(self) -> bool:
        """No discrete actions."""
        return False

    def has_render(self, env: EnvBase) -> bool:
        """The batched env does not render (the PettingZoo env does)."""
        return False

    def max_steps(self, env: EnvBase) -> int:
        """The episode length (``max_steps``; 1 in one-shot mode)."""
        return env.venv.max_steps

    def group_map(self, env: EnvBase) -> Dict[str, List[str]]:
        """``{"agents": ["agent_0", ...]}``."""
        return env.group_map

    def observation_spec(self, env: EnvBase) -> Composite:
        """The agents' observations (the root ``global_loss`` is a metric, not an input)."""
        spec = env.full_observation_spec_unbatched.clone()
        for key in list(spec.keys()):
            if key not in self.group_map(env):
                del spec[key]
        return spec

    def info_spec(self, env: EnvBase) -> Optional[Composite]:
        """No per-agent infos in the batched env."""
        return None

    def state_spec(self, env: EnvBase) -> Optional[Composite]:
        """No separate global state: MAPPO's centralised critic reads every agent's observation."""
        return None

    def action_spec(self, env: EnvBase) -> Composite:
        """Each agent's ``Bounded`` box."""
        return env.full_action_spec_unbatched

    def action_mask_spec(self, env: EnvBase) -> Optional[Composite]:
        """No action masks."""
        return None

    @staticmethod
    def log_info(batch) -> Dict[str, float]:
        """The mean true global loss of the collected batch (``collection/mbi/global_loss``)."""
        return {"collection/mbi/global_loss": float(batch.get(("next", "global_loss")).mean())}

    @staticmethod
    def env_name() -> str:
        """BenchMARL's environment name."""
        return "mbi_envs"


class MbiEnvsTask(Task):
    """One BenchMARL task per registered mbi_envs id; ``get_task()`` loads ``CONFIG_DIR/<id>.yaml``."""

    ASSEMBLY_LINE_V0 = None
    SYMMETRIC_PARALLEL_V0 = None
    HETEROGENEOUS_PARALLEL_V0 = None
    COUPLED_RESOURCE_V0 = None
    NONCONVEX_V0 = None
    TIME_COST_V0 = None
    EFFORT_COST_V0 = None
    HIDDEN_COST_V0 = None
    DYNAMIC_TARGET_V0 = None
    ECONOMIC_DISPATCH_V0 = None
    SUPPLY_CHAIN_V0 = None

    @staticmethod
    def associated_class():
        """:class:`MbiEnvsClass`."""
        return MbiEnvsClass

    def get_from_yaml(self, path: Optional[str] = None) -> TaskClass:
        """The task with the config at ``path`` (default: the packaged ``CONFIG_DIR/<id>.yaml``)."""
        config: Dict[str, Any] = _read_yaml_config(str(path or CONFIG_DIR / f"{self.name.lower()}.yaml"))
        return self.get_task(config=dict(config or {}))


if sorted(t.name.lower() for t in MbiEnvsTask) != sorted(builtin_env_ids()):  # a new built-in id needs a member
    raise ImportError("mbi_envs.benchmarl.MbiEnvsTask is out of date with mbi_envs.registry.builtin_env_ids()")
