"""Two-axis verdicts, computed from checks.

Every Appendix C entry carries ``verdict = {"numbers": ..., "claim": ..., "checks": [...]}``:

* ``numbers`` ∈ ``reproduced | differs | not_computed_by_paper``: our rerun of the paper's own
  setup against the number the paper printed. ``reproduced`` when every ``numbers`` check
  passes, ``differs`` when one fails, ``not_computed_by_paper`` when the paper printed no number
  its own code computed (nothing to compare).
* ``claim`` ∈ ``holds | holds_in_part | false | untested``: the paper's statement tested through a
  computed property (an eigenvalue sign, a misreport gain, a correlation, a global-minimum rank, ...).
  ``holds`` when every ``claim`` check passes (and every declared part was tested), ``false`` when
  one fails, ``untested`` when no property was computed.

**Claims with parts.** A claim such as "O(N), feasible up to 1e10 agents" is checked part by part:
a claim check may name its ``part`` (``at_most(..., part="O(N) up to N = 1e6")``), and a part no
check can test is declared with :func:`untested` (``passed`` is ``None``, with the reason). Each
part is ``holds`` (all its checks pass), ``false`` (one fails) or ``untested`` (only the marker).
The claim is ``false`` if a tested part is false, ``holds`` if every part was tested and holds,
``holds_in_part`` if every *tested* part holds but some part is untested, and ``untested`` if no
part was tested. The verdict lists the parts (``verdict["parts"]``) so the report says which part
was judged and which was not. Checks without a ``part`` belong to the implicit part ``"claim"``.

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
           "untested", "claim_parts", "verdict"]

NUMBERS = ("reproduced", "differs", "not_computed_by_paper")
CLAIMS = ("holds", "holds_in_part", "false", "untested")


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


def _with_part(check: dict[str, Any], part: str | None) -> dict[str, Any]:
    if part is not None:
        check["part"] = part
    return check


def claim_check(what: str, ours: Any, prop: str, passed: bool, tolerance: str = "exact",
                part: str | None = None) -> dict[str, Any]:
    """Claim axis: ``ours`` (a computed value) against the property ``prop`` the claim implies
    (``part``: which part of a claim with parts it tests)."""
    return _with_part({"axis": "claim", "what": what, "ours": ours, "paper": prop, "tolerance": tolerance,
                       "passed": bool(passed)}, part)


def at_most(what: str, ours: float | None, bound: float, prop: str, axis: str = "claim",
            part: str | None = None) -> dict[str, Any]:
    """Check ``ours ≤ bound`` (a non-finite ``ours`` fails)."""
    return _with_part({"axis": axis, "what": what, "ours": ours, "paper": prop, "tolerance": f"≤ {bound:g}",
                       "passed": bool(_finite(ours) and ours <= bound)}, part)


def at_least(what: str, ours: float | None, bound: float, prop: str, axis: str = "claim",
             part: str | None = None) -> dict[str, Any]:
    """Check ``ours ≥ bound`` (a non-finite ``ours`` fails)."""
    return _with_part({"axis": axis, "what": what, "ours": ours, "paper": prop, "tolerance": f"≥ {bound:g}",
                       "passed": bool(_finite(ours) and ours >= bound)}, part)


def untested(what: str, part: str, statement: str, because: str) -> dict[str, Any]:
    """A claim part that no check tests (``passed`` is ``None``): the report shows it as untested,
    with the reason, and the claim can then be at most ``holds_in_part``."""
    return {"axis": "claim", "what": what, "ours": None, "paper": statement, "tolerance": "—", "passed": None,
            "part": part, "untested_because": because}


def claim_parts(checks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each claim part's status, in the order the checks name them: ``holds`` (every check of the
    part passed), ``false`` (one failed) or ``untested`` (only :func:`untested` markers). Checks
    without a ``part`` belong to the part ``"claim"``."""
    order: list[str] = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in checks:
        if c["axis"] != "claim":
            continue
        name = c.get("part", "claim")
        if name not in groups:
            order.append(name)
            groups[name] = []
        groups[name].append(c)
    out = []
    for name in order:
        tested = [c["passed"] for c in groups[name] if c["passed"] is not None]
        status = "untested" if not tested else "holds" if all(tested) else "false"
        why = [c["untested_because"] for c in groups[name] if c["passed"] is None]
        out.append({"part": name, "status": status, "checks": len(tested),
                    **({"untested_because": "; ".join(why)} if why else {})})
    return out


def verdict(checks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Combine checks into ``{"numbers", "claim", "checks"}``, plus ``"parts"`` (each claim part's
    status) when a claim check names a part (rules in the module docstring)."""
    checks = list(checks)
    for c in checks:
        if c["axis"] not in ("numbers", "claim"):
            raise ValueError(f"check axis must be 'numbers' or 'claim', got {c['axis']!r} in {c['what']!r}")
        if c["passed"] is None and not (c["axis"] == "claim" and c.get("part") and c.get("untested_because")):
            raise ValueError(f"only an untested claim part (with 'part' and 'untested_because') may have "
                             f"passed=None, got {c['what']!r}")
    nums = [c["passed"] for c in checks if c["axis"] == "numbers"]
    numbers = "not_computed_by_paper" if not nums else "reproduced" if all(nums) else "differs"
    parts = claim_parts(checks)
    status = [p["status"] for p in parts]
    if not status or all(s == "untested" for s in status):
        claim = "untested"
    elif "false" in status:
        claim = "false"
    elif "untested" in status:
        claim = "holds_in_part"
    else:
        claim = "holds"
    out = {"numbers": numbers, "claim": claim, "checks": checks}
    if any("part" in c for c in checks if c["axis"] == "claim"):
        out["parts"] = parts
    return out


def entry(claim: dict, measured: dict, reference: dict, checks: list[dict], explanation: str,
          plots: dict | None = None) -> dict[str, Any]:
    """One Appendix C entry: the paper's claim, our measurement, the reference, the computed
    two-axis verdict and a one-line explanation; ``_plots`` (plot specs) are never written to JSON."""
    plots = plots or {}
    return {"claim": claim, "measured": measured, "reference": reference, "verdict": verdict(checks),
            "explanation": explanation, "figures": list(plots), "_plots": plots}


__all__.append("entry")
