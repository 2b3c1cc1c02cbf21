"""Cells for the files people open in a spreadsheet (CSV, xlsx): formula injection neutralised.

A department writes what it likes into a name or an address; a value such as ``=HYPERLINK(...)``
or ``+cmd|' /C calc'!A0`` exported as is becomes a live formula when a clerk opens the file. OWASP's
rule: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with
a single quote, so the spreadsheet shows it as text. JSON output is never passed through here: there
the value is data, not a cell, and stays exactly as stored.
"""

from __future__ import annotations

from typing import Any

#: first characters a spreadsheet reads as the start of a formula (OWASP CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: Any) -> Any:
    """A value safe to write as one spreadsheet cell: text that could start a formula gets a leading
    ``'``; numbers, dates, None and harmless text pass through unchanged (so ``-3`` as an int stays a number)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cell_row(values: Any) -> list[Any]:
    """``cell_text`` over one row (a CSV writer's or a worksheet's ``append``)."""
    return [cell_text(v) for v in values]
