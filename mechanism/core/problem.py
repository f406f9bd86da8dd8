"""The Planner's institution: agents, bounds, private types and the global loss.

    L_global(X) = L_system(X) + Σ_i C_i(x_i; θ_i)

``X`` is a batch of joint actions, shape ``(B, N, d)``, float64 on the CPU by default; a problem
lives on one ``device`` with one ``dtype`` (:meth:`Problem.to` moves it) and every tensor it makes
follows them. The loss is the terminal node of a :class:`~mechanism.core.ddag.DDAG`. Private types ``θ`` (e.g. cost coefficients
λ_i) live in data nodes; the Planner evaluates the loss under its *belief* about them
(``types="belief"``), while welfare is scored under the *true* types (``types="true"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

import torch

from .ddag import DDAG, DataNode
from ..errors import (GraphError, InvalidParameterError, ShapeMismatchError, distinct_values,
                     require_finite_tensor)

__all__ = ["Problem", "Optimum", "TypesView", "resolve_device", "resolve_dtype"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device: Any) -> torch.device:
    """``device`` as a :class:`torch.device`; ``None`` means the CPU.

    Raises :class:`InvalidParameterError` for an unknown device string or a CUDA device on a
    machine without one.
    """
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidParameterError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(f"device={device!r} but torch.cuda.is_available() is False on this machine")
    if dev.type not in ("cpu", "cuda"):
        raise InvalidParameterError(f"device must be 'cpu' or 'cuda', got {device!r}")
    return dev


def resolve_dtype(dtype: Any) -> torch.dtype:
    """``dtype`` (``torch.float32``/``torch.float64`` or their names) as a torch dtype."""
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    if dtype in (torch.float32, torch.float64):
        return dtype
    raise InvalidParameterError(f"dtype must be float32 or float64, got {dtype!r}")

TypesView = Literal["belief", "true"]
GradientFn = Callable[[torch.Tensor, Mapping[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class Optimum:
    """A known minimiser ``x`` (shape ``(N, d)``) and its loss."""

    x: torch.Tensor
    loss: float


class Problem:
    """A coordination problem: a D-DAG loss over ``N`` agents with box bounds and private types.

    Args:
        ddag: the graph; its terminal node is ``L_global``.
        data: values of the data nodes as the Planner believes them (public data such as a
            target ``Y`` and the believed types). Missing data nodes keep their graph value.
        true_types: the agents' true private types where they differ from the belief
            (e.g. ``{"lam": tensor}``); defaults to the belief.
        lower, upper: box bounds, broadcast to ``(N, d)``; ``-inf``/``inf`` for unbounded.
        system_node, costs_node: names of the nodes holding ``L_system`` (shape ``(B,)``) and the
            per-agent costs ``C_i`` (shape ``(B, N)``), used by private rewards and the Nash
            baseline. If absent, the whole loss counts as system loss and costs are zero.
        features: private features of each agent, shape ``(N, k)`` (what agent i knows about
            itself, e.g. its true λ_i), with ``feature_names``.
        gradient_fn: optional closed-form ``(X, data) -> (loss, dL/dX)``, a fast path that
            must equal autograd (tested).
        curvature_fn: optional ``(X, data) -> ∂²L/∂x_i²`` per agent, shape ``(N, d)``.
        optimum_fn: optional closed-form ``data -> Optimum``.
        name: a label.
        dtype: storage dtype of every tensor of the problem (float64 default, or float32).
        device: where the problem's tensors live (``"cpu"`` default, ``"cuda"``).
        fused_family: the name of a fused kernel family (:mod:`mechanism.engines.fused`) whose one-pass
            step computes this problem's incentives and the agents' update together, or ``None``.
        engine: how the D-DAG is evaluated (:meth:`loss` and the generic DPM reverse pass):
            ``"autograd"`` (one call per node: the reference), ``"batched"`` (nodes of the same
            function and shapes as stacked calls, :mod:`mechanism.engines.batched`) or ``"auto"``
            (default: batched wherever the plan groups anything). :func:`~mechanism.incentives`
            reports the engine it used (``Incentives.engine``); :meth:`with_engine` makes a copy
            with another engine.

    Callables must be module-level functions (or ``functools.partial`` of them) for the problem
    to pickle.
    """

    def __init__(self, ddag: DDAG, *, data: Mapping[str, Any] | None = None,
                 true_types: Mapping[str, Any] | None = None,
                 lower: Any = float("-inf"), upper: Any = float("inf"),
                 system_node: str | None = None, costs_node: str | None = None,
                 features: torch.Tensor | None = None, feature_names: tuple[str, ...] = (),
                 gradient_fn: GradientFn | None = None,
                 curvature_fn: Callable[[torch.Tensor, Mapping[str, torch.Tensor]], torch.Tensor] | None = None,
                 optimum_fn: Callable[[Mapping[str, torch.Tensor]], Optimum | None] | None = None,
                 name: str = "problem", dtype: Any = torch.float64, device: Any = None,
                 fused_family: str | None = None, engine: str = "auto") -> None:
        from ..engines.batched import require_engine

        self.engine = require_engine(engine)
        ddag.validate()
        self.ddag = ddag
        self.name = name
        self.dtype = resolve_dtype(dtype)
        self.device = resolve_device(device)
        self.fused_family = fused_family
        self.n_agents = ddag.n_agents
        self.action_dim = ddag.action_dim
        self.belief = self._complete_data(data or {})
        self.true = {**self.belief, **self._check_data_keys("true_types", true_types or {})}
        self.lower, self.upper = self._bounds(lower, upper)
        for node in (system_node, costs_node):
            if node is not None:
                ddag.node(node)  # raises GraphError if missing
        self.system_node, self.costs_node = system_node, costs_node
        self.features = (torch.zeros(self.n_agents, 0, dtype=self.dtype, device=self.device) if features is None
                         else self._tensor(features).reshape(self.n_agents, -1))
        self.feature_names = tuple(feature_names)
        self.gradient_fn, self.curvature_fn, self.optimum_fn = gradient_fn, curvature_fn, optimum_fn

    # ------------------------------------------------------------------ data
    def _tensor(self, value: Any) -> torch.Tensor:
        """``value`` as a tensor of this problem's dtype on its device (no copy if it already is)."""
        return torch.as_tensor(value, dtype=self.dtype, device=self.device)

    def _check_data_keys(self, label: str, data: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        out = {}
        for key, value in data.items():
            node = self.ddag._nodes.get(key)
            if not isinstance(node, DataNode):
                raise GraphError(f"{label}: {key!r} is not a data node of problem graph")
            t = self._tensor(value)
            require_finite_tensor(f"{label}[{key!r}]", t)
            out[key] = t
        return out

    def _complete_data(self, data: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        given = self._check_data_keys("data", data)
        defaults = {n.name: self._tensor(n.value) for n in self.ddag._nodes.values()
                    if isinstance(n, DataNode)}
        return {**defaults, **given}

    def data(self, types: TypesView = "belief") -> dict[str, torch.Tensor]:
        """The data-node values under the Planner's belief or the true types."""
        if types == "belief":
            return self.belief
        if types == "true":
            return self.true
        raise InvalidParameterError(f"types must be 'belief' or 'true', got {types!r}")

    def _copy(self) -> "Problem":
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def to(self, device: Any = None, dtype: Any = None) -> "Problem":
        """A copy living on ``device`` with storage ``dtype`` (each defaults to the current one).

        Data, bounds and features move; the graph and callables are shared. Bounds given as a
        scalar stay O(1) in memory (an expanded view).
        """
        clone = self._copy()
        clone.device = self.device if device is None else resolve_device(device)
        clone.dtype = self.dtype if dtype is None else resolve_dtype(dtype)
        move = clone._tensor
        clone.belief = {k: move(v) for k, v in self.belief.items()}
        clone.true = {k: move(v) for k, v in self.true.items()}
        clone.lower, clone.upper = (_move_keeping_expansion(b, clone.device, clone.dtype)
                                    for b in (self.lower, self.upper))
        clone.features = _move_keeping_expansion(self.features, clone.device, clone.dtype)
        return clone

    def with_data(self, **values: Any) -> "Problem":
        """A copy in which public data (e.g. a target ``Y``) changes for belief and truth alike."""
        clone = self._copy()
        changed = self._check_data_keys("with_data", values)
        clone.belief = {**self.belief, **changed}
        clone.true = {**self.true, **changed}
        return clone

    def with_engine(self, engine: str) -> "Problem":
        """A copy that evaluates its D-DAG with ``engine`` (``"auto"``, ``"autograd"`` or ``"batched"``)."""
        from ..engines.batched import require_engine

        clone = self._copy()
        clone.engine = require_engine(engine)
        return clone

    def with_bounds(self, lower: Any, upper: Any) -> "Problem":
        """A copy with other box bounds (broadcast to ``(N, d)``)."""
        lo, hi = self._bounds(lower, upper)
        clone = self._copy()
        clone.lower, clone.upper = lo, hi
        return clone

    def with_belief(self, **values: Any) -> "Problem":
        """A copy in which only the Planner's belief about some types changes."""
        clone = self._copy()
        clone.belief = {**self.belief, **self._check_data_keys("with_belief", values)}
        return clone

    # ------------------------------------------------------------------ actions
    def _bounds(self, lower: Any, upper: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Bounds broadcast to ``(N, d)``: an expanded view (O(1) memory) of what was given."""
        shape = (self.n_agents, self.action_dim)
        lo, hi = self._tensor(lower), self._tensor(upper)
        if torch.isnan(lo).any() or torch.isnan(hi).any() or (lo > hi).any():
            raise InvalidParameterError(f"bounds must satisfy lower <= upper without NaN, got "
                                        f"lower={lower!r}, upper={upper!r}")
        try:
            return lo.expand(shape), hi.expand(shape)
        except RuntimeError:
            raise ShapeMismatchError(f"bounds must broadcast to {shape}, got lower={lower!r}, "
                                     f"upper={upper!r}") from None

    def as_actions(self, X: Any, name: str = "X", *, check_finite: bool = True) -> torch.Tensor:
        """Validate and return ``X`` as a ``(B, N, d)`` tensor of this problem's dtype and device.

        Accepts ``(N,)`` (when d = 1), ``(N, d)`` or ``(B, N, d)``; raises on other shapes, on a
        tensor that lives on another device than the problem, and (unless ``check_finite`` is
        False: inner loops that validated once) on NaN/inf.
        """
        if isinstance(X, torch.Tensor) and X.device != self.device:
            raise InvalidParameterError(
                f"{name} is on device {X.device} but problem {self.name!r} lives on {self.device}: "
                f"move one of them (problem.to({str(X.device)!r}) or {name}.to({str(self.device)!r}))")
        t = self._tensor(X)
        N, d = self.n_agents, self.action_dim
        if t.ndim == 1 and d == 1 and t.shape[0] == N:
            t = t.reshape(1, N, 1)
        elif t.ndim == 2 and tuple(t.shape) == (N, d):
            t = t.unsqueeze(0)
        if t.ndim != 3 or tuple(t.shape[1:]) != (N, d):
            raise ShapeMismatchError(f"{name} must have shape (B, {N}, {d}), ({N}, {d})"
                                     f"{f' or ({N},)' if d == 1 else ''}; got {tuple(t.shape)}")
        if check_finite:
            require_finite_tensor(name, t)
        return t

    def project(self, X: torch.Tensor) -> torch.Tensor:
        """Euclidean projection onto the box ``[lower, upper]``."""
        return torch.clamp(X, self.lower, self.upper)

    # ------------------------------------------------------------------ losses
    def loss(self, X: torch.Tensor, types: TypesView = "belief", engine: str | None = None) -> torch.Tensor:
        """``L_global(X)``, shape ``(B,)``, evaluated by ``engine`` (default: :attr:`engine`)."""
        return self.evaluate_loss(X, types, engine)[0]

    def evaluate_loss(self, X: torch.Tensor, types: TypesView = "belief",
                      engine: str | None = None) -> tuple[torch.Tensor, str]:
        """``L_global(X)`` and the name of the engine that computed it (``"autograd"`` or ``"batched"``)."""
        from ..engines.batched import ddag_loss, require_engine

        chosen = self.__dict__.get("engine", "auto") if engine is None else require_engine(engine)
        return ddag_loss(self.ddag, X, self.data(types), chosen)

    def evaluate_loss_and_grad(self, X: torch.Tensor, types: TypesView = "belief",
                               engine: str | None = None) -> tuple[torch.Tensor, torch.Tensor, str]:
        """``L_global(X)``, ``∂ΣL/∂X`` (both detached) and the engine that computed them
        (:func:`mechanism.engines.batched.ddag_loss_and_grad`: the traced engine runs one graph of
        the forward and the reverse pass; the others run autograd through the loss)."""
        from ..engines.batched import ddag_loss_and_grad, require_engine

        chosen = self.__dict__.get("engine", "auto") if engine is None else require_engine(engine)
        return ddag_loss_and_grad(self.ddag, X, self.data(types), chosen)

    def system_loss(self, X: torch.Tensor, types: TypesView = "belief") -> torch.Tensor:
        """``L_system(X)``, shape ``(B,)`` (the whole loss if no split was declared)."""
        node = self.system_node or self.ddag.loss_node
        return self.ddag.forward(X, self.data(types))[node]

    def agent_costs(self, X: torch.Tensor, types: TypesView = "belief") -> torch.Tensor:
        """Per-agent costs ``C_i(x_i)``, shape ``(B, N)`` (zeros if no split was declared)."""
        if self.costs_node is None:
            return torch.zeros(X.shape[0], self.n_agents, dtype=X.dtype, device=X.device)
        return self.ddag.forward(X, self.data(types))[self.costs_node]

    def private_loss(self, X: torch.Tensor, share: float, types: TypesView = "true") -> torch.Tensor:
        """What agent i minimises when uncoordinated: ``C_i(x_i) + share · L_system(X)``, ``(B, N)``."""
        values = self.ddag.forward(X, self.data(types))
        system = values[self.system_node or self.ddag.loss_node]
        costs = (values[self.costs_node] if self.costs_node is not None
                 else torch.zeros(X.shape[0], self.n_agents, dtype=X.dtype, device=X.device))
        return costs + share * system.unsqueeze(-1)

    def optimum(self, types: TypesView = "belief") -> Optimum | None:
        """The closed-form minimiser under the given types, or ``None`` if none is known.

        A closed form that falls outside this problem's box is not the box optimum: ``None``.
        """
        if self.optimum_fn is None:
            return None
        opt = self.optimum_fn(self.data(types))
        if opt is None:
            return None
        x = opt.x.reshape(self.n_agents, self.action_dim).to(self.device)
        return opt if bool(((x >= self.lower) & (x <= self.upper)).all()) else None

    def curvature(self, X: torch.Tensor, types: TypesView = "belief") -> torch.Tensor:
        """Each agent's own curvature ``∂²L/∂x_i²``, shape ``(N, d)``, at the first instance of ``X``.

        Closed form when the problem provides one, else the diagonal of the autograd Hessian
        (O(N²): for small problems).
        """
        if self.curvature_fn is not None:
            return self.curvature_fn(X, self.data(types))
        return torch.diagonal(self.hessian(X[0], types)).reshape(self.n_agents, self.action_dim)

    def hessian(self, x: torch.Tensor, types: TypesView = "belief") -> torch.Tensor:
        """The full Hessian of ``L_global`` at one joint action ``x`` (``(N, d)``), ``(Nd, Nd)``."""
        x = self.as_actions(x, "x")[0]
        shape = x.shape

        def flat_loss(v: torch.Tensor) -> torch.Tensor:
            return self.loss(v.reshape(1, *shape), types, engine="autograd")[0]

        return torch.autograd.functional.hessian(flat_loss, x.reshape(-1))

    def __repr__(self) -> str:
        return (f"Problem(name={self.name!r}, n_agents={self.n_agents}, action_dim={self.action_dim}, "
                f"dtype={self.dtype}, device={self.device})")


def _move_keeping_expansion(t: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Move ``t``; a tensor that is a broadcast (stride-0) view of a smaller one stays a view."""
    if t.numel() > 0 and 0 in t.stride():
        return distinct_values(t).to(device=device, dtype=dtype).expand(t.shape)
    return t.to(device=device, dtype=dtype)
