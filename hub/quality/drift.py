"""Schema drift: the source's columns no longer match the contract.

A required column missing, renamed (gone, with an unknown new column beside it) or retyped (a
nested/binary Arrow type, or every value of a sizeable batch failing to parse) stops the run
before anything is loaded, with one line naming the column and the contract. The contract's
``driftPolicy`` decides: ``fail`` (default) stops, ``warn`` records a warning and goes on
(rows then fail their checks one by one). Unknown extra columns are always only a warning.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from hub.connector.base import OP_COLUMN, REASON_COLUMN, UNREADABLE_COLUMN
from hub.contracts import Column, StreamContract
from hub.errors import SchemaDriftError

#: below this many non-null values, "all of them fail" is bad data, not drift
RETYPE_MIN_ROWS = 20
RESERVED = {OP_COLUMN, REASON_COLUMN, UNREADABLE_COLUMN}


def _where(contract: StreamContract) -> str:
    return f"{contract.source}.{contract.stream} (contract {contract.path.name})"


def drift(contract: StreamContract, message: str, warnings: list[str]) -> None:
    """Stop the run, or only warn when the contract says ``driftPolicy: warn``."""
    if contract.drift_policy == "fail":
        raise SchemaDriftError(message)
    warnings.append(message)


def check_drift(contract: StreamContract, raw_columns: Iterable[str],
                schema: pa.Schema | None = None) -> list[str]:
    """Missing/renamed/retyped required columns stop the run (policy ``fail``); extras are warnings."""
    present = list(raw_columns)
    known = {c.raw for c in contract.columns} | RESERVED
    extras = sorted(set(present) - known)
    warnings: list[str] = []
    for col in contract.columns:
        if col.required and col.raw not in present:
            hint = f"; unknown new column(s) {', '.join(map(repr, extras))} (renamed?)" if extras else ""
            drift(contract, f"schema drift in {_where(contract)}: required column {col.raw!r} ({col.name}) "
                            f"missing from the source{hint}", warnings)
        elif schema is not None and col.raw in present:
            retyped = _retyped(col, schema.field(col.raw).type)
            if retyped:
                drift(contract, f"schema drift in {_where(contract)}: column {col.raw!r} ({col.name}) {retyped}",
                      warnings)
    if extras:
        warnings.append(f"extra columns ignored in {contract.source}.{contract.stream}: {', '.join(extras)}")
    return warnings


def _retyped(col: Column, t: pa.DataType) -> str | None:
    if col.normalize == "keep":
        return None
    if pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return f"arrives as {t}, the contract expects a {col.logical_type} ({col.normalize or 'text'})"
    return None


def check_values(contract: StreamContract, col: Column, non_null: int, failed: int, warnings: list[str],
                 empty_rows: int = 0) -> None:
    """Value-level drift: every value failing to parse, or a required column empty in every row."""
    if col.normalize == "keep":
        return
    if non_null >= RETYPE_MIN_ROWS and failed == non_null:
        drift(contract, f"schema drift in {_where(contract)}: column {col.raw!r} ({col.name}): none of "
                        f"{non_null} values parses as {col.normalize or 'text'} (retyped?)", warnings)
    if col.required and non_null == 0 and empty_rows >= RETYPE_MIN_ROWS:
        drift(contract, f"schema drift in {_where(contract)}: required column {col.raw!r} ({col.name}) is empty "
                        f"in all {empty_rows} rows (renamed or dropped upstream?)", warnings)
