"""Every code block of README.md (and the python blocks of the docs pages in ``RUN_DOCS``) runs
(python) or is checked (bash) in the test suite.

Python blocks run in a fresh namespace in a temporary working directory, and whatever the text
right after a block quotes as printed ("This prints `...`") must be what the block printed. A
block preceded by ``<!-- readme-test: slow -->`` (it takes more than ~3 s) is marked slow. Bash
blocks must parse (``bash -n``), every ``python scripts/X.py`` they run must answer ``--help``
(slow: the scripts import torch), and every ``pip install`` must name files and extras that exist.
"""
from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RUN_DOCS = [ROOT / "docs" / "design.md"]  # docs pages whose python blocks also run here
BLOCK = re.compile(r"(?P<marker><!-- readme-test: slow -->\n)?```(?P<lang>python|bash)\n(?P<code>.*?)```\n"
                   r"(?P<after>(?:(?!```|\n## ).)*)", re.S)
# docs pages other sessions are writing at the same time (issue 20): linked before they land
PENDING_DOCS: set[str] = set()


def _blocks(lang: str, doc: Path = README) -> list[tuple[int, str, bool, str]]:
    text = doc.read_text()
    return [(text[:m.start()].count("\n") + 1, m.group("code"), bool(m.group("marker")), m.group("after"))
            for m in BLOCK.finditer(text) if m.group("lang") == lang]


def _params(lang: str, docs: list[Path] = [README]) -> list:
    return [pytest.param(code, after, id=f"{doc.name}:line{line}", marks=[pytest.mark.slow] if slow else [])
            for doc in docs for line, code, slow, after in _blocks(lang, doc)]


def test_readme_is_a_front_page():
    size = len(README.read_bytes())
    assert size < 10 * 1024, f"README.md is {size} bytes; the front page stays under 10 KB (move detail to docs/)"
    assert len(_blocks("python")) >= 2 and len(_blocks("bash")) >= 2
    for _, code, _, _ in _blocks("python") + _blocks("bash"):
        assert len(code.strip().splitlines()) <= 15, f"README example over 15 lines:\n{code}"


def test_readme_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text()):
        if target.startswith("http") or target in PENDING_DOCS:
            continue
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"


@pytest.mark.parametrize("code, after", _params("python", [README, *RUN_DOCS]))
def test_readme_python_block_runs(code, after, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    finally:  # a block that registers an env id must not leak it into later tests of this worker
        import sys
        if "mbi_envs" in sys.modules:
            import mbi_envs
            from mbi_envs.registry import builtin_env_ids
            for env_id in set(mbi_envs.env_ids()) - set(builtin_env_ids()):
                mbi_envs.unregister(env_id)
    printed = out.getvalue()
    quoted = re.findall(r"prints? `([^`]+)`", after)
    for q in quoted:
        assert q in printed, f"README says the block prints {q!r}; it printed:\n{printed}"


def _bash_lines(code: str) -> list[list[str]]:
    lines = []
    for line in code.replace("\\\n", " ").splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            lines.append(shlex.split(line))
    return lines


@pytest.mark.parametrize("code, after", _params("bash"))
def test_readme_bash_block_parses(code, after):
    subprocess.run(["bash", "-n"], input=code, text=True, check=True)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for argv in _bash_lines(code):
        if argv[:2] == ["pip", "install"]:
            for i, arg in enumerate(argv):
                if arg in ("-c", "-r"):
                    assert (ROOT / argv[i + 1]).is_file(), f"README installs with {arg} {argv[i + 1]}: no such file"
                m = re.fullmatch(r"\.\[(.*)\]", arg)
                if m:
                    assert set(m.group(1).split(",")) <= set(extras), f"README installs unknown extras {arg}"
        elif argv[:1] == ["python"] and argv[1].startswith("scripts/"):
            assert (ROOT / argv[1]).is_file(), f"README runs {argv[1]}: no such script"


def _script_commands() -> list:
    return [pytest.param(argv[1], id=argv[1]) for _, code, _, _ in _blocks("bash")
            for argv in _bash_lines(code) if argv[:1] == ["python"] and argv[1].startswith("scripts/")]


@pytest.mark.slow
@pytest.mark.parametrize("script", _script_commands())
def test_readme_scripts_answer_help(script):
    done = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
