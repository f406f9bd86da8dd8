"""The batched D-DAG engine: nodes of the same function and shapes evaluated as one stacked call.

A D-DAG built node by node (one agent node per facility, one cost node per facility, ...) costs
one Python call and a handful of small torch operations per node, forward and backward; at a few
hundred nodes that overhead dominates (issue 21: ~0.5 ms per node per incentive evaluation).
:class:`BatchedPlan` removes it without knowing anything about the functions:

1. **Levels.** Every node gets a level: as soon as possible (0 for data nodes and agent nodes
   without inputs, otherwise one more than its deepest input) or as late as possible (the
   deepest level minus the longest path to the loss), whichever schedule makes fewer groups.
   Nodes of one level never depend on each other.
2. **Groups.** Nodes of one level with the same kind, the same function (``functools.partial``
   objects compare by their function and arguments; other callables by identity), the same input
   shapes and the same output shape form a group. A group of ``K ≥ 2`` function nodes is evaluated
   as ``torch.vmap(fn)`` over its inputs stacked along a new leading axis: one call whose torch
   operations each act on ``K`` nodes at once. Data groups are stacked once and cached until a
   value changes; agent groups gather their slices of ``X`` in one indexing operation.
3. **Gathers.** A group's input ``j`` is gathered from the groups that produced it: the whole
   stacked output, a slice of it, one ``index_select``, or (inputs from several groups) one ``cat``
   and one ``index_select``; an input shared by every member is passed once (``in_dims=None``).
4. **Checked at planning.** A plan is built from one reference forward pass (:meth:`DDAG.forward`)
   at the shapes of the call; every stacked group is evaluated once and compared with those
   reference values (to ``1e-12`` relative, float64). A group that ``vmap`` cannot run (Python
   control flow on values, ``.item()``, non-tensor outputs) or that disagrees falls back to one
   call per node, so the plan is correct for any graph the reference can evaluate.

5. **Traced** (``engine="traced"``, and ``"auto"`` from a plan's 201st call): the whole plan is
   traced once with ``torch.fx``'s ``make_fx`` into one graph of ATen operations, the data groups
   being inputs of the graph (so changed data is seen), and replayed: no ``vmap`` machinery and no
   plan bookkeeping per call. The trace is checked (loss and gradient) against the eager plan;
   where tracing fails the eager plan runs and says so (``trace_failure``).

The reverse pass is autograd through the batched (or traced) forward, so the incentives are those
of the reference up to the order of floating-point operations inside ``vmap``'s batched kernels
(tested to 1e-12 on every built-in problem and on random graphs). Plans are cached on the DDAG
per ``(B, dtype, device)`` of ``X`` (the last :data:`MAX_PLANS`), and are rebuilt when the graph
changes. ``torch.compile`` was measured and not used (``scripts/bench_ddag.py --compile``,
docs/speed.md): its compile time is minutes on a loaded CPU and on small graphs it gains nothing
per call.
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch

from ..core.ddag import DDAG, AgentNode, DataNode, StackNode, _as_float_tensor
from ..errors import InvalidParameterError, ShapeMismatchError
from .joint import JointGraph, trace_joint

__all__ = ["BatchedPlan", "batched_plan", "batched_loss", "ddag_loss", "ddag_loss_and_grad", "require_engine", "ENGINES", "PLAN_TOLERANCE"]

PLAN_TOLERANCE = 1e-12  # relative agreement a stacked group must show against the reference at planning (float64)
_VERSION = operator.attrgetter("_version")
UNBIND_FROM = 16  # a stacked group whose members more single nodes read than this is unbound once per call


def _arg_key(arg: Any) -> Any:
    """A hashable key for one bound argument: by value when hashable and not a tensor, else by identity."""
    if isinstance(arg, torch.Tensor):
        return ("id", id(arg))
    try:
        hash(arg)
    except TypeError:
        return ("id", id(arg))
    return ("value", type(arg), arg)


def function_key(fn: Callable[..., Any] | None) -> Any:
    """A key under which two callables compute the same function (``partial`` by value, else identity)."""
    if fn is None:
        return None
    if isinstance(fn, functools.partial):
        return ("partial", function_key(fn.func), tuple(_arg_key(a) for a in fn.args),
                tuple(sorted((k, _arg_key(v)) for k, v in fn.keywords.items())))
    return ("id", id(fn))


@dataclass
class _Group:
    """Nodes evaluated together; ``stacked`` groups hold a ``(K, ...)`` value, singletons the node's value."""

    kind: str                 # "data", "agent" or "function"
    members: list[str]
    stacked: bool
    fn: Callable[..., torch.Tensor] | None = None
    gathers: list[Callable[[list[Any]], torch.Tensor]] | None = None
    call: Callable[..., torch.Tensor] | None = None


class BatchedPlan:
    """A level-by-level grouped evaluation of one D-DAG at one ``(B, dtype, device)``.

    Build it with :func:`batched_plan` (cached on the DDAG). :meth:`loss` returns the terminal
    loss ``(B,)``; it is differentiable with respect to ``X`` (autograd gives the incentives).
    ``n_groups``/``n_stacked`` say how many evaluation steps the plan takes and how many of them
    are stacked calls; ``fallbacks`` names groups that had to be split back into single nodes and why.
    """

    def __init__(self, ddag: DDAG, X: torch.Tensor, data: Mapping[str, Any]) -> None:
        self.ddag = ddag
        self.signature = (X.shape[0], X.dtype, X.device)
        self.fallbacks: list[tuple[list[str], str]] = []
        with torch.no_grad():
            reference = ddag.forward(X, data)
        self._shapes = {name: tuple(v.shape) for name, v in reference.items()}
        self._order = ddag.topological_order()
        self._groups: list[_Group] = []
        self._where: dict[str, tuple[int, int]] = {}  # node -> (group index, index in group)
        self._singly_used: dict[str, int] = {}  # stacked group (first member) -> members single nodes read
        partition = self._partition()
        self._count_single_reads(partition)
        for members in partition:
            self._add_group(members, X, reference)
        self._data_cache: dict[int, tuple[list[Any], list[int], torch.Tensor]] = {}
        self._defaults: dict[int, list[torch.Tensor]] = {}
        self._loss_where = self._where[ddag.loss_node]
        self._traced: Callable[..., torch.Tensor] | None = None
        self._joint: JointGraph | None = None
        self.trace_failure: str | None = None
        self.joint_failure: str | None = None
        self.n_traced_ops: int | None = None
        self.calls = 0

    # ------------------------------------------------------------------ planning
    def _partition(self) -> list[list[str]]:
        """Groups under two schedules, as soon as possible and as late as possible; the one with fewer.

        Nodes of one level never depend on each other, under either schedule. As-soon-as-possible
        levels (longest path from a source) suit wide graphs whose similar nodes sit at the same
        depth; as-late-as-possible levels (longest path to the loss) put, e.g., every facility's
        cost node of a deep supply chain in one level, since all of them feed one stack node.
        """
        nodes = self.ddag._nodes
        asap: dict[str, int] = {}
        for name in self._order:
            asap[name] = 1 + max((asap[i] for i in nodes[name].inputs), default=-1)
        to_loss: dict[str, int] = {name: 0 for name in self._order}
        for name in reversed(self._order):
            for i in nodes[name].inputs:
                to_loss[i] = max(to_loss[i], to_loss[name] + 1)
        depth = max(asap.values())
        alap = {name: depth - to_loss[name] for name in self._order}
        self._first_use: dict[str, tuple[str, int]] = {}
        for name in self._order:
            for j, i in enumerate(nodes[name].inputs):
                self._first_use.setdefault(i, (name, j))
        keys = {name: self._group_key(name) for name in self._order}
        position = {name: i for i, name in enumerate(self._order)}
        best = None
        for level in (asap, alap):
            buckets: dict[tuple, list[str]] = {}
            for name in self._order:
                buckets.setdefault((level[name],) + keys[name], []).append(name)
            groups = sorted(buckets.values(), key=lambda m, lv=level: (lv[m[0]], position[m[0]]))
            if best is None or len(groups) < len(best):
                best = groups
        return best

    def _group_key(self, name: str) -> tuple:
        node = self.ddag._nodes[name]
        ins = tuple(self._shapes[i] for i in node.inputs)
        if isinstance(node, DataNode):
            # data of one consumer group's input j form one group, in the consumer group's order
            consumer, j = self._first_use[name]
            return ("data", self._shapes[name], self._group_key(consumer), j)
        if isinstance(node, StackNode):
            return ("stack", name)
        if isinstance(node, AgentNode):
            return ("agent", node.n, function_key(node.output), ins, self._shapes[name])
        return ("function", function_key(node.fn), ins, self._shapes[name])

    def _count_single_reads(self, partition: list[list[str]]) -> None:
        """Count, per prospective stacked group, the distinct members that single nodes read.

        Indexing a member (``value[k]``) costs one autograd node per read, and one ``unbind`` costs
        one whose backward fills every member: select below :data:`UNBIND_FROM` reads, unbind above.
        Keyed by the group's first member.
        """
        index_of, read = {}, {}
        for members in partition:
            for name in members:
                index_of[name] = (members[0], len(members) > 1)
        for members in partition:
            if len(members) == 1:
                for i in self.ddag._nodes[members[0]].inputs:
                    g, stacked = index_of[i]
                    if stacked:
                        read.setdefault(g, set()).add(i)
        self._singly_used = {g: len(names) for g, names in read.items()}

    def _add_group(self, members: list[str], X: torch.Tensor, reference: dict[str, torch.Tensor]) -> None:
        node = self.ddag._nodes[members[0]]
        kind = ("data" if isinstance(node, DataNode) else "agent" if isinstance(node, AgentNode)
                else "stack" if isinstance(node, StackNode) else "function")
        if len(members) > 1 and kind != "data":
            group = self._stacked_group(kind, members, X)
            reason = self._check(group, X, reference)
            if reason is None:
                self._register(group)
                return
            self.fallbacks.append((members, reason))
            for name in members:
                self._add_group([name], X, reference)
            return
        if kind == "data":
            self._register(_Group(kind, members, stacked=len(members) > 1))
            return
        if isinstance(node, StackNode):
            self._register(self._stack_group(node))
            return
        gathers = [self._single_input(i) for i in node.inputs]
        if isinstance(node, AgentNode):
            a, b = node.offset, node.offset + node.n
            gathers.insert(0, lambda vals: vals[-1][:, a:b, :])
            call = node.output
        else:
            call = node.fn
        self._register(_Group(kind, members, stacked=False, fn=call, gathers=gathers, call=call))

    def _register(self, group: _Group) -> None:
        index = len(self._groups)
        self._groups.append(group)
        for k, name in enumerate(group.members):
            self._where[name] = (index, k)

    def _single_input(self, name: str) -> Callable[[list[Any]], torch.Tensor]:
        g, k = self._where[name]
        if not self._groups[g].stacked:
            return lambda vals: vals[g]
        if self._singly_used.get(self._groups[g].members[0], 0) > UNBIND_FROM:
            return lambda vals: _members(vals, g)[k]
        return lambda vals: _stacked(vals, g)[k]

    def _stacked_group(self, kind: str, members: list[str], X: torch.Tensor) -> _Group:
        nodes = [self.ddag._nodes[m] for m in members]
        n_inputs = len(nodes[0].inputs)
        gathers, in_dims = [], []
        for j in range(n_inputs):
            gather, shared = self._gather([n.inputs[j] for n in nodes])
            gathers.append(gather)
            in_dims.append(None if shared else 0)
        fn = nodes[0].fn if kind == "function" else nodes[0].output
        if kind == "agent":
            gathers.insert(0, self._agent_slices(nodes, X))
            in_dims.insert(0, 0)
        if kind == "agent" and fn is None:
            call = None
        else:
            call = torch.vmap(fn, in_dims=tuple(in_dims), out_dims=0)
        return _Group(kind, members, stacked=True, fn=fn, gathers=gathers, call=call)

    def _stack_group(self, node: StackNode) -> _Group:
        """A stack node: its inputs gathered as ``(K, ...)`` in one step, the new axis moved to ``dim``."""
        gather, shared = self._gather(list(node.inputs))
        K, dim = len(node.inputs), node.dim
        if shared:
            def call(value: torch.Tensor) -> torch.Tensor:
                return torch.stack([value] * K, dim)
        else:
            def call(value: torch.Tensor) -> torch.Tensor:
                return value.movedim(0, dim)
        return _Group("stack", [node.name], stacked=False, fn=call, gathers=[gather], call=call)

    @staticmethod
    def _agent_slices(nodes: list[AgentNode], X: torch.Tensor) -> Callable[[list[Any]], torch.Tensor]:
        """``(K, B, n, d)``: the members' slices of ``X`` in one indexing operation."""
        n, K = nodes[0].n, len(nodes)
        offsets = [a.offset for a in nodes]
        if offsets == list(range(offsets[0], offsets[0] + n * K, n)):
            a, b = offsets[0], offsets[0] + n * K
            return lambda vals: vals[-1][:, a:b, :].reshape(-1, K, n, vals[-1].shape[2]).movedim(1, 0)
        index = torch.tensor([o + i for o in offsets for i in range(n)], device=X.device)
        return lambda vals: vals[-1].index_select(1, index).reshape(-1, K, n, vals[-1].shape[2]).movedim(1, 0)

    def _gather(self, sources: list[str]) -> tuple[Callable[[list[Any]], torch.Tensor], bool]:
        """How to assemble one input of a stacked group from the groups that produced it."""
        if all(s == sources[0] for s in sources):
            return self._single_input(sources[0]), True
        where = [self._where[s] for s in sources]
        groups = sorted({g for g, _ in where})
        if len(groups) == 1 and self._groups[groups[0]].stacked:
            g = groups[0]
            idx = [k for _, k in where]
            size = len(self._groups[g].members)
            if idx == list(range(size)):
                return (lambda vals: _stacked(vals, g)), False
            if idx == list(range(idx[0], idx[0] + len(idx))):
                a, b = idx[0], idx[0] + len(idx)
                return (lambda vals: _stacked(vals, g)[a:b]), False
            index = torch.tensor(idx)
            return (lambda vals: _stacked(vals, g).index_select(0, index.to(_x_device(vals)))), False
        # several producing groups: concatenate what is needed from each, then permute
        pieces, position = [], {}
        for g in groups:
            ks = sorted({k for gg, k in where if gg == g})
            for k in ks:
                position[(g, k)] = len(position)
            if self._groups[g].stacked:
                index = torch.tensor(ks)
                pieces.append(lambda vals, g=g, index=index: _stacked(vals, g).index_select(0, index.to(_x_device(vals))))
            else:
                pieces.append(lambda vals, g=g: vals[g].unsqueeze(0))
        perm = torch.tensor([position[w] for w in where])
        return (lambda vals: torch.cat([p(vals) for p in pieces], 0).index_select(0, perm.to(_x_device(vals)))), False

    def _check(self, group: _Group, X: torch.Tensor, reference: dict[str, torch.Tensor]) -> str | None:
        """``None`` if the stacked group reproduces the reference values, else why not."""
        vals: list[Any] = []
        for g in self._groups:
            if g.stacked:
                vals.append(torch.stack([reference[m] for m in g.members]))
            else:
                vals.append(reference[g.members[0]])
        vals.append(X)
        try:
            with torch.no_grad():
                out = self._run(group, vals)
        except Exception as exc:  # vmap refuses data-dependent control flow, .item(), ...
            return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        want = torch.stack([reference[m] for m in group.members])
        if not isinstance(out, torch.Tensor) or out.shape != want.shape or out.dtype != want.dtype:
            return f"batched output {getattr(out, 'shape', type(out))} differs from the reference {tuple(want.shape)}"
        scale = want.abs().max().item() if want.numel() else 0.0
        err = (out - want).abs().max().item() if want.numel() else 0.0
        if not err <= _tolerance(want.dtype) * max(1.0, scale):
            return f"batched values differ from the reference by {err:.3g}"
        return None

    # ------------------------------------------------------------------ evaluation
    @staticmethod
    def _run(group: _Group, vals: list[Any]) -> torch.Tensor:
        args = [gather(vals) for gather in group.gathers]  # type: ignore[union-attr]
        if group.call is None:
            return args[0]
        return group.call(*args)

    @property
    def n_groups(self) -> int:
        """Evaluation steps of the plan (one per group)."""
        return len(self._groups)

    @property
    def n_stack_nodes(self) -> int:
        """How many stack nodes the plan gathers in one step."""
        return sum(g.kind == "stack" for g in self._groups)

    @property
    def n_stacked(self) -> int:
        """How many of the steps evaluate two or more nodes in one stacked call."""
        return sum(g.stacked and g.kind != "data" for g in self._groups)

    def _data_value(self, index: int, group: _Group, data: Mapping[str, Any], X: torch.Tensor) -> torch.Tensor:
        """A data group's value, restacked only when a member is another object or was modified in place."""
        defaults = self._defaults.get(index)
        if defaults is None:
            defaults = self._defaults[index] = [self.ddag._nodes[m].value for m in group.members]
        raw = list(map(data.get, group.members, defaults))
        try:
            versions = list(map(_VERSION, raw))
        except AttributeError:  # a plain number given as an override
            versions = [getattr(r, "_version", -1) for r in raw]
        cached = self._data_cache.get(index)
        # the same objects (identity, one C-level pass) at the same versions: the stacked value stands
        if cached is not None and cached[1] == versions and all(map(operator.is_, raw, cached[0])):
            return cached[2]
        values = [_as_float_tensor(r).to(dtype=X.dtype, device=X.device) for r in raw]
        for m, v in zip(group.members, values):
            if tuple(v.shape) != self._shapes[m]:
                raise _StalePlan(m)
        value = torch.stack(values) if group.stacked else values[0]
        self._data_cache[index] = (raw, versions, value)
        return value

    def data_values(self, data: Mapping[str, Any], X: torch.Tensor) -> list[torch.Tensor]:
        """The value of every data group (stacked, cached until a member changes), in plan order."""
        return [self._data_value(i, g, data, X) for i, g in enumerate(self._groups) if g.kind == "data"]

    def forward(self, X: torch.Tensor, *data_values: torch.Tensor) -> torch.Tensor:
        """The terminal loss from ``X`` and :meth:`data_values`: a function of tensors only (traceable)."""
        vals: list[Any] = []
        supplied = iter(data_values)
        for group in self._groups:
            if group.kind == "data":
                vals.append(next(supplied))
                continue
            vals.append(X)  # the last entry is X while this group runs
            try:
                value = self._run(group, vals)
            except (RuntimeError, IndexError, TypeError) as exc:
                raise ShapeMismatchError(f"nodes {group.members[:3]}{'...' if len(group.members) > 3 else ''} "
                                         f"failed in the batched engine: {exc}") from exc
            vals[-1] = value
        g, k = self._loss_where
        return _stacked(vals, g)[k] if self._groups[g].stacked else vals[g]

    def loss(self, X: torch.Tensor, data: Mapping[str, Any]) -> torch.Tensor:
        """The terminal loss at ``X`` (differentiable; ``data`` overrides data-node values)."""
        return self.forward(X, *self.data_values(data, X))

    def traced_loss(self, X: torch.Tensor, data: Mapping[str, Any]) -> torch.Tensor | None:
        """The loss through the plan traced once into one graph of ATen operations (``None`` if it
        could not be traced or disagreed with the reference; :attr:`trace_failure` says why)."""
        values = self.data_values(data, X)
        if self._traced is None and self.trace_failure is None:
            self._trace_forward(X, values)
        if self._traced is None:
            return None
        return self._traced(X, *values)

    def traced_incentives(self, X: torch.Tensor, data: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(loss, ∂Σloss/∂X)`` from one traced graph of the forward and the reverse pass
        (:mod:`mechanism.engines.joint`), run without autograd; ``None`` where the plan could not
        be traced that way or the graph disagreed (:attr:`joint_failure` says why)."""
        values = self.data_values(data, X)
        if self._joint is None and self.joint_failure is None:
            try:
                want = self._eager_loss_and_grad(X, values)
                self._joint = trace_joint(self.forward, X, values, want, _tolerance(want[0].dtype))
            except Exception as exc:  # noqa: BLE001 - the caller falls back to autograd
                self.joint_failure = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        if self._joint is None:
            return None
        return self._joint(X, *values)

    @property
    def joint_runner(self) -> str | None:
        """What runs the joint graph: ``"torchscript"``, ``"fx"`` or ``None`` (no joint graph)."""
        return None if self._joint is None else self._joint.runner

    def _eager_loss_and_grad(self, X: torch.Tensor, values: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The eager plan's loss and ``∂Σloss/∂X`` at ``X``: what a trace is checked against."""
        with torch.enable_grad():
            Xg = X.detach().requires_grad_(True)
            value = self.forward(Xg, *values)
            (grad,) = torch.autograd.grad(value.sum(), Xg)
        return value.detach(), grad

    def _trace_forward(self, X: torch.Tensor, values: list[torch.Tensor]) -> None:
        """Trace :meth:`forward` with ``make_fx`` (data as inputs, so changed data is seen) and check
        loss and gradient against the eager plan at ``X``."""
        try:
            from torch.fx.experimental.proxy_tensor import make_fx

            graph = make_fx(self.forward)(X.detach(), *values)
            want = self._eager_loss_and_grad(X, values)
            with torch.enable_grad():
                Xg = X.detach().requires_grad_(True)
                value = graph(Xg, *values)
                (grad,) = torch.autograd.grad(value.sum(), Xg)
            for a, b in zip((value.detach(), grad), want):
                if a.shape != b.shape or float((a - b).abs().max()) > _tolerance(b.dtype) * max(1.0, float(b.abs().max())):
                    raise RuntimeError("the traced graph disagrees with the eager plan")
        except Exception as exc:  # an operation make_fx cannot trace: the eager plan stays
            self.trace_failure = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            return
        self._traced = graph
        self.n_traced_ops = sum(n.op == "call_function" for n in graph.graph.nodes)


def _tolerance(dtype: torch.dtype) -> float:
    """Relative agreement required at planning: :data:`PLAN_TOLERANCE`, or 64 ulps in a coarser dtype."""
    return max(PLAN_TOLERANCE, 64 * torch.finfo(dtype).eps)


def _x_device(vals: list[Any]) -> torch.device:  # the device of X: the last entry while a group runs
    return vals[-1].device


def _members(vals: list[Any], g: int) -> tuple[torch.Tensor, ...]:
    """The members of stacked group ``g`` as views, from one ``unbind`` per evaluation.

    One ``unbind`` is one autograd node whose backward stacks the members' gradients; indexing
    each member (``value[k]``) would add one node per member, each scattering into a full-size
    zero tensor.
    """
    value = vals[g]
    if isinstance(value, _Unbound):
        return value.members
    unbound = _Unbound(value)
    vals[g] = unbound
    return unbound.members


class _Unbound:
    """A stacked group's value together with its members (``unbind`` of it), made on first use."""

    __slots__ = ("value", "members")

    def __init__(self, value: torch.Tensor) -> None:
        self.value, self.members = value, value.unbind(0)


def _stacked(vals: list[Any], g: int) -> torch.Tensor:
    value = vals[g]
    return value.value if isinstance(value, _Unbound) else value


class _StalePlan(Exception):
    """A data value changed shape: the plan must be rebuilt."""


TRACE_AFTER = 200  # engine="auto" traces a plan on its 201st call (see ddag_loss)
#: engine="auto" traces the incentives of a plan that groups nothing on its 2,001st call: such a plan
#: saves less per call (small graphs: 0.17-0.39 ms in results/speed/ddag_joint) for about the same trace cost
TRACE_UNGROUPED_AFTER = 2000
MAX_PLANS = 4  # plans kept per DDAG (one per batch size, dtype and device; the envs alternate B = 1 and B = N)


def batched_plan(ddag: DDAG, X: torch.Tensor, data: Mapping[str, Any]) -> BatchedPlan:
    """The cached :class:`BatchedPlan` of ``ddag`` for ``X``'s batch size, dtype and device."""
    ddag.validate()
    cache = ddag.__dict__.setdefault("_batched_plans", {})
    key = (ddag.structure_version, X.shape[0], X.dtype, X.device)
    plan = cache.pop(key, None)
    if plan is None:
        plan = BatchedPlan(ddag, X, data)
        while len(cache) >= MAX_PLANS:
            cache.pop(next(iter(cache)))
    cache[key] = plan  # most recently used last
    return plan


def batched_loss(ddag: DDAG, X: torch.Tensor, data: Mapping[str, Any] | None = None) -> torch.Tensor:
    """The loss of ``ddag`` at ``X`` through its batched plan (same checks as :meth:`DDAG.forward`)."""
    data = {} if data is None else data
    ddag.check_call(X, data)
    plan = batched_plan(ddag, X, data)
    try:
        loss = plan.loss(X, data)
    except _StalePlan:
        ddag.__dict__.pop("_batched_plans", None)
        loss = batched_plan(ddag, X, data).loss(X, data)
    ddag.check_loss_shape(loss, X)
    return loss


# ---------------------------------------------------------------------- engine selection
ENGINES = ("auto", "autograd", "batched", "traced")


def require_engine(engine: Any) -> str:
    """``engine`` if it names a D-DAG engine, else :class:`InvalidParameterError` naming it."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise InvalidParameterError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    return engine


def worthwhile(plan: BatchedPlan) -> bool:
    """Whether the plan evaluates anything in fewer steps than one call per node."""
    return plan.n_stacked > 0 or plan.n_stack_nodes > 0


def ddag_loss(ddag: DDAG, X: torch.Tensor, data: Mapping[str, Any] | None, engine: str) -> tuple[torch.Tensor, str]:
    """The loss of ``ddag`` at ``X`` under ``engine``, and the engine that computed it.

    * ``"autograd"``: :meth:`DDAG.loss`, one call per node (the reference);
    * ``"batched"``: the grouped plan of this module, run eagerly (``vmap`` per group);
    * ``"traced"``: the same plan traced once (``make_fx``) into one graph of ATen operations and
      replayed, without ``vmap``'s or the plan's Python per call; where tracing fails or the trace
      disagrees with the eager plan, ``"batched"`` runs instead (and is reported);
    * ``"auto"``: where the plan groups anything (a group of two or more nodes, or a stack node)
      ``"batched"`` for the plan's first :data:`TRACE_AFTER` calls and ``"traced"`` after them (a
      trace costs about a second for a few hundred nodes, and the first one in a process a few
      more: a long run repays it, a single call would not); where nothing groups, the reference,
      which then does the same work with less bookkeeping.
    """
    require_engine(engine)
    if engine == "autograd":
        return ddag.loss(X, data), "autograd"
    data = {} if data is None else data
    plan, trace = _decide(ddag, X, data, engine)
    if plan is None:
        return ddag.loss(X, data), "autograd"
    try:
        loss, used = _plan_loss(plan, X, data, trace)
    except _StalePlan:
        ddag.__dict__.pop("_batched_plans", None)
        return ddag_loss(ddag, X, data, engine)
    ddag.check_loss_shape(loss, X)
    return loss, used


def ddag_loss_and_grad(ddag: DDAG, X: torch.Tensor, data: Mapping[str, Any] | None,
                       engine: str) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The loss ``(B,)`` of ``ddag`` at ``X``, its gradient ``∂Σloss/∂X`` (both detached) and the
    engine that computed them, chosen as in :func:`ddag_loss`.

    Where the choice is ``"traced"``, one traced graph computes both (:mod:`mechanism.engines.joint`:
    the forward and the reverse pass as ATen operations, run by TorchScript on the CPU), and no
    autograd graph is recorded; where that graph is unavailable (:attr:`BatchedPlan.joint_failure`)
    and on every other engine, autograd runs through the loss. One difference from
    :func:`ddag_loss`: under ``"auto"`` a plan that groups nothing is traced too, from its
    :data:`TRACE_UNGROUPED_AFTER` + 1st call (small graphs: 2.1–2.7× faster per call, measured in
    ``results/speed/ddag_joint``), and keeps the reference where it cannot be.
    """
    require_engine(engine)
    data = {} if data is None else data
    plan, trace = (None, False) if engine == "autograd" else _decide(ddag, X, data, engine, incentives=True)
    try:
        joint = plan.traced_incentives(X, data) if plan is not None and trace else None
        if joint is not None:
            (loss, grad), used = joint, "traced"
            ddag.check_loss_shape(loss, X)
            return loss, grad, used
        if plan is not None and engine == "auto" and not worthwhile(plan):
            plan = None  # an ungrouped plan without a joint graph: the reference does the same work for less
        with torch.enable_grad():
            Xg = X.detach().requires_grad_(True)
            loss, used = (ddag.loss(Xg, data), "autograd") if plan is None else _plan_loss(plan, Xg, data, trace)
            ddag.check_loss_shape(loss, X)
            (grad,) = torch.autograd.grad(loss.sum(), Xg)
    except _StalePlan:
        ddag.__dict__.pop("_batched_plans", None)
        return ddag_loss_and_grad(ddag, X, data, engine)
    return loss.detach(), grad, used


def _decide(ddag: DDAG, X: torch.Tensor, data: Mapping[str, Any], engine: str,
            incentives: bool = False) -> tuple[BatchedPlan | None, bool]:
    """The plan ``engine`` runs (``None``: the reference) and whether traced; counts the plan's call.
    ``incentives``: the caller wants loss and gradient (an ungrouped plan may then be traced)."""
    ddag.check_call(X, data)
    plan = batched_plan(ddag, X, data)
    if engine == "auto" and not worthwhile(plan):
        if not incentives:
            return None, False
        plan.calls += 1
        return (plan, True) if plan.calls > TRACE_UNGROUPED_AFTER else (None, False)
    plan.calls += 1
    return plan, engine == "traced" or (engine == "auto" and plan.calls > TRACE_AFTER)


def _plan_loss(plan: BatchedPlan, X: torch.Tensor, data: Mapping[str, Any], trace: bool) -> tuple[torch.Tensor, str]:
    loss = plan.traced_loss(X, data) if trace else None
    if loss is None:
        return plan.loss(X, data), "batched"
    return loss, "traced"
