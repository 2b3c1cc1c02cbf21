"""A contract's row checks as a plan: compiled to a Great Expectations suite, or run directly.

Why both: GX is the gate's engine and writes the Data Docs stewards read, but importing it costs
~2.5 CPU seconds a process, more than everything else a one-changed-row ``hub sync --all`` does
(issue 19: a single changed row synced and resolved in <= 2 s, a day's trickle in <= 10 s). A batch
of at most :func:`direct_rows` live rows is therefore checked here, with the very operations GX's
pandas engine applies (the same null filtering, ``isin``, ``str.contains``, ``duplicated(keep=False)``,
the same domain-check masks): its failing rows reach the quarantine and the run ledger exactly as GX
would have sent them (tests/quality/test_suite_plan.py compares both on every shipped contract). One
plan feeds both paths, so they cannot drift apart. Its GX run and Data Docs page are deferred to the
quality pass (``hub.quality.deferred``), which re-checks the landed batch under :func:`gx_forced`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.errors import ConfigError
from hub.quality.checks import CheckEnv, DomainCheck
from hub.quality.columns import KEY

if TYPE_CHECKING:
    import pandas as pd

    from hub.contracts import StreamContract

# generic checks a contract may name, compiled to GX's own expectations, and their reason codes
GENERIC = {"not_null": "required", "required": "required", "unique": "duplicate_key", "enum": "enum",
           "in_set": "enum", "regex": "format", "between": "range", "range": "range"}
#: batches of at most this many live rows skip GX at sync (0 = always GX); HUB_SUITE_DIRECT_ROWS
#: overrides. A day's deliveries (a county of 200k: 770 roster rows, 177 cases) stay under it.
DIRECT_ROWS: int = 5000
_GX_FORCED: ContextVar[bool] = ContextVar("gx_forced", default=False)


def direct_rows() -> int:
    """Live rows up to which a batch is checked without GX (read at each batch: tests change it)."""
    if _GX_FORCED.get():
        return 0
    return int(os.environ.get("HUB_SUITE_DIRECT_ROWS", DIRECT_ROWS))


@contextmanager
def gx_forced() -> Iterator[None]:
    """Every batch with a live row goes through GX inside (the quality pass's deferred runs)."""
    token = _GX_FORCED.set(True)
    try:
        yield
    finally:
        _GX_FORCED.reset(token)


@dataclass(frozen=True)
class PlannedCheck:
    """One expectation: ``kind`` is not_null, unique, in_set, regex, between or hub (a domain check)."""

    kind: str
    column: str
    meta: dict[str, Any]
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def gx_type(self) -> str:
        return {"not_null": "expect_column_values_to_not_be_null", "unique": "expect_column_values_to_be_unique",
                "in_set": "expect_column_values_to_be_in_set", "regex": "expect_column_values_to_match_regex",
                "between": "expect_column_values_to_be_between",
                "hub": "expect_column_values_to_pass_hub_check"}[self.kind]


@dataclass
class Failure:
    rows: list[int]  # positions in the frame
    meta: dict[str, Any]


def _meta(check: str, reason: str, column: str, severity: str, rule: str) -> dict[str, Any]:
    return {"check": check, "reason": reason, "column": column, "severity": severity, "rule": rule}


_PLANS: dict[tuple[Any, ...], tuple[PlannedCheck, ...]] = {}


def plan(contract: StreamContract, checks: dict[str, DomainCheck]) -> tuple[PlannedCheck, ...]:
    """The contract's generic and domain checks in suite order, built once per contract."""
    key = (id(contract), str(contract.path), contract.stream, tuple(sorted(checks)))
    if key not in _PLANS:
        _PLANS[key] = tuple(_build(contract, checks))
    return _PLANS[key]


def _build(contract: StreamContract, checks: dict[str, DomainCheck]) -> list[PlannedCheck]:
    out: list[PlannedCheck] = []
    for col in contract.columns:
        if col.required:
            out.append(PlannedCheck("not_null", col.name, _meta("required", "required", col.name, "error", "required")))
    if contract.primary_key:
        out.append(PlannedCheck("unique", KEY, _meta("duplicate_key", "duplicate_key", "source_key", "error",
                                                     "key unique")))
    columns = {c.name for c in contract.columns}
    for rule in contract.rules:
        where = f"contract {contract.path.name}"
        if rule.column is None or rule.column not in columns:
            raise ConfigError(f"{where}: check {rule.check!r} names no column of the contract ({rule.column!r})")
        meta_args = (rule.column, rule.severity, rule.name)
        kw = rule.kwargs
        if rule.check in GENERIC:
            reason = str(kw.get("reason") or GENERIC[rule.check])
            meta = _meta(rule.check, reason, *meta_args)
            if reason == "required":
                out.append(PlannedCheck("not_null", rule.column, meta))
            elif reason == "duplicate_key":
                out.append(PlannedCheck("unique", rule.column, meta))
            elif reason == "enum" or rule.check in ("enum", "in_set"):
                out.append(PlannedCheck("in_set", rule.column, meta,
                                        {"value_set": list(kw.get("value_set") or kw.get("values") or [])}))
            elif rule.check == "regex":
                out.append(PlannedCheck("regex", rule.column, meta, {"regex": kw["regex"]}))
            else:
                out.append(PlannedCheck("between", rule.column, meta, {"min_value": kw.get("min"),
                                                                        "max_value": kw.get("max")}))
            continue
        check = checks.get(rule.check)
        if check is None:
            raise ConfigError(f"{where}: unknown check {rule.check!r} (registered: {', '.join(sorted(checks))}; "
                              f"generic: {', '.join(sorted(GENERIC))})")
        out.append(PlannedCheck("hub", rule.column, _meta(rule.check, check.reason_code, *meta_args),
                                {"check": rule.check, "options": dict(kw)}))
    return out


def columns(checks: tuple[PlannedCheck, ...]) -> set[str]:
    """Columns the checks read (plus any ``id_column`` a domain check looks at)."""
    cols: set[str] = set()
    for p in checks:
        cols.add(p.column)
        opts = p.kwargs.get("options") or {}
        if "id_column" in opts:
            cols.add(str(opts["id_column"]))
        elif p.kwargs.get("check") == "birth_date_matches_id":
            cols.add("citizen_id")
    return cols


def run_direct(name: str, checks_planned: tuple[PlannedCheck, ...], frame: pd.DataFrame, env: CheckEnv,
               checks: dict[str, DomainCheck]) -> list[Failure]:
    """The failing row positions of every check, as GX's pandas engine finds them, without GX."""
    import numpy as np

    failures: list[Failure] = []
    for p in checks_planned:
        column = frame[p.column]
        try:
            if p.kind == "not_null":
                bad = column.index[column.isna().to_numpy()]
            else:
                values = column[column.notna()]  # map expectations ignore nulls, as GX's do
                if p.kind == "unique":
                    ok = ~values.duplicated(keep=False)
                elif p.kind == "in_set":
                    ok = values.isin(p.kwargs["value_set"])
                elif p.kind == "regex":
                    ok = values.astype(str).str.contains(p.kwargs["regex"])
                elif p.kind == "hub":
                    ok = checks[p.kwargs["check"]].mask(values, frame, env, dict(p.kwargs["options"]))
                else:  # between: GX's own comparison semantics are subtle; never planned for direct runs
                    raise ConfigError("between is checked by GX only")
                bad = values.index[~np.asarray(ok, dtype=bool)]
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"suite {name}: expectation {p.gx_type} on {p.column!r} could not run: "
                              f"{exc}") from exc
        if len(bad):
            failures.append(Failure(rows=[int(i) for i in bad], meta=dict(p.meta)))
    return failures


def direct_possible(checks_planned: tuple[PlannedCheck, ...]) -> bool:
    """Whether every check has a direct form (``between`` compares mixed types as GX does only in GX)."""
    return all(p.kind != "between" for p in checks_planned)
