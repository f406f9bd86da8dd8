"""Problem families: each builds a :class:`~mechanism.Problem` (a D-DAG and a loss).

* :mod:`.appendix_c`: the Appendix C problems (aggregative, assembly line, coupled resource,
  non-convex) with their closed forms;
* :mod:`.supply_chain`: a multi-tier supply chain as a D-DAG of many nodes;
* :mod:`.dispatch`: DC-OPF economic dispatch on IEEE cases.

The Appendix C builders are re-exported here (``from mechanism.problems import aggregative_problem``).
"""
from .appendix_c import (aggregative_nash, aggregative_optimal_loss, aggregative_optimum, aggregative_problem,
                         assembly_line_problem, coupled_resource_problem, nonconvex_problem, sum_reciprocal)

__all__ = ["aggregative_problem", "aggregative_optimum", "aggregative_optimal_loss", "aggregative_nash",
           "assembly_line_problem", "coupled_resource_problem", "nonconvex_problem", "sum_reciprocal"]
