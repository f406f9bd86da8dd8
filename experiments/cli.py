"""What every script in ``scripts/`` shares: argument types and the parser/session boilerplate.

This module imports only the standard library (and :mod:`experiments.jobs`, which does too), so a
script builds its parser and answers ``--help`` or a bad value before torch, SB3 or scipy load:
a script imports its heavy modules after :meth:`~argparse.ArgumentParser.parse_args` (see
``tests/test_cli_help.py``). Bad input becomes an argparse error that names the option and the
value (``error: argument --seed: must be an integer >= 0, got '-1'``), not a traceback.

Argument types: :func:`positive_int`, :func:`nonnegative_int` (seeds), :func:`positive_float`,
:func:`nonnegative_float`, :func:`sizes_list` (``1e3,1e4``), :func:`names_list`, :func:`json_object`, :func:`registered_env_id`, :func:`output_path`,
:func:`output_dir`, :func:`existing_file`. Checks that need two options together or a heavy
import go after parsing: :func:`check_env_kwargs`, :func:`check_choices`, :func:`check_seeds`.

Boilerplate: :func:`script_parser` (the module docstring as the help text), :func:`add_resume_options`
(``--resume`` / ``--fresh``), :func:`add_worker_options` (``--workers``, ``--no-progress``) and
:func:`session` (:func:`experiments.jobs.cli_session` with errors reported against ``--out``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

__all__ = ["json_object", "registered_env_id", "positive_int", "nonnegative_int", "positive_float",
           "nonnegative_float", "sizes_list", "names_list", "output_path", "output_dir", "existing_file", "check_env_kwargs", "check_choices",
           "check_seeds", "script_parser", "add_resume_options", "add_worker_options", "out_error", "session"]


# ----------------------------------------------------------------------------- argument types


def json_object(text: str) -> dict[str, Any]:
    """A JSON object (``'{"n_agents": 4}'``) as a dict."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err.msg} at column {err.colno}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object like '{{\"n_agents\": 4}}', got {text!r}")
    return value


def registered_env_id(text: str) -> str:
    """A registered ``mbi_envs`` id (imports ``mbi_envs`` only when the option is given)."""
    from mbi_envs import env_ids

    if text not in env_ids():
        raise argparse.ArgumentTypeError(f"unknown env id {text!r}; registered ids: {', '.join(env_ids())}")
    return text


def _number(text: str, kind: type, minimum: float, strict: bool) -> Any:
    what = "an integer" if kind is int else "a number"
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if kind is float and (value != value or value in (float("inf"), float("-inf"))):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    if value < minimum or (strict and value == minimum):
        raise argparse.ArgumentTypeError(f"must be {what} {'>' if strict else '>='} {minimum:g}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer ≥ 1 (counts: iterations, timesteps, workers, repeats)."""
    return _number(text, int, 1, strict=False)


def nonnegative_int(text: str) -> int:
    """An integer ≥ 0 (seeds; counts where 0 means "skip")."""
    return _number(text, int, 0, strict=False)


def positive_float(text: str) -> float:
    """A finite number > 0 (budgets, seconds)."""
    return _number(text, float, 0.0, strict=True)


def nonnegative_float(text: str) -> float:
    """A finite number ≥ 0 (0 means "off")."""
    return _number(text, float, 0.0, strict=False)


def sizes_list(text: str) -> list[int]:
    """Comma-separated integers >= 1 in any float notation: ``'1e3,1e4'`` -> ``[1000, 10000]``."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 1e3,1e4, got {text!r}") from None
    if not values or any(not v >= 1 or v != int(v) for v in values):
        raise argparse.ArgumentTypeError(f"every N must be an integer >= 1, got {text!r}")
    return [int(v) for v in values]


def names_list(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    """A type for a comma-separated list of names out of ``allowed`` (``'fused,analytic'``)."""
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        if not names or any(n not in allowed for n in names):
            raise argparse.ArgumentTypeError(f"must be comma-separated names among {', '.join(allowed)}, got {text!r}")
        return names
    return parse


def output_path(text: str) -> Path:
    """A path to write to: its parent is created later if missing; an existing file on the way is an error."""
    path = Path(text)
    blocking = next((p for p in [path.parent, *path.parent.parents] if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {str(blocking)!r} is a file, not a folder")
    return path


def output_dir(text: str) -> Path:
    """A folder to write into (created later if missing); an existing file there is an error."""
    path = output_path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file; expected a folder")
    return path


def existing_file(text: str) -> Path:
    """A path that exists and is a file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return path


# ----------------------------------------------------------------------------- checks after parsing


def check_env_kwargs(parser: argparse.ArgumentParser, option: str, env_id: str, kwargs: dict[str, Any]) -> None:
    """Build the env once; an invalid keyword or value becomes ``parser.error`` naming ``option``."""
    from mbi_envs import make

    try:
        make(env_id, **kwargs).close()
    except (ValueError, TypeError) as err:
        parser.error(f"argument {option}: {json.dumps(kwargs)} is not valid: {err}")


def check_choices(parser: argparse.ArgumentParser, option: str, values: Iterable[str] | None,
                  allowed: Sequence[str]) -> None:
    """``parser.error`` in argparse's words when a value is not in ``allowed``: for choices that are
    known only after a heavy import (scenario keys, reward modes), so they cannot be ``choices=``."""
    for value in values or []:
        if value not in allowed:
            parser.error(f"argument {option}: invalid choice: {value!r} (choose from {', '.join(map(str, allowed))})")


def check_seeds(parser: argparse.ArgumentParser, option: str, seeds: Sequence[int] | None, at_least: int = 1) -> None:
    """Seeds given with ``type=nonnegative_int, nargs="+"``: no repeats, at least ``at_least`` of them."""
    if seeds is None:
        return
    if len(set(seeds)) != len(seeds):
        parser.error(f"argument {option}: a seed is repeated in {list(seeds)}")
    if len(seeds) < at_least:
        parser.error(f"argument {option}: at least {at_least} seeds, got {list(seeds)}")


# ----------------------------------------------------------------------------- parser boilerplate


def script_parser(doc: str | None, prog: str | None = None, summary: bool = False) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose help is the script's docstring, line breaks kept (``summary``:
    only its first line)."""
    text = (doc or "").strip()
    if summary:
        return argparse.ArgumentParser(prog=prog, description=text.splitlines()[0] if text else None)
    return argparse.ArgumentParser(prog=prog, description=text, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_resume_options(parser: argparse.ArgumentParser, what: str = "runs") -> argparse._MutuallyExclusiveGroup:
    """``--resume`` (the default: skip the ``what`` with a record in OUT/records) and ``--fresh``
    (delete the records and run everything again), mutually exclusive; returns their group (a
    script adds e.g. ``--report-only`` to it)."""
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", default=True,
                       help=f"skip the {what} that have a record in OUT/records (the default)")
    again.add_argument("--fresh", action="store_true", help=f"delete OUT's records and run all {what} again")
    return again


def add_worker_options(parser: argparse.ArgumentParser, what: str = "jobs") -> argparse.ArgumentParser:
    """``--workers N`` (processes running ``what``, default 1) and ``--no-progress``."""
    parser.add_argument("--workers", type=positive_int, default=1, help=f"processes running {what} (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def out_error(parser: argparse.ArgumentParser, option: str = "--out") -> Callable[[str], Any]:
    """A ``parser.error`` that names ``option``: the ``error`` argument of :func:`experiments.jobs.cli_session`."""
    return lambda message: parser.error(f"argument {option}: {message}")


@contextlib.contextmanager
def session(parser: argparse.ArgumentParser, out: str | Path, *, option: str = "--out",
            resume_hint: str = "rerun the same command", status: Callable[[], str] | None = None) -> Iterator[Path]:
    """:func:`experiments.jobs.cli_session` for ``parser``'s folder ``out``: a bad or locked folder is
    ``parser.error`` naming ``option``; a stop prints what is done and how to resume, and exits 130/143."""
    from .jobs import cli_session

    with cli_session(out, out_error(parser, option), resume_hint=resume_hint, status=status) as folder:
        yield folder
