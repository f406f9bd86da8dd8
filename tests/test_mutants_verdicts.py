"""experiments.appendix_c.verdicts: the exact contract of every check builder (mutation survivors).

A check is the record a reader sees in the report, so its fields are part of the contract: the
tests pin each field and each boundary (inclusive tolerances, non-finite values failing).
"""
from __future__ import annotations

import math

import pytest

from experiments.appendix_c.verdicts import (CLAIMS, NUMBERS, at_least, at_most, claim_check, entry,
                                             matches_printed, verdict, within)

KEYS = {"axis", "what", "ours", "paper", "tolerance", "passed"}


def test_matches_printed_record_and_boundary():
    c = matches_printed("the shift", 1.0849, "1.08")
    assert set(c) == KEYS
    assert c == {"axis": "numbers", "what": "the shift", "ours": 1.0849, "paper": 1.08,
                 "tolerance": "±0.005 (half a unit of the printed digit)", "passed": True}
    assert type(c["passed"]) is bool
    # exactly half a unit away passes (inclusive, with a 1e-12 relative allowance for the float)
    assert matches_printed("x", 1.085, "1.08")["passed"] and matches_printed("x", 1.075, "1.08")["passed"]
    assert matches_printed("x", 1.5, "1")["passed"] and not matches_printed("x", 1.5 + 1e-9, "1")["passed"]
    assert matches_printed("x", 0.5, "1")["passed"]
    edge = 1.0 - 0.5 * (1 + 1e-12)                   # |edge − 1| equals the allowance exactly (Sterbenz)
    assert matches_printed("x", edge, "1")["passed"] and not matches_printed("x", edge - 1e-15, "1")["passed"]
    assert matches_printed("x", 89.65, "89.6")["tolerance"].startswith("±0.05 ")
    assert matches_printed("x", 1200.0, "1.2e3")["passed"] and not matches_printed("x", 1251.0, "1.2e3")["passed"]
    for bad in (math.inf, -math.inf, math.nan, None):
        assert matches_printed("x", bad, "1")["passed"] is False


def test_within_record_and_boundary():
    c = within("gap", 1.2, 1.0, rtol=0.1, atol=0.1)
    assert c == {"axis": "numbers", "what": "gap", "ours": 1.2, "paper": 1.0,
                 "tolerance": "atol 0.1, rtol 0.1", "passed": True}           # |0.2| ≤ 0.1 + 0.1·1 (inclusive)
    assert type(c["passed"]) is bool
    assert within("x", 0.25, 0.0, atol=0.25)["passed"]                       # equality passes
    assert not within("x", 0.2500001, 0.0, atol=0.25)["passed"]
    assert within("x", -3.0, -2.0, rtol=0.5)["passed"]                       # rtol scales with |paper|
    assert not within("x", -3.0, -2.0, rtol=0.49)["passed"]
    assert not within("x", 1.0 + 1e-12, 1.0)["passed"] and within("x", 1.0, 1.0)["passed"]   # default tol 0
    assert within("x", 1.0, 1.0, axis="claim")["axis"] == "claim"
    assert within("x", 1.0, 1.0)["tolerance"] == "atol 0, rtol 0"
    for bad in (math.inf, math.nan, None):
        assert within("x", bad, 1.0, atol=1e300)["passed"] is False


def test_claim_check_record():
    c = claim_check("sign", -0.5, "< 0: less", True)
    assert c == {"axis": "claim", "what": "sign", "ours": -0.5, "paper": "< 0: less", "tolerance": "exact",
                 "passed": True}
    c = claim_check("sign", 2, "p", 0, tolerance="1e-9")
    assert c["passed"] is False and c["tolerance"] == "1e-9"
    assert claim_check("s", 1, "p", 1)["passed"] is True


@pytest.mark.parametrize("fn, op, sym", [(at_most, float.__le__, "≤"), (at_least, float.__ge__, "≥")])
def test_at_most_at_least_record_and_boundary(fn, op, sym):
    c = fn("regret", 0.5, 0.5, "no gain")
    assert c == {"axis": "claim", "what": "regret", "ours": 0.5, "paper": "no gain", "tolerance": f"{sym} 0.5",
                 "passed": True}                                              # the bound itself passes
    assert type(c["passed"]) is bool
    assert fn("r", 1e-9, 1e-9, "p")["tolerance"] == f"{sym} 1e-09"
    for v in (0.4, 0.6):
        assert fn("r", v, 0.5, "p")["passed"] is op(v, 0.5)
    assert fn("r", 0.5, 0.5, "p", axis="numbers")["axis"] == "numbers"
    for bad in (math.inf, -math.inf, math.nan, None):
        assert fn("r", bad, 0.5, "p")["passed"] is False


def test_verdict_every_combination():
    n_ok, n_bad = within("n", 1.0, 1.0), within("n", 2.0, 1.0)
    c_ok, c_bad = claim_check("c", 0, "p", True), claim_check("c", 0, "p", False)
    table = [((), ("not_computed_by_paper", "untested")),
             ((n_ok,), ("reproduced", "untested")), ((n_bad,), ("differs", "untested")),
             ((c_ok,), ("not_computed_by_paper", "holds")), ((c_bad,), ("not_computed_by_paper", "false")),
             ((n_ok, c_ok), ("reproduced", "holds")), ((n_bad, c_ok), ("differs", "holds")),
             ((n_ok, c_bad), ("reproduced", "false")), ((n_ok, n_bad, c_ok, c_bad), ("differs", "false")),
             ((c_ok, c_ok, c_bad), ("not_computed_by_paper", "false"))]
    for checks, (num, claim) in table:
        v = verdict(iter(checks))                                            # any iterable
        assert (v["numbers"], v["claim"]) == (num, claim), checks
        assert v["checks"] == list(checks) and set(v) == {"numbers", "claim", "checks"}
        assert v["numbers"] in NUMBERS and v["claim"] in CLAIMS
    with pytest.raises(ValueError, match=r"check axis must be 'numbers' or 'claim', got 'vibes' in 'w'"):
        verdict([n_ok, {**c_ok, "axis": "vibes", "what": "w"}])


def test_entry_record():
    checks = [within("n", 1.0, 1.0), claim_check("c", 0, "p", False)]
    plots = {"a.png": {"kind": "bar"}, "b.png": {"kind": "line"}}
    e = entry({"text": "claim"}, {"m": 1}, {"r": 2}, checks, "one line", plots)
    assert e == {"claim": {"text": "claim"}, "measured": {"m": 1}, "reference": {"r": 2},
                 "verdict": verdict(checks), "explanation": "one line", "figures": ["a.png", "b.png"],
                 "_plots": plots}
    e = entry({}, {}, {}, [], "x")
    assert e["figures"] == [] and e["_plots"] == {} and e["verdict"]["claim"] == "untested"
