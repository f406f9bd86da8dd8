"""PPO learns something measurable: on C.2 with N = 2 (one-shot, team reward) its final loss gap
is at least 10× below its untrained policy's on each of 3 seeds (4096 agent-steps; a larger
learning rate and initial std than the benchmark defaults so that it learns in seconds: measured
gaps 95.2 → 2e-4 … 0.06). Seed 0 runs in the default suite, seeds 1 and 2 with the slow tests."""
from dataclasses import replace

import pytest

from baselines.ppo import train_ppo
from baselines.ppo_experiment import ONE_SHOT_DEFAULTS


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)])
def test_ppo_on_c2_n2_one_shot_learns(seed):
    config = replace(ONE_SHOT_DEFAULTS, learning_rate=3e-3, log_std_init=0.0, n_steps=32, batch_size=64,
                     total_timesteps=4096, eval_every=4096, eval_seeds=(seed,), seed=seed, tensorboard=False)
    result = train_ppo("symmetric_parallel_v0", {"n_agents": 2, "mode": "one_shot", "reward_mode": "team"}, config)
    untrained, final = result.curve[0], result.curve[-1]
    assert untrained["env_steps"] == 0 and final["env_steps"] == 4096
    assert final["loss_gap"] <= untrained["loss_gap"] / 10, (untrained["loss_gap"], final["loss_gap"])
