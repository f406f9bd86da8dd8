"""The environment dynamics shared by the dict env and the batched env (one implementation).

:class:`~mbi_envs.env.MechanismEnv` (PettingZoo dicts, one copy) and
:class:`~mbi_envs.vector.VectorMechanismEnv` (tensors, ``B`` copies) both evaluate a joint action
and turn two evaluations into rewards with the functions of this module, so the two cannot
drift apart. Every function takes a leading batch dimension ``B`` (the dict env passes ``B = 1``)
and works on any device and dtype the problem lives on.

Formulas (losses under the TRUE types, ``G`` under the Planner's belief):

* ``G = −∂L_belief/∂X`` (the DPM incentive), ``L(X)`` the global loss;
* ``P_i(X) = C_i(x_i) + s·L_system(X)`` (private loss, ``s = private_share``);
* ``M_i(X) = L(d_i, x_{−i}) − L(X)`` (marginal contribution, ``d_i`` the default action);
* rewards: team ``L_{t−1} − L_t − Σ_j e_j(t)`` (one-shot ``−L``), private
  ``P_i(X_{t−1}) − P_i(X_t) − e_i(t)`` (one-shot ``−P_i``), difference
  ``M_i(X_t) − M_i(X_{t−1}) − e_i(t)`` (one-shot ``M_i``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mechanism import Problem, incentives

__all__ = ["JointEvaluation", "types_coincide", "evaluate_joint_actions", "counterfactual_losses",
           "step_rewards"]


@dataclass
class JointEvaluation:
    """What the env derives from a batch of joint actions (tensors, leading dim ``B``)."""

    X: torch.Tensor                   # (B, N, d) joint actions
    G: torch.Tensor                   # (B, N, d) incentives −∂L/∂X under the belief
    loss: torch.Tensor                # (B,) global loss under the TRUE types
    private: torch.Tensor | None      # (B, N) private losses (reward_mode "private")
    marginal: torch.Tensor | None     # (B, N) marginal contributions (reward_mode "difference")


def types_coincide(problem: Problem) -> bool:
    """Whether the Planner's belief equals the true types (then one loss evaluation serves both)."""
    return all(problem.true[k] is v or torch.equal(problem.true[k], v) for k, v in problem.belief.items())


def counterfactual_losses(problem: Problem, X: torch.Tensor, default: torch.Tensor) -> torch.Tensor:
    """``L(d_i, x_{-i})`` (true types) for every copy b and agent i, ``(B, N)``: one batch of
    ``B·N`` joint actions, agent i's row replaced by its default ``d_i`` (``default``: ``(N, d)``)."""
    B, N, d = X.shape
    batch = X.unsqueeze(1).repeat(1, N, 1, 1)           # (B, N, N, d): copy i of each joint action
    idx = torch.arange(N, device=X.device)
    batch[:, idx, idx] = default
    return problem.loss(batch.reshape(B * N, N, d), "true").reshape(B, N)


def evaluate_joint_actions(problem: Problem, X: torch.Tensor, *, reward_mode: str, private_share: float,
                           default: torch.Tensor, same_types: bool | None = None) -> JointEvaluation:
    """Incentives, true global loss and the reward mode's per-agent quantity for ``X`` ``(B, N, d)``.

    ``X`` must already be finite and inside the action box (the envs validate and project it);
    ``same_types`` may be passed when known (else :func:`types_coincide` is called).
    """
    inc = incentives(problem, X, types="belief", validate=False)
    if same_types is None:
        same_types = types_coincide(problem)
    loss = inc.loss if same_types else problem.loss(X, "true")
    private = marginal = None
    if reward_mode == "private":
        private = problem.private_loss(X, private_share, types="true")
    elif reward_mode == "difference":
        marginal = counterfactual_losses(problem, X, default) - loss.unsqueeze(-1)
    return JointEvaluation(X, inc.G, loss, private, marginal)


def step_rewards(reward_mode: str, old: Any, new: Any, effort: Any) -> Any:
    """Rewards of one step from the evaluations before (``old``; ``None`` in one-shot mode) and
    after (``new``), and the effort each agent paid, ``(..., N)``.

    ``old``/``new`` have ``loss`` ``(...)``, ``private`` and ``marginal`` ``(..., N)`` (numpy or
    torch). Returns ``(..., N)`` for ``"private"``/``"difference"`` and the per-copy team value
    ``(...)`` for ``"team"`` (every agent receives it; the caller broadcasts).
    """
    if reward_mode == "team":
        return -new.loss if old is None else old.loss - new.loss - effort.sum(-1)
    if reward_mode == "private":
        return -new.private if old is None else old.private - new.private - effort
    return new.marginal if old is None else new.marginal - old.marginal - effort
