"""Labels for mechanism properties that say what was tested: proved, searched, or violated.

A property label (DSIC, BIC, ex-post IR, budget balance) is one of

* ``proved``: a closed form or an exact argument (:data:`PROOFS`; the argument and its
  preconditions are in the label, and ``docs/mechanism_design.md`` spells them out). The
  search still runs beside it as a check, and a search that contradicts a proof makes the
  label ``violated`` (the precondition failed, or the code is wrong);
* ``no_violation``: "no violation found in K profiles by search S", with the scope (agents,
  profile box, prior, N); absence of evidence, never called a proof;
* ``violated``: a witness (agent, profile, report) and the gain;
* ``untested``: nothing was run (e.g. BIC without a prior).

:func:`label_text` renders one label as a line, e.g. ``DSIC: violated (agent 0 of type 0.05,
others report (1, 1, 1, 1), reports 0.25: gain 3.17)``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["PropertyLabel", "PROOFS", "proof_for", "label_from_search", "label_text", "STATUSES"]

STATUSES = ("proved", "no_violation", "violated", "untested")

#: (rule name, property) → the exact argument that proves it, and its preconditions.
PROOFS: dict[tuple[str, str], str] = {
    ("vcg", "dsic"): "Groves' theorem: u_i = h_i(θ̂_{−i}) − L(x*(θ̂); θ_i, θ̂_{−i}) and x*(θ_i, θ̂_{−i}) minimises "
                     "L(·; θ_i, θ̂_{−i}), so truth is a best response to every profile (exact allocation)",
    ("groves_h0", "dsic"): "Groves' theorem with h_i = 0 (as vcg; exact allocation)",
    ("vcg", "bic"): "DSIC implies BIC under every prior",
    ("groves_h0", "bic"): "DSIC implies BIC under every prior",
    ("vcg", "ir"): "Clarke pivot: u_i = min_{X: x_i = a₀}[L − C_i(a₀)] − min_X L ≥ 0 when C_i(a₀) = 0 and a₀ is "
                   "feasible (checked for this game)",
    ("none", "budget_balanced"): "t_i ≡ 0",
    ("agv", "budget_balanced"): "Σ_i t_i = Σ_i ξ_i − (1/(N−1)) Σ_i Σ_{j≠i} ξ_j = 0 for every report profile",
    ("agv", "bic"): "AGV's theorem: with others truthful, E[t_i] = ξ_i(θ̂_i) − const and ξ_i(θ̂_i) − C_i is the "
                    "expected negative social cost, minimised in expectation at the truth (exact when ξ is an "
                    "exact expectation over an enumerated prior)",
}


@dataclass
class PropertyLabel:
    """One property's label: ``status`` (:data:`STATUSES`), the ``property`` name, the ``scope``
    (agents, profiles, prior, N), ``search`` (what was searched) and ``k`` (how many profiles or
    types), the ``worst`` value found (largest gain / deficit, smallest utility), the ``tolerance``,
    a ``witness`` when violated and the ``proof`` when proved."""

    property: str
    status: str
    scope: str = ""
    search: str = ""
    k: int = 0
    worst: float | None = None
    tolerance: float = 0.0
    witness: dict[str, Any] | None = None
    proof: str | None = None
    notes: list[str] = field(default_factory=list)
    unit: str = "profiles"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def holds(self) -> bool | None:
        """``True`` when proved or no violation found, ``False`` when violated, ``None`` untested."""
        return None if self.status == "untested" else self.status != "violated"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "holds": self.holds, "text": label_text(self)}


def proof_for(rule: str, prop: str) -> str | None:
    """The exact argument for ``(rule, prop)`` if :data:`PROOFS` has one."""
    return PROOFS.get((rule, prop))


def label_from_search(prop: str, worst: float, tolerance: float, *, k: int, search: str, scope: str,
                      witness: dict[str, Any] | None = None, proof: str | None = None,
                      notes: list[str] | None = None, unit: str = "profiles") -> PropertyLabel:
    """``violated`` when the search's ``worst`` violation exceeds ``tolerance`` (whatever a proof
    says: then a precondition failed), else ``proved`` when ``proof`` is given, else ``no_violation``."""
    if worst > tolerance:
        status = "violated"
        notes = list(notes or []) + ([f"contradicts the proof: {proof}"] if proof else [])
        proof = None
    else:
        status = "proved" if proof else "no_violation"
    return PropertyLabel(prop, status, scope, search, int(k), float(worst), float(tolerance),
                         witness if status == "violated" else None, proof, list(notes or []), unit)


_NAMES = {"dsic": "DSIC", "bic": "BIC", "ir": "ex-post IR", "budget_balanced": "budget balanced"}


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(_num(x) for x in v) + ")"
    return str(v)


def label_text(label: PropertyLabel) -> str:
    """One line: ``DSIC: proved (…)``, ``BIC: no violation in 4 types × 10000 draws (…)``,
    ``ex-post IR: violated (agent 2 …)``, ``budget balanced: untested``."""
    name = _NAMES.get(label.property, label.property)
    if label.status == "untested":
        return f"{name}: untested" + (f" ({'; '.join(label.notes)})" if label.notes else "")
    if label.status == "proved":
        return f"{name}: proved ({label.proof}); search check: worst {_num(label.worst)} in {label.k} {label.unit}"
    if label.status == "no_violation":
        return f"{name}: no violation in {label.k} {label.unit} (worst {_num(label.worst)} ≤ {label.tolerance:g}; " \
               f"{label.search}; scope: {label.scope})"
    w = ", ".join(f"{key} {_num(v)}" for key, v in (label.witness or {}).items())
    return f"{name}: violated ({w})"
