"""Re-check mutmut survivors against given tests by planting each mutant in the work tree.

For every mutant name (arguments, or one per line on stdin), take its diff from ``mutmut show``
(needs the ``mutants/`` directory of a previous ``mutmut run``), plant it in the source file,
run ``pytest -x -q -n 0 <tests>``, restore the file, and print ``killed`` / ``survived`` /
``unplantable`` per mutant. Nothing is left modified (the file is restored in a ``finally``).

    nice -n 15 python scripts/mutation_recheck.py experiments.appendix_c.verdicts.x_within__mutmut_14 \\
        ... --tests tests/test_mutants_verdicts.py
    grep survived results.txt | python scripts/mutation_recheck.py --tests tests/test_x.py

Used for docs/testing.md: mutmut's own run measures the suite as configured; survivors are then
re-checked here against the tests written for them.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _diff(name: str) -> tuple[Path, str, str]:
    out = subprocess.run(["mutmut", "show", name], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    path = next(line[4:].strip() for line in lines if line.startswith("--- "))
    start = next(i for i, line in enumerate(lines) if line.startswith("@@"))
    old, new = [], []
    for line in lines[start + 1:]:
        if line.startswith("@@"):
            raise ValueError("more than one hunk")
        tag, body = (line[:1], line[1:]) if line else (" ", "")
        if tag in (" ", "-"):
            old.append(body)
        if tag in (" ", "+"):
            new.append(body)
    return ROOT / path, "\n".join(old) + "\n", "\n".join(new) + "\n"


def check(name: str, tests: list[str]) -> str:
    try:
        path, old, new = _diff(name)
    except (subprocess.CalledProcessError, StopIteration, ValueError) as e:
        return f"unplantable ({type(e).__name__})"
    source = path.read_text()
    if source.count(old) != 1:
        return f"unplantable (context found {source.count(old)} times)"
    try:
        path.write_text(source.replace(old, new, 1))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        r = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", *tests],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        path.write_text(source)
    return "killed" if r.returncode == 1 else "survived" if r.returncode == 0 else f"error (pytest rc {r.returncode})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", nargs="+", required=True, help="pytest paths to run against each mutant")
    ap.add_argument("names", nargs="*", help="mutant names (default: read from stdin)")
    args = ap.parse_args()
    if not args.names and sys.stdin.isatty():
        ap.error("give mutant names before --tests, or pipe them on stdin")
    names = args.names or [line.split(":")[0].strip() for line in sys.stdin if line.strip()]
    for name in names:
        print(f"{name}: {check(name, args.tests)}", flush=True)


if __name__ == "__main__":
    main()
