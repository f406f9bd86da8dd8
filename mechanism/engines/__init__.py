"""Engines that run the Planner loop faster than the reference loop of :mod:`mechanism.core.planner`,
computing the same iterates: :mod:`.fused` (closed-form incentives, one compiled call per
``check_every`` iterations) and :mod:`.distributed` (agents sharded over torch.distributed ranks)."""
