"""Head-to-head benchmark: MBI agents vs PPO vs classical solvers, time-to-accuracy, measured.

Every contender runs on the same ``mbi_envs`` environment through the same policy API
(``reset(env, seed)`` / ``act(obs)``), and every run becomes one :class:`RunRecord` with the
same metrics: final loss gap ``L − L*`` under the TRUE types, relative gap, distance to the
optimum, agent-steps, loss/gradient evaluations, wall-clock seconds and a time-to-accuracy curve.

Modules: :mod:`.scenarios` (problems and budgets per mode), :mod:`.records` (one run),
:mod:`.step_rules` (line search, agent-local adaptive step, the labelled oracle),
:mod:`.mbi` and :mod:`.others` (contenders), :mod:`.runner`, :mod:`.headline` (summaries and the
MBI-variant-vs-PPO headline), :mod:`.markdown` (payload and report).

**Counting.** ``env_steps`` are agent-steps (joint steps × N), like SB3's ``num_timesteps``; PPO
budgets are rounded up to whole rollouts and evaluated on rollout boundaries, so the counts
reported are the counts trained. ``oracle_evaluations`` counts evaluations of the joint loss
and its gradient: one per joint env step for MBI, plus every line-search trial, plus an
oracle's Hessian (gradient-equivalents); PPO's training joint steps (the difference reward's N
counterfactual losses per step are not counted, nor its evaluation episodes); the solver's own
count for the classical contenders.

**Seconds.** MBI and classical: from just after ``env.reset`` (and the reference optimum, the
judge's cost) to each step's end, an oracle's set-up included. PPO: the training wall-clock at
each evaluation point, the evaluations themselves excluded (``baselines.ppo``).
"""
from .headline import HEADLINE_MBI, compare_seed, headline, summarize
from .markdown import build_payload, merge_payloads, refresh_payload, to_markdown
from .mbi import Contender, MBIContender
from .others import ClassicalContender, PPOContender, exact_budget, load_tuned
from .records import RunRecord, time_to_accuracy
from .runner import default_contenders, estimate_runtime, planned_runs, run_benchmark
from .scenarios import EPSILONS, MODES, BenchScenario, scenarios
from .step_rules import STABLE_FRACTION, AdaptiveStepAgents, ArmijoPlannerPolicy, oracle_step

__all__ = ["EPSILONS", "MODES", "STABLE_FRACTION", "HEADLINE_MBI", "BenchScenario", "RunRecord", "Contender",
           "MBIContender", "PPOContender", "ClassicalContender", "AdaptiveStepAgents", "ArmijoPlannerPolicy",
           "oracle_step", "scenarios", "default_contenders", "run_benchmark", "planned_runs", "estimate_runtime",
           "summarize", "headline", "compare_seed", "to_markdown", "build_payload", "refresh_payload", "merge_payloads",
           "time_to_accuracy", "exact_budget", "load_tuned"]
