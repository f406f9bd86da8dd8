"""Engines that compute the same iterates or incentives faster than the reference paths of
:mod:`mechanism.core`: :mod:`.fused` (closed-form incentives of the aggregative family, one compiled
call per ``check_every`` iterations or per whole planner loop), :mod:`.distributed` (agents sharded
over torch.distributed ranks) and :mod:`.batched` (any D-DAG: nodes of the same function and shapes
evaluated as one batched call, optionally traced into one graph; ``Problem(engine=...)``)."""
