"""Reference solvers: what the mechanism is judged against.

* :func:`stability_limit`: the largest stable step of simultaneous gradient play,
  ``η_max = 2 / λ_max(∇²L)`` (``= 1/(N + λ)`` for the symmetric aggregative problem).
* :func:`centralized_optimum`: a central planner who knows everything runs scipy L-BFGS-B with
  the box bounds.
* :func:`global_minimum`: multi-start L-BFGS-B from a scrambled Sobol design over a box; returns
  the best minimum found and the list of distinct local minima (for non-convex losses).
* :func:`classify_point`: minimum / saddle / maximum / not stationary, from the projected
  gradient and the Hessian's eigenvalues.
* :func:`nash_equilibrium`: the uncoordinated equilibrium: each agent best-responds to its
  *private* loss ``C_i(x_i) + share · L_system(X)`` (Gauss–Seidel best-response iteration),
  ``share`` being how much of the system loss each agent bears (0, 1/N, ...).

They are CPU float64 tools (scipy): a problem on another device or in float32 is copied to the
CPU in float64 first, and results come back there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from .dpm import incentives
from ..errors import InvalidParameterError, require_int_at_least, require_nonnegative
from .problem import Problem, TypesView

def reference_copy(problem: Problem) -> Problem:
    """``problem`` on the CPU in float64 (itself if it already is): what the scipy solvers need."""
    if problem.device.type == "cpu" and problem.dtype == torch.float64:
        return problem
    return problem.to("cpu", torch.float64)


__all__ = ["reference_copy", "stability_limit", "SolverResult", "centralized_optimum", "LocalMinimum",
           "GlobalResult", "global_minimum", "PointClass", "classify_point", "nash_equilibrium"]

PointClass = Literal["minimum", "saddle", "maximum", "degenerate", "not_stationary"]


@dataclass
class SolverResult:
    """A solver's answer: the point ``x`` (``(N, d)``), its loss, evaluation count and status."""

    x: torch.Tensor
    loss: float
    evaluations: int
    success: bool
    message: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


def _loss_and_grad(problem: Problem, types: TypesView):
    shape = (1, problem.n_agents, problem.action_dim)
    count = {"n": 0}

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        count["n"] += 1
        inc = incentives(problem, torch.as_tensor(v, dtype=problem.dtype).reshape(shape), types=types)
        return float(inc.loss[0]), (-inc.G).reshape(-1).numpy().astype(np.float64)

    return fun, count


def _scipy_bounds(problem: Problem) -> list[tuple[float | None, float | None]]:
    lo, hi = problem.lower.reshape(-1).tolist(), problem.upper.reshape(-1).tolist()
    return [(None if np.isinf(a) else a, None if np.isinf(b) else b) for a, b in zip(lo, hi)]


def stability_limit(problem: Problem, x: Any = None, types: TypesView = "belief") -> float:
    """``2 / λ_max(∇²L(x))``: simultaneous gradient play with a common step η is locally stable
    iff ``η`` is below it. For a quadratic loss the Hessian is constant and the limit global.

    Uses the dense Hessian for up to 256 variables, else Lanczos (scipy ``eigsh``) on
    Hessian-vector products, each O(N).
    """
    problem = reference_copy(problem)
    x = problem.project(problem.as_actions(torch.zeros(problem.n_agents, problem.action_dim)
                                            if x is None else x, "x"))[0]
    n = x.numel()
    if n <= 256:
        top = float(torch.linalg.eigvalsh(problem.hessian(x, types))[-1])
    else:
        top = _top_eigenvalue_lanczos(problem, x, types)
    if top <= 0:
        return float("inf")
    return 2.0 / top


def _top_eigenvalue_lanczos(problem: Problem, x: torch.Tensor, types: TypesView) -> float:
    import scipy.sparse.linalg  # imported here: `import mechanism` does not pay for scipy

    shape = x.shape

    def flat_loss(v: torch.Tensor) -> torch.Tensor:
        return problem.loss(v.reshape(1, *shape), types)[0]

    def hvp(v: np.ndarray) -> np.ndarray:
        vec = torch.as_tensor(np.ravel(v), dtype=problem.dtype)
        _, out = torch.autograd.functional.hvp(flat_loss, x.reshape(-1), vec)
        return out.numpy()

    op = scipy.sparse.linalg.LinearOperator((x.numel(), x.numel()), matvec=hvp, dtype=np.float64)
    v0 = np.ones(x.numel())
    return float(scipy.sparse.linalg.eigsh(op, k=1, which="LA", v0=v0, tol=1e-10)[0][0])


def centralized_optimum(problem: Problem, x0: Any = None, *, types: TypesView = "belief",
                        tol: float = 1e-15, max_iter: int = 15_000) -> SolverResult:
    """Minimise ``L_global`` centrally with scipy L-BFGS-B (box bounds, exact DPM gradients)."""
    import scipy.optimize  # imported here: `import mechanism` does not pay for scipy

    problem = reference_copy(problem)
    x0 = problem.project(problem.as_actions(
        torch.zeros(problem.n_agents, problem.action_dim) if x0 is None else x0, "x0"))[0]
    fun, count = _loss_and_grad(problem, types)
    res = scipy.optimize.minimize(fun, x0.reshape(-1).numpy(), jac=True, method="L-BFGS-B",
                                  bounds=_scipy_bounds(problem),
                                  options={"ftol": tol, "gtol": 1e-12, "maxiter": max_iter, "maxfun": 4 * max_iter})
    x = torch.as_tensor(res.x, dtype=problem.dtype).reshape(problem.n_agents, problem.action_dim)
    return SolverResult(x, float(res.fun), count["n"], bool(res.success), str(res.message))


@dataclass
class LocalMinimum:
    """A distinct local minimum found by :func:`global_minimum` and how many starts reached it."""

    x: torch.Tensor
    loss: float
    hits: int


@dataclass
class GlobalResult:
    """The best minimum found and every distinct local minimum, sorted by loss."""

    x: torch.Tensor
    loss: float
    minima: list[LocalMinimum]
    evaluations: int

    def rank_of(self, x: Any, atol: float = 1e-4) -> int | None:
        """1-based rank of the local minimum at ``x`` among those found, or ``None``."""
        x = torch.as_tensor(x, dtype=self.x.dtype).reshape(self.x.shape)
        for rank, m in enumerate(self.minima, start=1):
            if torch.allclose(m.x, x, atol=atol, rtol=0):
                return rank
        return None

    def rank_by_loss(self, loss: float, tol: float = 1e-9) -> int:
        """1-based rank a point of loss ``loss`` would take among the minima found:
        1 + the number of distinct minima with a loss lower by more than ``tol``."""
        return 1 + sum(m.loss < loss - tol for m in self.minima)


def global_minimum(problem: Problem, *, search_box: tuple[float, float] | None = None,
                   n_starts: int = 256, seed: int = 0, types: TypesView = "belief",
                   merge_tol: float = 1e-5) -> GlobalResult:
    """Multi-start L-BFGS-B from a scrambled Sobol design; distinct minima merged within ``merge_tol``.

    The starts cover the problem's box, intersected with ``search_box = (low, high)`` (required
    where a bound is infinite). Returns the best point and every distinct local minimum.
    """
    import scipy.optimize
    import scipy.stats

    problem = reference_copy(problem)
    n_starts = require_int_at_least("n_starts", n_starts, 1)
    lo, hi = problem.lower.reshape(-1).numpy(), problem.upper.reshape(-1).numpy()
    if search_box is not None:
        lo, hi = np.maximum(lo, search_box[0]), np.minimum(hi, search_box[1])
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise InvalidParameterError(f"global_minimum needs a finite box: problem bounds are infinite, "
                                    f"pass search_box=(low, high); got search_box={search_box!r}")
    sampler = scipy.stats.qmc.Sobol(d=lo.size, scramble=True, seed=seed)
    starts = scipy.stats.qmc.scale(sampler.random(n_starts), lo, hi) if lo.size > 0 else None
    fun, count = _loss_and_grad(problem, types)
    bounds = _scipy_bounds(problem)
    minima: list[LocalMinimum] = []
    for start in starts:
        res = scipy.optimize.minimize(fun, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                      options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 5000})
        x = torch.as_tensor(res.x, dtype=problem.dtype).reshape(problem.n_agents, problem.action_dim)
        _merge_minimum(minima, x, float(res.fun), merge_tol)
    minima.sort(key=lambda m: m.loss)
    return GlobalResult(minima[0].x, minima[0].loss, minima, count["n"])


def _merge_minimum(minima: list[LocalMinimum], x: torch.Tensor, loss: float, tol: float) -> None:
    for m in minima:
        if torch.allclose(m.x, x, atol=tol, rtol=0):
            m.hits += 1
            if loss < m.loss:
                m.x, m.loss = x, loss
            return
    minima.append(LocalMinimum(x, loss, 1))


def classify_point(problem: Problem, x: Any, *, types: TypesView = "belief",
                   grad_tol: float = 1e-8, eig_tol: float = 1e-9) -> tuple[PointClass, np.ndarray]:
    """Classify ``x`` from the projected gradient and the Hessian eigenvalues.

    Returns the class and the eigenvalues. A point whose KKT residual ``‖Π(x − ∇L) − x‖`` exceeds
    ``grad_tol`` is ``"not_stationary"``; otherwise the eigenvalues of the Hessian restricted to
    the free (interior) coordinates decide: all > 0 minimum, all < 0 maximum, mixed signs saddle,
    else degenerate.
    """
    problem = reference_copy(problem)
    X = problem.project(problem.as_actions(x, "x"))
    inc = incentives(problem, X, types=types)
    if float((problem.project(X + inc.G) - X).norm()) > grad_tol:
        return "not_stationary", np.array([])
    free = ((X[0] > problem.lower) & (X[0] < problem.upper)).reshape(-1)
    H = problem.hessian(X[0], types)[free][:, free]
    eig = torch.linalg.eigvalsh(H).numpy() if H.numel() else np.array([])
    if eig.size == 0 or (eig > eig_tol).all():
        return "minimum", eig
    if (eig < -eig_tol).all():
        return "maximum", eig
    if (eig < -eig_tol).any() and (eig > eig_tol).any():
        return "saddle", eig
    return "degenerate", eig


def nash_equilibrium(problem: Problem, share: float, x0: Any = None, *, types: TypesView = "true",
                     tol: float = 1e-12, max_sweeps: int = 10_000) -> SolverResult:
    """The uncoordinated Nash equilibrium by Gauss–Seidel best-response iteration.

    Agent i minimises its private loss ``C_i(x_i) + share · L_system(X)`` over its box, given the
    others (an L-BFGS-B solve in x_i), agents in turn, until no action moves by more than
    ``tol`` in a sweep. ``share = 0``: agents ignore the system; ``1/N``: an equal share.
    ``extras`` holds ``sweeps`` and the global loss at the equilibrium (under ``types``).
    """
    import scipy.optimize

    problem = reference_copy(problem)
    require_nonnegative("share", share)
    max_sweeps = require_int_at_least("max_sweeps", max_sweeps, 1)
    X = problem.project(problem.as_actions(
        torch.zeros(problem.n_agents, problem.action_dim) if x0 is None else x0, "x0")).clone()
    bounds = _scipy_bounds(problem)
    d, evaluations = problem.action_dim, 0
    converged = False
    for sweep in range(1, max_sweeps + 1):
        largest_move = 0.0
        for i in range(problem.n_agents):
            fun = _private_objective(problem, X, i, share, types)
            res = scipy.optimize.minimize(fun, X[0, i].numpy(), jac=True, method="L-BFGS-B",
                                          bounds=bounds[i * d:(i + 1) * d],
                                          options={"ftol": 1e-16, "gtol": 1e-13})
            evaluations += int(res.nfev)
            new = torch.as_tensor(res.x, dtype=problem.dtype)
            largest_move = max(largest_move, float((new - X[0, i]).abs().max()))
            X[0, i] = new
        if largest_move <= tol:
            converged = True
            break
    loss = float(problem.loss(X, types)[0])
    return SolverResult(X[0].clone(), loss, evaluations, converged,
                        f"{'converged' if converged else 'not converged'} after {sweep} sweeps",
                        extras={"sweeps": sweep, "share": float(share)})


def _private_objective(problem: Problem, X: torch.Tensor, i: int, share: float, types: TypesView):
    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        with torch.enable_grad():
            xi = torch.as_tensor(v, dtype=problem.dtype).requires_grad_(True)
            Xi = torch.cat([X[:, :i], xi.reshape(1, 1, -1), X[:, i + 1:]], dim=1)
            value = problem.private_loss(Xi, share, types)[0, i]
            (grad,) = torch.autograd.grad(value, xi)
        return float(value.detach()), grad.numpy().astype(np.float64)

    return fun
