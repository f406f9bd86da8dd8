"""Tables on the console that degrade: rich on a terminal, full-width plain text in a log.

:func:`print_table` draws a ``rich`` table when the stream is a terminal (cells fold, nothing is
cut), and otherwise prints the table as plain text in Markdown's pipe syntax, each column as
wide as its widest cell, so a log or a pipe keeps every character (``rich`` on a non-terminal
assumes 80 columns and shortens cells: "ppo-one…"). With ``csv_path`` the same cells are also
written as CSV (the output folder's copy of every printed table). Imports ``rich`` only when
it draws.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import IO, Any, Sequence

__all__ = ["plain_table", "markdown_table", "print_table", "write_csv"]


def _cells(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[list[str], list[list[str]]]:
    head = [str(c) for c in columns]
    body = [["" if v is None else str(v) for v in row] for row in rows]
    bad = [i for i, row in enumerate(body) if len(row) != len(head)]
    if bad:
        raise ValueError(f"row {bad[0]} has {len(body[bad[0]])} cells; the table has {len(head)} columns")
    return head, body


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The table in Markdown's pipe syntax, columns padded to their widest cell (nothing is cut; a
    ``|`` inside a cell is escaped as ``\\|``)."""
    head, body = _cells(columns, rows)
    head = [c.replace("|", "\\|") for c in head]
    body = [[c.replace("|", "\\|") for c in row] for row in body]
    widths = [max([len(h), 3, *(len(r[i]) for r in body)]) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in body)])


def plain_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """What :func:`print_table` prints off a terminal: the title, then :func:`markdown_table`."""
    table = markdown_table(columns, rows)
    return f"{title}\n\n{table}" if title else table


def write_csv(path: str | Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """The table's cells as CSV at ``path`` (its folder created if missing)."""
    head, body = _cells(columns, rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(head)
        writer.writerows(body)
    return path


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
                file: IO[str] | None = None, csv_path: str | Path | None = None) -> Path | None:
    """Print the table to ``file`` (default ``sys.stdout``): ``rich`` on a terminal (when installed),
    full-width :func:`plain_table` otherwise; with ``csv_path`` also write it there (returned)."""
    stream = file if file is not None else sys.stdout
    head, body = _cells(columns, rows)
    drawn = False
    if getattr(stream, "isatty", lambda: False)():
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:  # pragma: no cover - rich is a dependency
            pass
        else:
            table = Table(title=title)
            for col in head:
                table.add_column(col, overflow="fold")
            for row in body:
                table.add_row(*row)
            Console(file=stream).print(table)
            drawn = True
    if not drawn:
        print(plain_table(title, head, body), file=stream, flush=True)
    return write_csv(csv_path, head, body) if csv_path is not None else None
