"""Tables in README.md and docs/*.md generated from committed results, and the check that they match.

A generated table sits between two markers that name the generator and its sources::

    <!-- table: benchmark-headline results/benchmark_full/benchmark.json -->
    | ... |
    <!-- /table -->

``python -m experiments.docs_tables`` rewrites every such block from the files it names;
``python -m experiments.docs_tables --check`` exits 1 when any block differs (the test suite
runs the check: ``tests/test_docs_numbers.py``). To move a table to a new run, change the path
in its marker and rerun the command.

Hand-written tables carry ``<!-- numbers-from: PATH[#key.key] ... -->`` instead (optionally
``<!-- numbers-from: PATH ...; labels: 30 118 -->`` for numbers that are names, such as "IEEE
30-bus"): :func:`unmatched_numbers` lists every number in the table that no number in those files
equals at the precision the table prints it (see :func:`matches`).
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

__all__ = ["GENERATORS", "regenerate", "stale_blocks", "numbers_in", "matches", "unmatched_numbers",
           "numbers_from_blocks", "main"]

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- table: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)
NUMBERS_FROM = re.compile(r"<!-- numbers-from: (?P<paths>[^>]*?) -->\n(?P<body>(?:\|.*\n)+)")
NUMBER = re.compile(r"(?<![\w.])[-−]?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?(?![\w])", re.I)


@functools.lru_cache(maxsize=32)
def _load(path: str) -> Any:
    """The parsed JSON file (cached: callers must not modify it)."""
    return json.loads((ROOT / path).read_text())


def _short(v: str) -> str:
    return v.replace("mbi-gradient-", "").replace("-oracle", "")


def _headline_rows(path: str) -> list[dict[str, Any]]:
    """The headline rows of a benchmark: ``benchmark.json``'s, or computed from a resumable run's
    ``records/`` folder (finished runs only) when ``path`` is a folder."""
    if not (ROOT / path).is_dir():
        return _load(path)["headline"]
    return _records_headline(path)


@functools.lru_cache(maxsize=4)
def _records_headline(path: str) -> list[dict[str, Any]]:
    from experiments.benchmark.headline import headline
    return headline([json.loads(p.read_text())["record"] for p in sorted((ROOT / path).glob("*.json"))])


def _label(v: str) -> str:
    return "oracle step" if v.endswith("-oracle") else _short(v) + " η" * (v.endswith("-paper"))


def benchmark_headline(path: str) -> list[str]:
    """README's headline: per (scenario, PPO variant), PPO's best gap and, per MBI variant, the
    agent-steps ratio PPO / MBI (median over seeds) with the majority winner and MBI's seeds won;
    the 95% CIs are in the full matrix (:func:`benchmark_matrix`)."""
    from experiments.benchmark.markdown import fmt, headline_matrix
    rows = _headline_rows(path)
    caption = []
    if not (ROOT / path).is_dir():
        cfg = _load(path)["config"]
        caption = [f"`{path}`: {cfg['mode']} mode, {len(cfg['seeds'])} seeds, {len(_load(path)['records'])} runs, "
                   f"{_cpu(cfg['metadata'], cfg['machine'])} "
                   f"({cfg['metadata'].get('torch_cpu_capability', '?')}).", ""]
    return caption + headline_matrix(
        rows, name=_label, align="---:|",
        ratio=lambda s: "∞" if s["median"] is None else fmt(s["median"]),
        gap=lambda first: fmt(first["ppo_best_gap"]["median"]))


def _cpu(meta: dict[str, Any], default: str = "?") -> str:
    """The CPU model as the docs print it: ``Intel(R) Xeon(R) Processor`` → ``Intel Xeon``."""
    return meta.get("cpu_model", default).replace("(R)", "").replace(" Processor", "")


def _run_label(path: str) -> str:
    """```PATH`` (CPU)` for a benchmark.json, ```PATH`` (N finished runs)` for a records folder."""
    if (ROOT / path).is_dir():
        return f"`{path}` ({len(list((ROOT / path).glob('*.json')))} finished runs)"
    meta = _load(path)["config"].get("metadata", {})
    return f"`{path}` ({_cpu(meta)}, {meta.get('torch_cpu_capability', '?')})"


def benchmark_spread(path_a: str, path_b: str, *rows: str) -> list[str]:
    """The headline rows two benchmark runs share (e.g. two machines): PPO's best gap and the
    agent-steps ratio PPO / MBI per MBI variant (medians over seeds), ``first / second``; a row
    appears once both runs have every seed of it (``path_b`` may be an unfinished run's records).
    ``rows`` (``SCENARIO:PPO-VARIANT``, e.g. ``C.2-N100:oneshot-team``) keeps only those rows."""
    from experiments.benchmark.markdown import fmt
    keep = {tuple(r.split(":", 1)) for r in rows}
    runs = [{(h["scenario"], h["ppo"], h["mbi"]): h for h in _headline_rows(p) if h["ppo_improved_seeds"]}
            for p in (path_a, path_b)]
    shared = [k for k in runs[0] if k in runs[1] and runs[1][k]["seeds"] == runs[0][k]["seeds"]
              and (not keep or (k[0], k[1].replace("ppo-", "")) in keep)]
    variants = list(dict.fromkeys(k[2] for k in shared))
    lines = ["Benchmark rows both runs have, " + " / ".join(_run_label(p) for p in (path_a, path_b)) + ":", "",
             "| scenario | PPO variant | PPO best gap | " + " | ".join(_label(v) for v in variants) + " |",
             "|---|---|---|" + "---:|" * len(variants)]
    for scenario, ppo in dict.fromkeys(k[:2] for k in shared):
        def pair(key: str, v: str) -> str:
            vals = [run.get((scenario, ppo, v), {}).get(key, {}).get("median") for run in runs]
            return " / ".join("—" if x is None else fmt(x) for x in vals)
        first = variants[0]
        lines.append(f"| {scenario} | {ppo.replace('ppo-', '')} | {pair('ppo_best_gap', first)} | "
                     + " | ".join(pair("steps_ratio", v) for v in variants) + " |")
    return lines


def benchmark_matrix(path: str) -> list[str]:
    """The benchmark's compact headline with CIs, exactly as ``benchmark.md`` prints it."""
    from experiments.benchmark.markdown import headline_matrix
    return headline_matrix(_load(path)["headline"])


def appendix_c_summary(path: str) -> list[str]:
    """The Appendix C summary table (experiment, numbers verdict, claim verdict, key number)."""
    from experiments.report import summary_rows
    lines = ["| experiment | numbers | claim | key number |", "|---|---|---|---|"]
    for eid, numbers, claim, key in summary_rows(_load(path)):
        lines.append(f"| {eid} | {numbers} | {claim} | {key.replace('|', '&#124;')} |")
    return lines


def appendix_c_spread(*run_dirs: str) -> list[str]:
    """C.6 (the one Appendix C result that moves between CPUs) and the run time, one column per
    committed quick run (each ``DIR`` holds ``appendix_c.json`` and ``run_meta.json``)."""
    from experiments.benchmark.markdown import fmt
    metas = [_load(f"{d}/run_meta.json") for d in run_dirs]
    c6 = [_load(f"{d}/appendix_c.json")["C.6"]["measured"] for d in run_dirs]
    head = [f"{m['cpu_model'].replace('(R)', '').replace(' Processor', '')} ({m['torch_cpu_capability']})"
            for m in metas]
    lines = ["| quick Appendix C run | " + " | ".join(head) + " |", "|---|" + "---:|" * len(run_dirs)]
    rows = [("C.6: PPO median best gap (difference reward, 50k agent-steps × 3 seeds)",
             [fmt(c["ppo"]["difference"]["loss_gap_median"]) for c in c6]),
            ("C.6: PPO median best gap (team reward)", [fmt(c["ppo"]["team"]["loss_gap_median"]) for c in c6]),
            ("C.6: MBI agent-steps to that gap, paper η / 0.99 η_max",
             [f"{fmt(c['mbi']['paper_eta']['env_steps_to_best_ppo_gap'])} / "
              f"{fmt(c['mbi']['near_max_stable_eta']['env_steps_to_best_ppo_gap'])}" for c in c6]),
            ("wall seconds (load average at the end, 1 / 5 / 15 min)",
             [f"{m['seconds']:.0f} ({' / '.join(f'{x:.1f}' for x in m['load_average_1_5_15_min_at_end'])})"
              for m in metas])]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    return lines


def ic_audit_table(path: str, key: str) -> list[str]:
    """The IC audit's rule × regret × label table for one problem (``key``: ``c4`` or ``c17``),
    exactly as ``mechanism.design.ic_audit.markdown_table`` writes it into ``ic_audit.md``."""
    from mechanism.design.ic_audit import markdown_table
    return markdown_table(_load(path)[key]).split("\n\nLabels")[0].split("\n")


GENERATORS: dict[str, Callable[..., list[str]]] = {
    "ic-audit-table": ic_audit_table,
    "benchmark-headline": benchmark_headline,
    "benchmark-spread": benchmark_spread,
    "benchmark-matrix": benchmark_matrix,
    "appendix-c-summary": appendix_c_summary,
    "appendix-c-spread": appendix_c_spread,
}


def _render(spec: str) -> str:
    from mechanism.errors import InvalidParameterError
    name, *args = spec.split()
    if name not in GENERATORS:
        raise InvalidParameterError(f"unknown table generator {name!r} in marker '<!-- table: {spec} -->'; "
                                    f"known: {sorted(GENERATORS)}")
    missing = [a for a in args if "/" in a and ":" not in a and not (ROOT / a.partition("#")[0]).exists()]
    if missing:
        raise InvalidParameterError(f"marker '<!-- table: {spec} -->' names {missing}, which do not exist "
                                    f"under {ROOT}")
    return "\n".join(GENERATORS[name](*args)) + "\n"


def regenerate(text: str) -> str:
    """``text`` with every ``<!-- table: ... -->`` block rewritten from its sources."""
    return BLOCK.sub(lambda m: m.group(1) + _render(m.group("spec")) + m.group(4), text)


def stale_blocks(text: str) -> list[str]:
    """The specs of the blocks in ``text`` whose body differs from what their generator writes."""
    return [m.group("spec") for m in BLOCK.finditer(text) if m.group("body") != _render(m.group("spec"))]


def _value(token: str) -> float:
    return float(token.replace(",", "").replace("−", "-"))


def numbers_in(text: str) -> list[str]:
    """The number tokens in ``text`` (``1,248``, ``0.000298``, ``1.47e+03``, ``-0.908``), as written."""
    return NUMBER.findall(text)


def matches(token: str, value: float) -> bool:
    """Whether ``value`` rounds to ``token`` at the precision ``token`` is written with: the
    tolerance is half a unit in the token's last significant digit (``0.258`` matches
    0.2581580809, ``1,248`` matches 1248.3, ``1.47e+03`` matches 1468.3). Trailing zeros of an
    integer are not significant (``2,200`` matches 2218.7, ``60,000`` matches 60051.8)."""
    shown = _value(token)
    if not math.isfinite(value):
        return False
    mantissa = token.lower().replace(",", "").replace("−", "-").split("e")[0]
    exponent = int(token.lower().split("e")[1]) if "e" in token.lower() else 0
    if "." in mantissa:
        last = -len(mantissa.split(".")[1])
    else:
        digits = mantissa.lstrip("-")
        last = len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0
    half_unit = 0.5 * 10.0 ** (exponent + last)
    return abs(value - shown) <= half_unit * (1 + 1e-9)


SERIES = 8  # a list of more numbers (or number lists) than this is a data series (a grid, a curve), not a summary


def _source_numbers(spec: str) -> list[float]:
    """The numbers a docs table may quote from ``spec``: ``PATH`` or ``PATH#key.key`` (a JSON
    sub-tree). From JSON: every number outside number lists longer than ``SERIES`` (a table
    quotes summaries, and a long series would match almost any number by chance) and the numbers in its
    strings; from any other file: every number in its text."""
    path, _, sub = spec.partition("#")
    text = (ROOT / path).read_text()
    if not path.endswith(".json"):
        return [_value(t) for t in numbers_in(text)]
    out: list[float] = []

    def walk(x: Any) -> None:
        if isinstance(x, bool):
            return
        if isinstance(x, (int, float)):
            out.append(float(x))
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            if len(x) > SERIES and all(isinstance(v, (int, float, list)) for v in x):
                return
            for v in x:
                walk(v)
        elif isinstance(x, str):
            out.extend(_value(t) for t in numbers_in(x))
    root = json.loads(text)
    for key in filter(None, sub.split(".")):
        root = root[int(key)] if isinstance(root, list) else root[key]
    walk(root)
    return out


def unmatched_numbers(table: str, sources: Sequence[str], derived: Iterable[str] = ()) -> list[str]:
    """Every number token of ``table`` that no number in ``sources`` equals at its printed
    precision (:func:`matches`), except the tokens listed in ``derived``."""
    values = [v for s in sources for v in _source_numbers(s)]
    skip = set(derived)
    return [t for t in numbers_in(table) if t not in skip and not any(matches(t, v) for v in values)]


def numbers_from_blocks(text: str) -> list[tuple[list[str], list[str], str]]:
    """``(source paths, label numbers, table text)`` for every ``<!-- numbers-from: ... -->`` table."""
    out = []
    for m in NUMBERS_FROM.finditer(text):
        paths, _, labels = m.group("paths").partition(";")
        out.append((paths.split(), labels.replace("labels:", "").split(), m.group("body")))
    return out


def _doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (default) or ``--check`` the generated tables of README.md and docs/*.md."""
    parser = argparse.ArgumentParser(prog="python -m experiments.docs_tables", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated table is out of date")
    parser.add_argument("files", nargs="*", type=Path, help="Markdown files (default: README.md, docs/*.md)")
    args = parser.parse_args(argv)
    stale = []
    for path in args.files or _doc_files():
        text = path.read_text()
        if args.check:
            stale += [f"{path}: {spec}" for spec in stale_blocks(text)]
        else:
            new = regenerate(text)
            if new != text:
                path.write_text(new)
                print(f"rewrote {path}")
    if stale:
        print("out of date (run python -m experiments.docs_tables):\n  " + "\n  ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
