"""The Planner's Differentiable Directed Acyclic Graph (D-DAG).

A D-DAG has three kinds of nodes:

* **agent nodes** hold the decision variables of one agent or of a whole vector of ``n``
  agents (each with ``dim`` action components). Their value is a slice ``X[:, a:a+n, :]`` of
  the joint action ``X`` of shape ``(B, N, d)``; optionally an agent node transforms values it
  receives from upstream (e.g. stage 2 of an assembly line adds its work to stage 1's output).
* **data nodes** hold constants (targets, cost coefficients, ...). The values can be replaced
  at evaluation time, which is how a Problem evaluates the loss under the planner's belief or
  under the agents' true types.
* **function nodes** apply a differentiable torch function to the values of their inputs.

Edges go from a node to the nodes that name it among their ``inputs``. One node is the
terminal loss; its value must have shape ``(B,)``. :meth:`DDAG.forward` evaluates every node
in topological order, so one reverse pass (autograd) from the loss yields every agent's
incentive (see :mod:`mechanism.core.dpm`).

Example, the paper's assembly line ``A1 -> A2 -> loss``::

    g = DDAG()
    g.add_agents("A1", n=1)
    g.add_agents("A2", n=1, inputs=["A1"], output=torch.add)
    g.add_data("Y", 2.0)
    g.add_data("lam", 0.5)
    g.add_function("loss", lambda a2, a1, y, lam: ((a2 - y) ** 2).sum((1, 2))
                   + lam * (a1 ** 2).sum((1, 2)), inputs=["A2", "A1", "Y", "lam"])
    g.set_loss("loss")
"""
from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch

from ..errors import GraphError, InvalidParameterError, ShapeMismatchError, require_int_at_least

__all__ = ["DDAG", "AgentNode", "DataNode", "FunctionNode", "StackNode"]


@dataclass
class AgentNode:
    """``n`` agents with ``dim``-dimensional actions; value = ``output(x, *inputs)`` or ``x``."""

    name: str
    n: int
    dim: int
    inputs: tuple[str, ...] = ()
    output: Callable[..., torch.Tensor] | None = None
    offset: int = 0  # first index of these agents in the joint action X


@dataclass
class DataNode:
    """A constant tensor (replaceable at evaluation time through ``data=``)."""

    name: str
    value: torch.Tensor
    inputs: tuple[str, ...] = field(default=())


@dataclass
class FunctionNode:
    """A differentiable function of the values of ``inputs``."""

    name: str
    fn: Callable[..., torch.Tensor]
    inputs: tuple[str, ...] = ()


@dataclass
class StackNode:
    """``torch.stack`` of the values of ``inputs`` along ``dim`` (a built-in many-input node).

    A node that gathers many nodes' values (every facility's cost, every market's shortfall)
    written as a Python function of all of them costs operations per input; as a stack node the
    batched engine (:mod:`mechanism.engines.batched`) gathers whole groups in one operation.
    """

    name: str
    inputs: tuple[str, ...]
    dim: int = 1


Node = AgentNode | DataNode | FunctionNode | StackNode


class DDAG:
    """A differentiable directed acyclic graph of agents, data and functions ending in a loss.

    Build it with :meth:`add_agents`, :meth:`add_data`, :meth:`add_function` and
    :meth:`set_loss`; :meth:`validate` (called by :meth:`forward` on first use) checks that the
    graph is acyclic, that every edge points at an existing node, and that every agent node
    reaches the loss. Agents are laid out in the joint action ``X`` in the order their nodes
    were added.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self._loss: str | None = None
        self._order: list[str] | None = None
        self._dim: int | None = None
        self._structure = 0

    @property
    def structure_version(self) -> int:
        """A counter that changes whenever a node is added or the loss is set (engines key caches on it)."""
        return self.__dict__.get("_structure", 0)

    def __getstate__(self) -> dict:
        # evaluation plans cached by engines (closures) are rebuilt on demand, never pickled
        return {k: v for k, v in self.__dict__.items() if k not in ("_batched_plans", "_last_checked")}

    # ------------------------------------------------------------------ building
    def add_agents(self, name: str, n: int = 1, dim: int = 1, inputs: Sequence[str] = (),
                   output: Callable[..., torch.Tensor] | None = None) -> "DDAG":
        """Add a node of ``n`` agents with ``dim``-dimensional actions.

        ``output(x, *input_values)`` maps the agents' actions ``x`` (shape ``(B, n, dim)``) and
        the values of ``inputs`` to the node's value; without it the value is ``x``.
        """
        n = require_int_at_least(f"agent node {name!r}: n", n, 1)
        dim = require_int_at_least(f"agent node {name!r}: dim", dim, 1)
        if self._dim is not None and dim != self._dim:
            raise ShapeMismatchError(
                f"agent node {name!r} has dim={dim} but earlier agent nodes have dim={self._dim}; "
                "all agents of one D-DAG share the action dimension")
        if inputs and output is None:
            raise InvalidParameterError(
                f"agent node {name!r} has inputs {list(inputs)} but no output function")
        self._add(AgentNode(name, n, dim, tuple(inputs), output, offset=self.n_agents))
        self._dim = dim
        return self

    def add_data(self, name: str, value: Any) -> "DDAG":
        """Add a constant (a number or tensor; float64 unless already a floating tensor)."""
        self._add(DataNode(name, _as_float_tensor(value)))
        return self

    def add_function(self, name: str, fn: Callable[..., torch.Tensor],
                     inputs: Sequence[str]) -> "DDAG":
        """Add ``fn(*values_of_inputs)`` as a node."""
        if not callable(fn):
            raise InvalidParameterError(f"function node {name!r}: fn must be callable, got {fn!r}")
        self._add(FunctionNode(name, fn, tuple(inputs)))
        return self

    def add_stack(self, name: str, inputs: Sequence[str], dim: int = 1) -> "DDAG":
        """Add ``torch.stack([values of inputs], dim)`` as a node (inputs of equal shapes).

        ``dim=1`` puts the new axis right after the batch axis: stacking ``K`` values of shape
        ``(B, ...)`` gives ``(B, K, ...)``. Prefer it to a function of many inputs: the batched
        engine gathers the inputs of a stack node in one operation.
        """
        if not inputs:
            raise InvalidParameterError(f"stack node {name!r}: inputs must be non-empty, got {list(inputs)!r}")
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise InvalidParameterError(f"stack node {name!r}: dim must be an int, got {dim!r}")
        self._add(StackNode(name, tuple(inputs), dim))
        return self

    def set_loss(self, name: str) -> "DDAG":
        """Declare the terminal loss node (its value must have shape ``(B,)``)."""
        if name not in self._nodes:
            raise GraphError(f"set_loss: no node named {name!r}; nodes are {list(self._nodes)}")
        self._loss = name
        self._order = None
        self._structure = self.structure_version + 1
        return self

    def _add(self, node: Node) -> None:
        if not isinstance(node.name, str) or not node.name:
            raise InvalidParameterError(f"node name must be a non-empty string, got {node.name!r}")
        if node.name in self._nodes:
            raise GraphError(f"duplicate node name {node.name!r}")
        self._nodes[node.name] = node
        self._order = None
        self._structure = self.structure_version + 1

    # ------------------------------------------------------------------ structure
    @property
    def n_agents(self) -> int:
        """Total number of agents over all agent nodes."""
        cached = self.__dict__.get("_n_agents_cache")
        if cached is not None and cached[0] == self.structure_version:
            return cached[1]
        total = sum(n.n for n in self._nodes.values() if isinstance(n, AgentNode))
        self._n_agents_cache = (self.structure_version, total)
        return total

    @property
    def action_dim(self) -> int:
        """The action dimension ``d`` shared by all agents."""
        if self._dim is None:
            raise GraphError("the D-DAG has no agent node")
        return self._dim

    @property
    def loss_node(self) -> str:
        """Name of the terminal loss node."""
        if self._loss is None:
            raise GraphError("the D-DAG has no loss node: call set_loss(name)")
        return self._loss

    def agent_nodes(self) -> list[AgentNode]:
        """Agent nodes in layout order (their order in the joint action)."""
        return [n for n in self._nodes.values() if isinstance(n, AgentNode)]

    def node(self, name: str) -> Node:
        """The node called ``name``."""
        try:
            return self._nodes[name]
        except KeyError:
            raise GraphError(f"no node named {name!r}; nodes are {list(self._nodes)}") from None

    def edges(self) -> list[tuple[str, str]]:
        """All edges ``(source, target)``."""
        return [(src, n.name) for n in self._nodes.values() for src in n.inputs]

    def topological_order(self) -> list[str]:
        """Node names in an order where every node follows its inputs (validated graph)."""
        self.validate()
        assert self._order is not None
        return list(self._order)

    def validate(self) -> None:
        """Check the graph: edges resolve, no cycle, a loss exists, every agent reaches it.

        Raises :class:`GraphError` naming the nodes involved.
        """
        if self._order is not None:
            return
        if not self.agent_nodes():
            raise GraphError("the D-DAG has no agent node")
        loss = self.loss_node
        for src, dst in self.edges():
            if src not in self._nodes:
                raise GraphError(f"dangling edge {src!r} -> {dst!r}: no node named {src!r}")
        sorter = graphlib.TopologicalSorter({n.name: n.inputs for n in self._nodes.values()})
        try:
            order = list(sorter.static_order())
        except graphlib.CycleError as exc:
            cycle = exc.args[1]
            raise GraphError(f"the D-DAG has a cycle: {' -> '.join(cycle)}") from None
        reaches_loss = self._ancestors(loss) | {loss}
        for agent in self.agent_nodes():
            if agent.name not in reaches_loss:
                raise GraphError(f"agent node {agent.name!r} does not reach the loss node {loss!r}: "
                                 "its incentive would be identically zero (dangling agent)")
        self._order = [name for name in order if name in reaches_loss]

    def _ancestors(self, name: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self._nodes[name].inputs)
        while stack:
            cur = stack.pop()
            if cur not in seen:
                seen.add(cur)
                stack.extend(self._nodes[cur].inputs)
        return seen

    # ------------------------------------------------------------------ evaluation
    def forward(self, X: torch.Tensor, data: Mapping[str, Any] | None = None) -> dict[str, torch.Tensor]:
        """Evaluate every node that reaches the loss; return ``{name: value}``.

        ``X`` is the joint action, shape ``(B, N, d)``. ``data`` overrides data-node values
        (unknown names raise). The loss value is checked to have shape ``(B,)``.
        """
        overrides = dict(data or {})
        self.check_call(X, overrides)
        values: dict[str, torch.Tensor] = {}
        for name in self._order:  # type: ignore[union-attr]
            values[name] = self._evaluate(self._nodes[name], X, values, overrides)
        self.check_loss_shape(values[self.loss_node], X)
        return values

    def check_call(self, X: torch.Tensor, data: Mapping[str, Any]) -> None:
        """Validate the graph, the shape of ``X`` and the names of the data overrides of a call."""
        self.validate()
        if X.ndim != 3 or X.shape[1] != self.n_agents or X.shape[2] != self.action_dim:
            raise ShapeMismatchError(
                f"X must have shape (B, {self.n_agents}, {self.action_dim}), got {tuple(X.shape)}")
        names = self.__dict__.get("_data_names")
        if names is None or names[0] != self.structure_version:
            names = self._data_names = (self.structure_version,
                                        frozenset(n.name for n in self._nodes.values() if isinstance(n, DataNode)))
        last = self.__dict__.get("_last_checked")
        if last is not None and last[0] is data and last[1] == len(data) and last[2] == self.structure_version:
            return  # the same mapping as the last call, with as many keys (a Problem's belief or truth)
        if data.keys() <= names[1]:
            self._last_checked = (data, len(data), self.structure_version)
            return
        for key in data:
            if not isinstance(self._nodes.get(key), DataNode):
                raise GraphError(f"data override {key!r} is not a data node; data nodes are "
                                 f"{[n.name for n in self._nodes.values() if isinstance(n, DataNode)]}")

    def check_loss_shape(self, loss: torch.Tensor, X: torch.Tensor) -> None:
        """Raise unless the loss value has shape ``(B,)``."""
        if loss.shape != (X.shape[0],):
            raise ShapeMismatchError(f"loss node {self.loss_node!r} must return shape "
                                     f"({X.shape[0]},), got {tuple(loss.shape)}")

    def loss(self, X: torch.Tensor, data: Mapping[str, Any] | None = None) -> torch.Tensor:
        """The terminal loss, shape ``(B,)``."""
        return self.forward(X, data)[self.loss_node]

    @staticmethod
    def _evaluate(node: Node, X: torch.Tensor, values: dict[str, torch.Tensor],
                  overrides: Mapping[str, Any]) -> torch.Tensor:
        args = [values[i] for i in node.inputs]
        if isinstance(node, DataNode):
            value = overrides.get(node.name, node.value)
            return _as_float_tensor(value).to(dtype=X.dtype, device=X.device)
        try:
            if isinstance(node, AgentNode):
                x = X[:, node.offset:node.offset + node.n, :]
                return x if node.output is None else node.output(x, *args)
            if isinstance(node, StackNode):
                return torch.stack(args, node.dim)
            return node.fn(*args)
        except (RuntimeError, IndexError, TypeError) as exc:
            shapes = {i: tuple(values[i].shape) for i in node.inputs}
            raise ShapeMismatchError(f"node {node.name!r} failed on inputs with shapes {shapes}: "
                                     f"{exc}") from exc


def _as_float_tensor(value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value
    return torch.as_tensor(value, dtype=torch.float64)
