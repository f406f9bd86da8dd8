# The script behind compile_cost.txt, as run then (before the mechanism/ layout move and the kernel merges):
# mechanism.fused and the kernel names "sums", "step_scalar", "kkt", "planner_scalar" no longer exist.
# The current first-call cost is measured by results/speed/numba_cache.py (numba_cache.json).
import time, numpy as np
from mechanism.fused import _numba_kernels, CHUNK
k = _numba_kernels(100)
x = np.random.rand(1, 100); S = np.array([x.sum()]); Q = np.array([0.1*(x**2).sum()])
one = np.ones(1)
t = time.perf_counter(); k["sums"](x[0], one*0.1, CHUNK); print("sums", time.perf_counter()-t)
t = time.perf_counter(); k["step_scalar"](x[0], 0.001, 0.1, 0.0, np.inf, 1.0, CHUNK); print("step_scalar", time.perf_counter()-t)
t = time.perf_counter(); k["kkt"](x[0], one*0.1, one*0, one*np.inf, 1.0, CHUNK); print("kkt", time.perf_counter()-t)
t = time.perf_counter()
k["planner_scalar"](x, 0.001, 0.1, 0.0, np.inf, one*0.1, one*0, one*np.inf, -10.0, S, Q, S.copy(), 10, 4, 2, 1e12, True, 0.0, 0.0, 1e-15, True, CHUNK, np.zeros(10, dtype=np.int64), np.zeros((10, 1)))
print("planner", time.perf_counter()-t)
