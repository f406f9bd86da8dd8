"""Mechanism design: the direct-revelation game and the payment-rule interface (:mod:`.game`),
Groves and VCG (:mod:`.vcg`), the other payment rules (:mod:`.rules`), priors (:mod:`.priors`) and
the incentive-compatibility audit (:mod:`.ic_audit`, its searches in :mod:`.ic_search`, its labels
in :mod:`.ic_labels`). ``docs/mechanism_design.md`` is the guide.

The names below are importable from ``mechanism.design``; the audit modules are imported on use.
"""
from .game import (AggregativeClosedForm, PaymentRule, ReportingGame, agent_utility, aggregative_game, allocate,
                   budget_surplus, dpm_prices, efficiency_loss, pivot_cost, utilities)
from .priors import FiniteTypes, IndependentPrior, mc_estimate
from .rules import AGV, BayesianDPM, DPMLinearPrice, NoPayment, standard_rules
from .vcg import VCG, GrovesFamily, VCGResult, clarke_pivot, misreport_gain, vcg_payments, zero_h

__all__ = ["AggregativeClosedForm", "PaymentRule", "ReportingGame", "agent_utility", "aggregative_game", "allocate",
           "budget_surplus", "dpm_prices", "efficiency_loss", "pivot_cost", "utilities", "FiniteTypes",
           "IndependentPrior", "mc_estimate", "AGV", "BayesianDPM", "DPMLinearPrice", "NoPayment", "standard_rules",
           "VCG", "GrovesFamily", "VCGResult", "clarke_pivot", "misreport_gain", "vcg_payments", "zero_h"]
