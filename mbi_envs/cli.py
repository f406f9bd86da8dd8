"""Argument types for the command-line scripts: bad input becomes an argparse error that names the
option and the value (``error: argument --env-kwargs: not a JSON object: '{bad'``), not a traceback.

Use as ``parser.add_argument("--env-kwargs", type=json_object)``; checks that need two options
together (an env id and its kwargs) go through :func:`check_env_kwargs`, which calls
``parser.error`` with the env's own message.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["json_object", "registered_env_id", "positive_int", "nonnegative_int", "positive_float",
           "output_path", "output_dir", "existing_file", "check_env_kwargs"]


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
    """A registered ``mbi_envs`` id."""
    from .registry import env_ids

    if text not in env_ids():
        raise argparse.ArgumentTypeError(f"unknown env id {text!r}; registered ids: {', '.join(env_ids())}")
    return text


def _number(text: str, kind: type, minimum: float, strict: bool) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if kind is float and value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    if value < minimum or (strict and value == minimum):
        raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {minimum:g}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer ≥ 1."""
    return _number(text, int, 1, strict=False)


def nonnegative_int(text: str) -> int:
    """An integer ≥ 0."""
    return _number(text, int, 0, strict=False)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    return _number(text, float, 0.0, strict=True)


def output_path(text: str) -> Path:
    """A path to write to: its parent is created if missing; an existing file on the way is an error."""
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


def check_env_kwargs(parser: argparse.ArgumentParser, option: str, env_id: str, kwargs: dict[str, Any]) -> None:
    """Build the env once; an invalid keyword or value becomes ``parser.error`` naming ``option``."""
    from .registry import make

    try:
        make(env_id, **kwargs).close()
    except (ValueError, TypeError) as err:
        parser.error(f"argument {option}: {json.dumps(kwargs)} is not valid: {err}")
