"""Two-axis verdicts, computed from checks.

Every Appendix C entry carries ``verdict = {"numbers": ..., "claim": ..., "checks": [...]}``:

* ``numbers`` ∈ ``reproduced | differs | not_computed_by_paper``: our rerun of the paper's own
  setup against the number the paper printed. ``reproduced`` when every ``numbers`` check
  passes, ``differs`` when one fails, ``not_computed_by_paper`` when the paper printed no number
  its own code computed (nothing to compare).
* ``claim`` ∈ ``holds | false | untested``: the paper's statement tested through a computed
  property (an eigenvalue sign, a misreport gain, a correlation, a global-minimum rank, ...).
  ``holds`` when every ``claim`` check passes, ``false`` when one fails, ``untested`` when no
  property was computed.

A check is a dict ``{"axis", "what", "ours", "paper", "tolerance", "passed"}``: ``paper`` is the
paper's number (numbers axis) or the property the claim implies (claim axis). The default
tolerance for a printed number is half a unit of its last printed digit (``1.08`` matches
[1.075, 1.085]): the paper's own precision, stated in every check.
"""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Iterable

__all__ = ["NUMBERS", "CLAIMS", "matches_printed", "within", "claim_check", "at_most", "at_least",
           "verdict"]

NUMBERS = ("reproduced", "differs", "not_computed_by_paper")
CLAIMS = ("holds", "false", "untested")


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def matches_printed(what: str, ours: float | None, printed: str) -> dict[str, Any]:
    """Numbers axis: does ``ours`` equal the paper's number ``printed`` (a string, as printed) to
    within half a unit of its last printed digit? ``"1.08"`` → tolerance 0.005."""
    exponent = Decimal(printed).as_tuple().exponent
    tol = 0.5 * 10.0 ** int(exponent)
    paper = float(printed)
    passed = _finite(ours) and abs(ours - paper) <= tol * (1 + 1e-12)
    return {"axis": "numbers", "what": what, "ours": ours, "paper": paper,
            "tolerance": f"±{tol:g} (half a unit of the printed digit)", "passed": bool(passed)}


def within(what: str, ours: float | None, paper: float, *, rtol: float = 0.0, atol: float = 0.0,
           axis: str = "numbers") -> dict[str, Any]:
    """``|ours − paper| ≤ atol + rtol·|paper|`` (a stated tolerance, not the printed precision)."""
    tol = atol + rtol * abs(paper)
    passed = _finite(ours) and abs(ours - paper) <= tol
    return {"axis": axis, "what": what, "ours": ours, "paper": paper,
            "tolerance": f"atol {atol:g}, rtol {rtol:g}", "passed": bool(passed)}


def claim_check(what: str, ours: Any, prop: str, passed: bool, tolerance: str = "exact") -> dict[str, Any]:
    """Claim axis: ``ours`` (a computed value) against the property ``prop`` the claim implies."""
    return {"axis": "claim", "what": what, "ours": ours, "paper": prop, "tolerance": tolerance,
            "passed": bool(passed)}


def at_most(what: str, ours: float | None, bound: float, prop: str, axis: str = "claim") -> dict[str, Any]:
    """Check ``ours ≤ bound`` (a non-finite ``ours`` fails)."""
    return {"axis": axis, "what": what, "ours": ours, "paper": prop, "tolerance": f"≤ {bound:g}",
            "passed": bool(_finite(ours) and ours <= bound)}


def at_least(what: str, ours: float | None, bound: float, prop: str, axis: str = "claim") -> dict[str, Any]:
    """Check ``ours ≥ bound`` (a non-finite ``ours`` fails)."""
    return {"axis": axis, "what": what, "ours": ours, "paper": prop, "tolerance": f"≥ {bound:g}",
            "passed": bool(_finite(ours) and ours >= bound)}


def verdict(checks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Combine checks into ``{"numbers", "claim", "checks"}`` (rules in the module docstring)."""
    checks = list(checks)
    for c in checks:
        if c["axis"] not in ("numbers", "claim"):
            raise ValueError(f"check axis must be 'numbers' or 'claim', got {c['axis']!r} in {c['what']!r}")
    nums = [c["passed"] for c in checks if c["axis"] == "numbers"]
    claims = [c["passed"] for c in checks if c["axis"] == "claim"]
    numbers = "not_computed_by_paper" if not nums else "reproduced" if all(nums) else "differs"
    claim = "untested" if not claims else "holds" if all(claims) else "false"
    return {"numbers": numbers, "claim": claim, "checks": checks}


def entry(claim: dict, measured: dict, reference: dict, checks: list[dict], explanation: str,
          plots: dict | None = None) -> dict[str, Any]:
    """One Appendix C entry: the paper's claim, our measurement, the reference, the computed
    two-axis verdict and a one-line explanation; ``_plots`` (plot specs) are never written to JSON."""
    plots = plots or {}
    return {"claim": claim, "measured": measured, "reference": reference, "verdict": verdict(checks),
            "explanation": explanation, "figures": list(plots), "_plots": plots}


__all__.append("entry")
