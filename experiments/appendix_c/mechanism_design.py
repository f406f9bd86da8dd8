"""C.4 (VCG equivalence), C.14 (hidden cost), C.17 (Bayesian MBI): the mechanism-design claims.

The incentive-compatibility claims (C.4's "VCG-equivalent", C.17's "guarantees BIC") are decided
by the IC audit of :mod:`mechanism.design.ic_audit` (every payment rule; ex-post regret by grid, Brent
and L-BFGS-B search; interim regret under C.17's explicit prior): :func:`ic_audit` runs it at the
budget of the reproduction's mode and :func:`ic_claim_checks` turns its claim axis into checks.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from mechanism import GradientAgents, aggregative_problem
from mechanism.design.ic_audit import AuditConfig, audit_c4, audit_c17
from mechanism.design import dpm_prices, vcg_payments

from .config import C4_LAM, C4_Y, SPEC, TABLE3, Config, run_gd, vector
from .verdicts import at_most, claim_check, entry, matches_printed, within

__all__ = ["c17_plot", "IC_TOLERANCE", "ic_audit", "ic_claim_checks", "c4", "c4_checks", "c14", "c14_checks",
           "c17", "c17_checks"]

#: an agent "gains" from misreporting only above this (the allocation is solved to ~1e-12)
IC_TOLERANCE = 1e-9
C14_TRUE = (0.3, 0.5, 0.2, 0.4, 0.6)
C17_PRIOR = {"support": [0.1, 0.3], "probabilities": [0.5, 0.5]}  # E[λ1] = 0.2


def _audit_config(cfg: Config) -> AuditConfig:
    return {"tiny": AuditConfig.tiny, "full": AuditConfig.full}.get(cfg.mode, AuditConfig.quick)(seed=cfg.seed)


def ic_audit(which: str, cfg: Config) -> dict[str, Any]:
    """The IC audit of C.4 (``which="c4"``) or C.17 (``"c17"``) at the mode's search budget.

    Returns the audit's claim axis plus, per payment rule, the max ex-post (at the truth and over
    profiles) and interim regret, budget surplus, efficiency loss and the four property labels
    (:mod:`mechanism.design.ic_labels`; the full audit is ``scripts/ic_audit.py``)."""
    result = (audit_c4 if which == "c4" else audit_c17)(_audit_config(cfg), tolerance=IC_TOLERANCE)
    keep = ("max_regret", "max_regret_over_profiles", "mean_regret", "max_interim_regret", "budget_surplus",
            "efficiency_loss")
    rules = {name: {**{k: rule.get(k) for k in keep if k in rule}, "labels": rule["verdict"]["text"]}
             for name, rule in result["rules"].items()}
    return {"method": "mechanism.design.ic_audit." + ("audit_c4" if which == "c4" else "audit_c17"),
            "claim_axis": result["claim_axis"], "rules": rules}


def _label_check(what: str, text: str, status: str, prop: str) -> dict:
    """A claim check passed unless the property's label is ``violated`` (tolerance in the label)."""
    return claim_check(what, text, prop, status != "violated", tolerance=f"label ≠ violated (regret ≤ {IC_TOLERANCE:g})")


def ic_claim_checks(audit: dict[str, Any], which: str) -> list[dict]:
    """Claim checks from an IC audit's claim axis: the label of the rule the paper describes
    (C.4: DSIC of the DPM price over all profiles; C.17: BIC of Bayesian MBI for every agent whose
    report it reads), tolerance ``IC_TOLERANCE`` on regrets."""
    ax = audit["claim_axis"]
    if which == "c4":
        return [_label_check("DSIC of the DPM's own payment p_i·x_i (every agent, type and report profile)",
                             ax["dpm_dsic"], ax["dpm_dsic_status"], "truthful reporting is a dominant strategy"),
                at_most("max |DPM transfer − VCG transfer| at C.4's types", ax["dpm_vs_vcg_max_transfer_gap"],
                        1e-6, "VCG-equivalent payments")]
    return [_label_check("BIC of Bayesian MBI (allocation at E[λ1]; agents 1–4's reports are still used)",
                         ax["bayes_dpm_bic"], ax["bayes_dpm_bic_status"], "Bayesian incentive compatible"),
            at_most("max interim regret of the DPM price on reported λ1 (under the prior)",
                    ax["dpm_on_reports_max_interim_regret"], IC_TOLERANCE, "BIC when reports are used")]


# ---------------------------------------------------------------------------- C.4
def c4_checks(m: dict, r: dict) -> list[dict]:
    """Numbers: the paper's own comparison, GD allocation = closed-form minimiser (≤ 1e-6).
    Claim: MBI with VCG payments is incentive compatible (:func:`ic_claim_checks`)."""
    return [within("max |x_GD − x_VCG|", m["max_abs_diff_gd_vs_vcg_allocation"], 0.0, atol=1e-6),
            *ic_claim_checks(m["ic_audit"], "c4")]


def c4(cfg: Config) -> dict:
    p = aggregative_problem(5, C4_Y, C4_LAM)
    r = run_gd(p, GradientAgents(1e-3), torch.ones(5, dtype=torch.float64), cfg.iters_long, cfg)
    vcg = vcg_payments(p)
    alloc_diff = float((r.X[0] - vcg.x).abs().max())
    prices = dpm_prices(p, vcg.x).reshape(-1)
    audit = ic_audit("c4", cfg)
    xs = vcg.x.reshape(-1).numpy()
    measured = {"loss": float(r.loss[0]), "x_gd": vector(r.X), "iterations": r.iterations, "status": r.status,
                "max_abs_diff_gd_vs_vcg_allocation": alloc_diff, "vcg_transfers": vcg.transfers.tolist(),
                "vcg_true_utilities": vcg.true_utilities.tolist(), "dpm_price": prices.tolist(),
                "dpm_linear_payment": (prices * xs).tolist(), "ic_audit": audit,
                "dpm_price_max_ex_post_regret": audit["claim_axis"]["dpm_max_regret"],
                "vcg_max_ex_post_regret": audit["claim_axis"]["vcg_max_regret"]}
    reference = {"loss": vcg.social_cost, "x_star": xs.tolist(), "vcg_null_action": 0.0}
    return entry(
        {"source": SPEC + "; " + TABLE3, "text": "MBI is formally VCG-equivalent: the GD result equals the VCG allocation",
         "iterations": 100_000, "payments_computed": False},
        measured, reference, c4_checks(measured, reference),
        f"The paper's 'VCG' side is the closed-form minimiser (equal by construction) and it computes no payments. "
        f"GD allocation matches VCG's to {alloc_diff:.1e}, but the DPM's own payment p_i·x_i is not VCG's "
        f"(max transfer gap {audit['claim_axis']['dpm_vs_vcg_max_transfer_gap']:.3g}): under it an agent gains up to "
        f"{audit['claim_axis']['dpm_max_regret']:.3g} by misreporting λ_i at C.4's types with the others truthful, and "
        f"{audit['claim_axis']['dpm_max_regret_over_profiles']:.3g} over all report profiles (VCG: "
        f"{audit['claim_axis']['vcg_dsic'].split(';')[0]}). IC audit: mechanism.design.ic_audit, docs/mechanism_design.md.")


# ---------------------------------------------------------------------------- C.14 / C.17
def _belief_problem(belief_lam1: float, true_lam1: float):
    lam, true = list(C4_LAM), list(C14_TRUE)
    lam[0], true[0] = belief_lam1, true_lam1
    return aggregative_problem(5, C4_Y, lam, true_lam=true)


@functools.lru_cache(maxsize=8)
def hidden_cost(belief_lam1: float, true_lam1: float, iters: int, early: bool) -> dict[str, float]:
    """GD under the planner's belief, scored with the truth (shared by C.14 and C.17).

    ``penalty`` = L_true(x_belief) − L*_true: the true loss of the allocation the Planner steers to,
    minus the true optimum. ``optimum_shift`` = L*_true − L*_belief: the optimum under the true
    costs minus the optimum the Planner believes it reaches (the paper's C.14 number)."""
    p = _belief_problem(belief_lam1, true_lam1)
    r = run_gd(p, GradientAgents(1e-3), torch.ones(5, dtype=torch.float64), iters,
               Config(iters_long=iters, early_stop=early))
    true_loss = float(p.loss(r.X, "true")[0])
    closed = float(p.loss(p.optimum("belief").x.unsqueeze(0), "true")[0])
    ideal, believed = p.optimum("true").loss, p.optimum("belief").loss
    return {"true_loss": true_loss, "true_loss_closed_form": closed, "ideal_loss": ideal,
            "believed_optimal_loss": believed, "optimum_shift": ideal - believed,
            "penalty": true_loss - ideal, "penalty_closed_form": closed - ideal, "iterations": r.iterations,
            "x1": vector(r.X)[0], "x1_true_optimum": vector(p.optimum("true").x)[0]}


def c14_checks(m: dict, r: dict) -> list[dict]:
    """Numbers: the paper's 1.08 is L*_true − L*_belief (printed precision). Claim: agent 1
    'contributes less' than is efficient: x1 under the belief < x1* under the truth."""
    return [matches_printed("L*_true − L*_belief (optimum under true costs − optimum the Planner believes in)",
                            m["optimum_shift"], "1.08"),
            claim_check("x1 under the belief − x1* under the true costs", m["x1"] - m["x1_true_optimum"],
                        "< 0: agent 1 contributes less", m["x1"] < m["x1_true_optimum"])]


def c14(cfg: Config) -> dict:
    h = hidden_cost(0.1, 0.3, cfg.iters_long, cfg.early_stop)
    measured = {"loss": h["true_loss"], "optimum_shift": h["optimum_shift"], "penalty": h["penalty"],
                "penalty_percent": 100 * h["penalty"] / h["ideal_loss"], "x1": h["x1"],
                "x1_true_optimum": h["x1_true_optimum"], "iterations": h["iterations"],
                "quantities": {"optimum_shift": "L*_true − L*_belief: the paper's 1.08",
                               "penalty": "L_true(x reached under the belief) − L*_true: the cost of the hidden type"}}
    reference = {"loss": h["ideal_loss"], "believed_optimal_loss": h["believed_optimal_loss"],
                 "true_loss_under_belief_closed_form": h["true_loss_closed_form"],
                 "penalty_closed_form": h["penalty_closed_form"]}
    return entry(
        {"source": SPEC + "; " + TABLE3, "true_loss_rise": 1.08, "max_rise_percent": 30.0,
         "text": "agent 1 (true λ1=0.3, planner uses 0.1) contributes less; true loss rises by 1.08 (up to 30%)"},
        measured, reference, c14_checks(measured, reference),
        f"Two quantities: the paper's 1.08 is L*_true − L*_belief = {h['optimum_shift']:.4f}; the cost of the "
        f"hidden type is L_true(x_belief) − L*_true = {h['penalty']:.4f} ({measured['penalty_percent']:.1f}%), "
        f"C.17's 1.186. Agents follow λ̂1=0.1, so agent 1 contributes x1={h['x1']:.3f} vs x1*={h['x1_true_optimum']:.3f}.")


def c17_checks(m: dict, r: dict) -> list[dict]:
    """Numbers: penalties 1.186 / 0.124 and mitigation 89.6% (printed precision). Claims: the mean
    belief lowers the expected true loss under the prior, the mean is the Bayes-optimal belief
    (grid spacing 0.01), and truthful reporting of λ1 is a best response (:func:`ic_claim_checks`)."""
    exp = m["expected_under_prior"]
    return [matches_printed("penalty with λ̂1 = 0.1 (true 0.3)", m["penalty_belief_0.1"], "1.186"),
            matches_printed("penalty with λ̂1 = E[λ1] = 0.2 (true 0.3)", m["penalty_belief_mean"], "0.124"),
            matches_printed("mitigation in percent", 100 * m["mitigation"], "89.6"),
            claim_check("expected true loss: mean belief − λ̂1=0.1 belief",
                        exp["belief_mean_0.2"]["expected_true_loss"] - exp["belief_0.1"]["expected_true_loss"],
                        "< 0: the Bayesian belief mitigates the suboptimality",
                        exp["belief_mean_0.2"]["expected_true_loss"] < exp["belief_0.1"]["expected_true_loss"]),
            at_most("|Bayes-optimal belief on the grid − E[λ1]|", abs(r["bayes_optimal_belief_on_grid"] - r["prior_mean"]),
                    0.011, "the prior mean is the best belief"),
            *ic_claim_checks(m["ic_audit"], "c17")]


def c17_plot(measured: dict) -> dict:
    """C.14/C.17's figure spec from the measured penalties: red, the belief λ̂1 = 0.1; green, the
    prior mean 0.2 (once with the true λ1 = 0.3, once in expectation under the prior)."""
    exp = measured["expected_under_prior"]
    return {"c17_penalty.png": {"kind": "bar", "labels": ["λ̂1=0.1\n(true 0.3)", "λ̂1=E[λ1]=0.2\n(true 0.3)",
                                                       "λ̂1=0.1\nexpected, prior", "λ̂1=0.2\nexpected, prior"],
                                "values": [measured["penalty_belief_0.1"], measured["penalty_belief_mean"],
                                           exp["belief_0.1"]["expected_penalty"], exp["belief_mean_0.2"]["expected_penalty"]],
                                "colors": ["C3", "C2", "C3", "C2"],
                                "legend": [("C3", "belief λ̂1 = 0.1"), ("C2", "belief λ̂1 = E[λ1] = 0.2 (prior mean)")],
                                "ylabel": "true loss − ideal loss", "title": "C.14/C.17: hidden-cost penalty"}}


def c17(cfg: Config) -> dict:
    support, probs = C17_PRIOR["support"], C17_PRIOR["probabilities"]
    mean = float(np.dot(support, probs))
    h01 = hidden_cost(0.1, 0.3, cfg.iters_long, cfg.early_stop)     # the same run as C.14
    h02 = hidden_cost(mean, 0.3, cfg.iters_long, cfg.early_stop)
    expected = {}
    for label, b in (("belief_0.1", 0.1), ("belief_mean_0.2", mean)):
        rows = [hidden_cost(b, t, cfg.iters_long, cfg.early_stop) for t in support]
        expected[label] = {"expected_true_loss": float(np.dot(probs, [x["true_loss"] for x in rows])),
                           "expected_penalty": float(np.dot(probs, [x["penalty"] for x in rows]))}
    grid = np.linspace(0.1, 0.3, 21)  # L is linear in λ1, so E[L(x; λ1)] = L(x; E[λ1]): the mean is optimal
    exp_grid = [float(np.dot(probs, [_true_loss_of_belief(b, t) for t in support])) for b in grid]
    audit = ic_audit("c17", cfg)
    measured = {"loss": h02["true_loss"], "penalty_belief_0.1": h01["penalty"], "penalty_belief_mean": h02["penalty"],
                "mitigation": 1 - h02["penalty"] / h01["penalty"], "expected_under_prior": expected, "ic_audit": audit}
    reference = {"loss": h01["ideal_loss"], "prior": C17_PRIOR, "prior_mean": mean,
                 "bayes_optimal_belief_on_grid": float(grid[int(np.argmin(exp_grid))]),
                 "min_expected_true_loss_on_grid": float(min(exp_grid)),
                 "penalty_belief_0.1_closed_form": h01["penalty_closed_form"],
                 "penalty_belief_mean_closed_form": h02["penalty_closed_form"]}
    plots = c17_plot(measured) if cfg.figures else None
    return entry(
        {"source": SPEC + "; " + TABLE3, "penalty_belief_0.1": 1.186, "penalty_belief_0.2": 0.124,
         "mitigation": 0.896, "prior_defined": False,
         "text": "Bayesian MBI with E[λ1]=0.2 cuts the penalty from ~1.186 to ~0.124 (89.6% mitigation); guarantees BIC"},
        measured, reference, c17_checks(measured, reference),
        f"The paper defined no prior; with λ1∈{{0.1,0.3}} (½ each) the expected true loss is "
        f"{expected['belief_mean_0.2']['expected_true_loss']:.4f} with the mean belief vs "
        f"{expected['belief_0.1']['expected_true_loss']:.4f} with λ̂=0.1; at λ1=0.3 the penalty goes "
        f"{h01['penalty']:.4f} → {h02['penalty']:.4f}. BIC: the rule the paper describes ignores agent 1's report but "
        f"uses the others': {audit['claim_axis']['bayes_dpm_bic']}. The DPM price on reported λ1 has interim regret "
        f"{audit['claim_axis']['dpm_on_reports_max_interim_regret']:.3g} (AGV: "
        f"{audit['claim_axis']['agv_max_interim_regret']:.1e}).",
        plots)


def _true_loss_of_belief(belief: float, truth: float) -> float:
    p = _belief_problem(belief, truth)
    return float(p.loss(p.optimum("belief").x.unsqueeze(0), "true")[0])
