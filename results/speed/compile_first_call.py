"""First run_planner call in a fresh process (numba compiles), N = 100: 100 and 5,000 iterations."""
import sys, time, torch
from mechanism import run_planner, GradientAgents, aggregative_problem
iters = int(sys.argv[1])
p = aggregative_problem(100)
t = time.perf_counter()
r = run_planner(p, GradientAgents(1e-3), torch.rand(100, dtype=torch.float64), max_iters=iters, record_actions=False, method="fused")
print(f"first call, {iters} iterations: {time.perf_counter() - t:.2f} s ({getattr(r, 'engine', '') or 'fused, before this branch'})")
