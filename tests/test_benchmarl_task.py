"""The BenchMARL task runs BenchMARL's own ``Experiment.run()`` (MAPPO and IPPO, evaluation and a
checkpoint). Skipped unless benchmarl is installed: it lives in its own venv
(``scripts/benchmarl_venv.sh``; CI makes one, see ``.ci/run``)."""
from __future__ import annotations

import pytest

pytest.importorskip("benchmarl")

import torch  # noqa: E402

import mbi_envs  # noqa: E402
from mbi_envs.benchmarl import MbiEnvsTask  # noqa: E402


def test_every_id_is_a_task_with_a_packaged_config():
    """A new id without an enum member or a config file fails here."""
    assert sorted(t.name.lower() for t in MbiEnvsTask) == sorted(mbi_envs.env_ids())
    for member in MbiEnvsTask:
        task = member.get_from_yaml()
        env = task.get_env_fun(num_envs=2, continuous_actions=True, seed=0, device="cpu")()
        assert task.group_map(env) == {"agents": [f"agent_{i}" for i in range(env.n_agents)]}
        assert task.max_steps(env) == task.config["max_steps"]
        assert list(task.observation_spec(env).keys()) == ["agents"]  # global_loss is not an input
        assert env.observation_spec["agents", "observation"].dtype == torch.float32


def test_discrete_actions_are_refused_with_a_clear_error():
    task = MbiEnvsTask.SUPPLY_CHAIN_V0.get_from_yaml()
    with pytest.raises(ValueError, match="continuous actions only"):
        task.get_env_fun(num_envs=2, continuous_actions=False, seed=0, device="cpu")


@pytest.mark.parametrize("task,algorithm,overrides", [
    ("symmetric_parallel_v0", "mappo", {"n_agents": 100}),
    ("economic_dispatch_v0", "ippo", {}),
    ("assembly_line_v0", "mappo", {}),
])
def test_benchmarl_experiment_runs_with_evaluation_and_a_checkpoint(task, algorithm, overrides, tmp_path):
    from scripts.benchmarl_run import run

    torch.set_num_threads(1)
    result = run(task, algorithm, overrides, frames_per_batch=400, iterations=2, n_envs=4, save_folder=str(tmp_path))
    assert result["iterations"] == 2 and result["frames"] == 800
    assert result["checkpoints"] == ["checkpoints/checkpoint_800.pt"]
    assert result["last_eval_episode_reward_mean"] is not None
