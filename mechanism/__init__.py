"""mechanism: Mechanism-Based Intelligence (MBI) core in torch.

The Planner states a problem as a differentiable DAG (:class:`DDAG`) ending in a global loss
(:class:`Problem`); the Differentiable Price Mechanism (:func:`incentives`) gives every agent its
incentive ``G_i = −∂L/∂x_i`` in one reverse pass; incentive-driven agents (:mod:`.agents`) act on
it inside the Planner loop (:func:`run_planner`, the paper's Algorithm 1); reference solvers
(:mod:`.solvers`) say what the right answer is. No Gym, PettingZoo or RL here.
"""
from .core.agents import (AgentPolicy, BestResponseAgents, GradientAgents, MomentumAgents, NoisyAgents,
                     SatisficingAgents)
from .core.ddag import DDAG
from .core.dpm import Incentives, incentives
from .errors import (GraphError, InvalidParameterError, MechanismError, NonFiniteError,
                     ShapeMismatchError)
from .core.planner import History, PlannerResult, run_planner
from .core.problem import Optimum, Problem
from .problems.appendix_c import (aggregative_nash, aggregative_optimum, aggregative_problem,
                       assembly_line_problem, coupled_resource_problem, nonconvex_problem)
from .core.solvers import (GlobalResult, LocalMinimum, SolverResult, centralized_optimum, classify_point,
                      global_minimum, nash_equilibrium, stability_limit)

__all__ = [
    "AgentPolicy", "BestResponseAgents", "GradientAgents", "MomentumAgents", "NoisyAgents",
    "SatisficingAgents", "DDAG", "Incentives", "incentives", "GraphError", "InvalidParameterError",
    "MechanismError", "NonFiniteError", "ShapeMismatchError", "History", "PlannerResult",
    "run_planner", "Optimum", "Problem", "aggregative_nash", "aggregative_optimum",
    "aggregative_problem", "assembly_line_problem", "coupled_resource_problem", "nonconvex_problem",
    "GlobalResult", "LocalMinimum", "SolverResult", "centralized_optimum", "classify_point",
    "global_minimum", "nash_equilibrium", "stability_limit",
]
