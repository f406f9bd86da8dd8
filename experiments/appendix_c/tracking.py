"""C.13 (convergence picture), C.15 (dynamic target), C.16 (individual actions) on C.4's problem."""
from __future__ import annotations

import functools

import numpy as np
import torch

from mechanism import GradientAgents, aggregative_problem, run_planner

from .config import C4_LAM, C4_Y, SPEC, TABLE3, Config, rel_gap, scalar, vector
from .verdicts import at_least, at_most, entry, matches_printed

__all__ = ["c13", "c13_checks", "c15", "c15_checks", "c16", "c16_checks", "paper_float32_runs",
           "C13_PRINTED", "C16_PRINTED"]

SWITCH = 5000
#: what the authors' notebook printed for C.13 (Table C.13.1 and the cell's output, float32)
C13_PRINTED = {"sum_x_final": "7.124358", "alignment_error": "0.000055", "loss_final": "2.511272",
               "loss_star": "2.511272"}
#: Table C.16.1 of the authors' notebook (4 decimals): x_i*, x_i after 5000 iterations, |x_i − x_i*|;
#: and the cell's own 6-decimal output of x_i after 5000 iterations and of the deviation
C16_PRINTED = {"x_star": ("3.3659", "0.6732", "1.6829", "0.8415", "0.5610"),
               "x_final": ("3.3644", "0.6733", "1.6838", "0.8417", "0.5611"),
               "alignment_error": ("0.0015", "0.0001", "0.0009", "0.0002", "0.0001"),
               "x_final_output_6dp": (3.364440, 0.673324, 1.683820, 0.841677, 0.561096),
               "deviation_output_6dp": (0.001424, 0.000152, 0.000888, 0.000211, 0.000119)}


@functools.lru_cache(maxsize=1)
def paper_float32_runs():
    """C.13/C.16's run as the spec states it: float32 storage, η = 5e-3, 5000 iterations from x = 0.1
    (the planner accumulates sums in float64 whatever the storage dtype), and the closed-form x*
    evaluated in float32 as the paper does (``Y / (λ_i (1 + Σ 1/λ_j))`` on float32 tensors)."""
    p32 = aggregative_problem(5, C4_Y, C4_LAM, dtype=torch.float32)
    a32 = run_planner(p32, GradientAgents(5e-3), torch.full((5,), 0.1, dtype=torch.float32), max_iters=SWITCH,
                      eps=0.0, tau=0.0, record_every=10, record_actions=True)
    lam32 = torch.tensor(C4_LAM, dtype=torch.float32)
    x_star32 = C4_Y / (lam32 * (1.0 + torch.sum(1.0 / lam32)))
    return p32, a32, x_star32


@functools.lru_cache(maxsize=2)
def _runs():
    """The paper's run (η = 5e-3 from x = 0.1, 5000 its), its continuation after Y → 10, and a long run."""
    p = aggregative_problem(5, C4_Y, C4_LAM)
    start = torch.full((5,), 0.1, dtype=torch.float64)
    a = run_planner(p, GradientAgents(5e-3), start, max_iters=SWITCH, eps=0.0, tau=0.0, record_every=10,
                    record_actions=True)
    pb = p.with_data(Y=10.0)
    b = run_planner(pb, GradientAgents(5e-3), a.X, max_iters=SWITCH, eps=0.0, tau=0.0, record_every=10,
                    record_actions=True)
    long = run_planner(p, GradientAgents(5e-3), start, max_iters=100_000, eps=1e-15, tau=1e-12, record_every=100,
                       record_actions=False)
    return p, pb, a, b, long


def c13_checks(m: dict, r: dict) -> list[dict]:
    """Numbers (float32 run, as the spec states): Σx* printed 7.1244135 vs the closed form; the
    notebook's Σx after 5000 iterations (7.124358), its alignment error |Σx − Σx*| (0.000055, with Σx*
    in float32 as the paper computes it) and its final loss (2.511272), each at printed precision.
    Claim: Σx is close to Σx* after 5000 iterations (relative error ≤ 1e-3), float32 run."""
    return [matches_printed("Σx* (closed form)", r["sum_x_star"], "7.1244135"),
            matches_printed("Σx after 5000 iterations (float32)", m["sum_x_at_5000"], C13_PRINTED["sum_x_final"]),
            matches_printed("|Σx − Σx*| after 5000 iterations (float32, Σx* in float32 as printed)",
                            m["abs_sum_error_vs_float32_closed_form"], C13_PRINTED["alignment_error"]),
            matches_printed("loss after 5000 iterations (float32)", m["loss"], C13_PRINTED["loss_final"]),
            at_most("|Σx − Σx*| / Σx* after 5000 iterations (float32)", m["abs_sum_error_at_5000"] / r["sum_x_star"],
                    1e-3, "Σx close to Σx*")]


def c13(cfg: Config) -> dict:
    p, _, a, _, long = _runs()
    p32, a32, x_star32 = paper_float32_runs()
    opt = p.optimum()
    S, S_star = float(a32.X.double().sum()), float(opt.x.sum())
    S64 = float(a.X.sum())
    loss32 = float(p.loss(a32.X.double())[0])  # the float32 iterate, loss evaluated exactly
    measured = {"loss": loss32, "dtype": "float32 (spec); float64 beside", "sum_x_at_5000": S,
                "abs_sum_error_at_5000": abs(S - S_star),
                "abs_sum_error_vs_float32_closed_form": abs(S - float(x_star32.double().sum())),
                "rel_loss_gap_at_5000": rel_gap(loss32, opt.loss),
                "float64": {"sum_x_at_5000": S64, "abs_sum_error_at_5000": abs(S64 - S_star),
                            "loss": scalar(a.loss), "rel_loss_gap_at_5000": rel_gap(scalar(a.loss), opt.loss),
                            "sum_x_matches_printed_7.124358": matches_printed("", S64, C13_PRINTED["sum_x_final"])["passed"]},
                "float32_minus_float64_sum_x": S - S64,
                "iterations_to_converge_float64": long.iterations, "status_long_run": long.status}
    reference = {"loss": opt.loss, "sum_x_star": S_star, "sum_x_star_float32_closed_form": float(x_star32.double().sum())}
    plots = None
    if cfg.figures:
        plots = {"c13_convergence.png": {"kind": "line", "x": a32.history.iterations.tolist(),
                                         "series": {"L − L* (float32)": np.maximum(a32.history.loss[:, 0] - opt.loss, 1e-300).tolist(),
                                                    "L − L* (float64)": np.maximum(a.history.loss[:, 0] - opt.loss, 1e-300).tolist()},
                                         "logy": True, "xlabel": "iteration", "ylabel": "loss gap",
                                         "title": "C.13: convergence on C.4's problem (η=5e-3)"}}
    return entry(
        {"source": SPEC + "; " + TABLE3, "sum_x_star": 7.1244135, "iterations": 5000, "dtype": "float32",
         "sum_x_final": 7.124358, "alignment_error": 0.000055, "loss_final": 2.511272,
         "text": "convergence is clearly observable; Σx close to Σx* = 7.1244135"},
        measured, reference, c13_checks(measured, reference),
        f"Float32 (as specified): Σx = {S:.7f} after 5000 its vs Σx* = {S_star:.7f} (float64 beside: {S64:.7f}; "
        f"the two dtypes differ by {S - S64:.1e}). The residual {abs(S - S_star):.1e} comes from stopping early "
        f"(float64 converges to 1e-12 KKT in {long.iterations} its), not from rounding.", plots)


def c15_checks(m: dict, r: dict) -> list[dict]:
    """No number. Claim: Σx re-converges to Σx*_B after the switch (relative error ≤ 1e-3 at the end)."""
    return [at_most("|Σx − Σx*_B| / Σx*_B at t = 10000", m["abs_sum_error_end"] / r["sum_x_star_B"], 1e-3,
                    "re-converges to Σx*_B (optimal tracking)")]


def c15(cfg: Config) -> dict:
    p, pb, a, b, _ = _runs()
    SA, SB = float(p.optimum().x.sum()), float(pb.optimum().x.sum())
    measured = {"loss": scalar(b.loss), "sum_x_before_switch": float(a.X.sum()), "sum_x_at_end": float(b.X.sum()),
                "abs_sum_error_end": abs(float(b.X.sum()) - SB), "rel_loss_gap_end": rel_gap(scalar(b.loss), pb.optimum().loss)}
    reference = {"loss": pb.optimum().loss, "sum_x_star_A": SA, "sum_x_star_B": SB}
    plots = None
    if cfg.figures:
        its = np.concatenate([a.history.iterations, SWITCH + b.history.iterations])
        sums = np.concatenate([a.history.actions.sum(axis=(2, 3))[:, 0], b.history.actions.sum(axis=(2, 3))[:, 0]])
        plots = {"c15_tracking.png": {"kind": "line", "x": its.tolist(),
                                      "series": {"Σx": sums.tolist(), "Σx* (target)": np.where(its < SWITCH, SA, SB).tolist()},
                                      "vlines": [(SWITCH, "target switch Y: 7.461 → 10")],
                                      "xlabel": "iteration", "ylabel": "Σx", "title": "C.15: Y switches 7.461 → 10 at t=5000"}}
    return entry(
        {"source": SPEC + "; " + TABLE3, "Y_switch": [C4_Y, 10.0], "switch_at": SWITCH, "iterations": 10_000,
         "text": "re-converges to Σx*_B after the target switch (optimal dynamic tracking)"},
        measured, reference, c15_checks(measured, reference),
        f"Σx = {float(b.X.sum()):.6f} at t=10000 vs Σx*_B = {SB:.6f} (residual from the 5000-iteration leg).", plots)


def c16_checks(m: dict, r: dict) -> list[dict]:
    """Numbers (float32 run, as C.13's): Table C.16.1's x_i*, x_i after 5000 iterations and
    alignment errors |x_i − x_i*| (4 decimals, at printed precision). The table's error column is
    the difference of its own 4-decimal columns (agent 1: 3.3659 − 3.3644 = 0.0015, unrounded
    0.001425): that is the number compared, computed the table's way, and labelled so. Claims: each
    x_i → x_i* (max error ≤ 1e-2 at t = 5000), and x_i* is 'proportional to cost' (correlation of x*
    with λ > 0)."""
    out = []
    for i in range(5):
        out.append(matches_printed(f"x{i + 1}* (closed form)", r["x_star"][i], C16_PRINTED["x_star"][i]))
    for i in range(5):
        out.append(matches_printed(f"x{i + 1} after 5000 iterations (float32)", m["x_final"][i],
                                   C16_PRINTED["x_final"][i]))
    for i in range(5):
        out.append(matches_printed(f"|x{i + 1} − x{i + 1}*| as Table C.16.1 computes it (difference of its "
                                   "4-decimal columns)", m["alignment_error_as_table"][i],
                                   C16_PRINTED["alignment_error"][i]))
    return out + [at_most("max |x_i − x_i*| at t = 5000 (float32)", m["max_abs_x_error"], 1e-2, "each x_i → x_i*"),
                  at_least("corr(x*, λ)", m["corr_x_star_with_lambda"], 0.0, "x_i* proportional to the cost λ_i")]


def c16(cfg: Config) -> dict:
    p, _, a, _, _ = _runs()
    _, a32, x_star32 = paper_float32_runs()
    opt = p.optimum()
    lam = np.array(C4_LAM)
    xs = opt.x.reshape(-1).numpy()
    acts = a32.history.actions[:, 0, :, 0].astype(np.float64)
    x32 = a32.X.reshape(-1).double().numpy()
    x64 = a.X.reshape(-1).numpy()
    err = np.abs(x32 - xs)
    table_err = [abs(round(float(xs[i]), 4) - round(float(x32[i]), 4)) for i in range(5)]
    out6 = np.array(C16_PRINTED["x_final_output_6dp"])
    dev6 = np.array(C16_PRINTED["deviation_output_6dp"])
    dev32 = np.abs(x32 - x_star32.double().numpy())
    measured = {"loss": float(p.loss(a32.X.double())[0]), "dtype": "float32 (spec, C.13's run); float64 beside",
                "x_final": x32.tolist(), "abs_x_error": err.tolist(), "max_abs_x_error": float(err.max()),
                "alignment_error_as_table": table_err,
                "max_abs_diff_vs_printed_6dp_x_final": float(np.abs(x32 - out6).max()),
                "max_abs_diff_vs_printed_6dp_deviation": float(np.abs(dev32 - dev6).max()),
                "float64": {"x_final": x64.tolist(), "max_abs_x_error": float(np.abs(x64 - xs).max()),
                            "max_abs_diff_vs_printed_6dp_x_final": float(np.abs(x64 - out6).max())},
                "corr_x_star_with_lambda": float(np.corrcoef(xs, lam)[0, 1]),
                "corr_x_star_with_inverse_lambda": float(np.corrcoef(xs, 1 / lam)[0, 1])}
    reference = {"loss": opt.loss, "x_star": xs.tolist(), "x_star_float32_closed_form": x_star32.double().tolist(),
                 "lambda_times_x_star": (lam * xs).tolist()}
    plots = None
    if cfg.figures:
        plots = {"c16_actions.png": {"kind": "line", "x": a32.history.iterations.tolist(),
                                     "series": {f"x{i + 1} (λ={lam[i]})": acts[:, i].tolist() for i in range(5)},
                                     "hlines": xs.tolist(), "hline_label": "x_i* (closed form)",
                                     "xlabel": "iteration", "ylabel": "x_i",
                                     "title": "C.16: individual actions, float32 (dashed: x_i*)"}}
    checks = c16_checks(measured, reference)
    table_ok = all(c["passed"] for c in checks if c["axis"] == "numbers")
    return entry(
        {"source": SPEC + "; " + TABLE3 + "; Table C.16.1", "x_star": [float(v) for v in C16_PRINTED["x_star"]],
         "x_final": [float(v) for v in C16_PRINTED["x_final"]],
         "alignment_error": [float(v) for v in C16_PRINTED["alignment_error"]],
         "text": "each x_i → x_i*, with x_i* 'proportional to cost'"},
        measured, reference, checks,
        f"Float32 (C.13's run): every x_i converges to x_i* and Table C.16.1's x_i*, x_i and errors "
        f"{'reproduce' if table_ok else 'do not all reproduce'} at their 4 decimals (the table's errors are differences of its rounded columns; unrounded, agent 1's is "
        f"{err[0]:.6f}); the notebook's 6-decimal output agrees to {measured['max_abs_diff_vs_printed_6dp_x_final']:.1e} "
        f"(float64: {measured['float64']['max_abs_diff_vs_printed_6dp_x_final']:.1e}). λ_i x_i* is the same for all "
        f"agents: x_i* is inversely proportional to the cost (correlation with 1/λ: "
        f"{measured['corr_x_star_with_inverse_lambda']:.3f}).", plots)
