"""Honest reproduction of the MBI paper's Appendix C (C.1–C.18).

Each experiment ``cK(cfg) -> dict`` returns

    {"claim": {...}, "measured": {...}, "reference": {...},
     "verdict": {"numbers": ..., "claim": ..., "checks": [...]}, "explanation": ...,
     "figures": [png names], "_plots": {png name: plot spec}}

* ``claim``: what the paper reports (its Appendix C text is only Table 3, §8.4; per-experiment
  numbers come from the authors' notebook as documented in ``shared/spec/appendix-c.md``).
* ``measured``: our run (``loss`` = final global loss where there is one).
* ``reference``: closed form, exact solver or global optimizer (``loss`` = true optimal loss).
* ``verdict``: computed by :mod:`.verdicts` from the experiment's ``cK_checks(measured, reference)``
  (registered in :data:`CHECKS`); no verdict is written by hand.

Modules: :mod:`.config` (Config, helpers), :mod:`.verdicts`, one module per experiment group
(:mod:`.convergence` C.1–C.3, :mod:`.mechanism_design` C.4/C.14/C.17, :mod:`.landscape` C.5/C.10,
:mod:`.rl` C.6, :mod:`.stability` C.7–C.9, :mod:`.satisficing` C.11/C.12, :mod:`.tracking`
C.13/C.15/C.16, :mod:`.scaling` C.18) and :mod:`.runner`.
"""
from .config import Config
from .runner import CHECKS, EXPERIMENTS, key_number, run_all, run_metadata, sanitize
from .verdicts import CLAIMS, NUMBERS, verdict

__all__ = ["Config", "EXPERIMENTS", "CHECKS", "NUMBERS", "CLAIMS", "verdict", "run_all", "run_metadata",
           "sanitize", "key_number"]
