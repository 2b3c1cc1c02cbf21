"""Tables a person can copy from: nothing a person must read or paste (ids, keys, reasons) is cut.

On a terminal: a rich table whose key columns keep their full width and whose other columns wrap;
when even that cannot fit, one block per row (``column: value`` lines). When stdout is not a
terminal: plain, stable text (no colour, no box, columns padded by display width, one row a line)
so ``hub plugins | grep grid-registry`` and ``awk`` work. Every listing also has ``--json``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.box import SIMPLE_HEAD
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Column:
    name: str
    keep: bool = False  # an id, key or name: never wrapped, never cut
    justify: str = "left"


def console() -> Console:
    return Console(soft_wrap=False)


def is_terminal() -> bool:
    return sys.stdout.isatty()


def echo_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n")


def _text(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def print_table(columns: Sequence[Column | str], rows: Sequence[Sequence[Any]], *, title: str | None = None) -> None:
    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    cells = [[_text(v) for v in row] for row in rows]
    if not is_terminal():
        _plain(cols, cells, title)
        return
    out = console()
    table = Table(*[], box=SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False)
    for col, width in zip(cols, _widths(cols, cells), strict=True):
        if col.keep:
            table.add_column(col.name, no_wrap=True, min_width=width, justify=col.justify)  # type: ignore[arg-type]
        else:
            table.add_column(col.name, overflow="fold", justify=col.justify)  # type: ignore[arg-type]
    for row in cells:
        table.add_row(*row)
    kept = sum(w for c, w in zip(cols, _widths(cols, cells), strict=True) if c.keep)
    others = sum(min(w, 6) for c, w in zip(cols, _widths(cols, cells), strict=True) if not c.keep)
    if kept + others + 2 * len(cols) > out.width:
        _records(out, cols, cells, title)
        return
    out.print(table)


def _widths(cols: Sequence[Column], cells: Sequence[Sequence[str]]) -> list[int]:
    return [max([cell_len(c.name), *(cell_len(line) for row in cells for line in row[i].splitlines() or [""])])
            for i, c in enumerate(cols)]


def _plain(cols: Sequence[Column], cells: Sequence[Sequence[str]], title: str | None) -> None:
    widths = _widths(cols, cells)
    lines = [title] if title else []
    for row in [[c.name for c in cols], *cells]:
        parts = [v.replace("\n", " ") for v in row]
        padded = [p + " " * (w - cell_len(p)) for p, w in zip(parts[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*padded, parts[-1]]).rstrip())
    sys.stdout.write("\n".join(lines) + "\n")


def _records(out: Console, cols: Sequence[Column], cells: Sequence[Sequence[str]], title: str | None) -> None:
    """Too wide for the terminal: one block a row, so every value is whole (long ones wrap, never cut)."""
    if title:
        out.print(f"[bold]{title}[/bold]")
    label = max(cell_len(c.name) for c in cols)
    for row in cells:
        for col, value in zip(cols, row, strict=True):
            out.print(f"{col.name.rjust(label)}: {value}", highlight=False, markup=False, overflow="fold",
                      soft_wrap=col.keep)
        out.print()
