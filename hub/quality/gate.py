"""Apply a stream contract to raw rows: canonical rows out, failing rows quarantined with reasons.

Column at a time: normalise (``hub.quality.vector``), then run the contract's GX suite
(``hub.quality.expectations``) on the canonical batch, then assemble row-level reasons
``{check, column, value, severity, detail}`` for the few rows that failed. ``error`` quarantines
a row; ``warning`` flags it (``_warnings``) and lets it through. A reason's ``value`` never
holds a clear citizen ID or phone: PII values are masked, control characters escaped.

An error on a column the contract does not count as identifying (``Column.identifying``) spoils
only that field: the row stays valid with the field (and any column read from the same raw
column) withheld as null, and carries ``_fields`` (the field's reasons) and ``_raw`` (its raw
values) so load can write a field-scoped quarantine entry. An error on the key, an identifying
column or the row as a whole quarantines the row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.connector.base import OP_COLUMN, REASON_COLUMN, UNREADABLE_COLUMN
from hub.contracts import Column, StreamContract
from hub.privacy import mask_citizen_id, mask_phone
from hub.quality import control, suite_plan
from hub.quality.checks import CheckEnv, DomainCheck
from hub.quality.columns import FIELDS, KEY, RAW
from hub.quality.drift import check_drift, check_values
from hub.quality.suite_plan import Failure
from hub.quality.vector import normalize_array

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FIELDS", "KEY", "RAW", "GateResult", "Prepared", "apply_contract", "check_drift", "finish", "prepare",
           "source_keys", "suite_failures"]


@dataclass
class GateResult:
    valid: list[pa.Table] = field(default_factory=list)
    quarantined: list[pa.Table] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checks: dict[str, dict[str, int]] = field(default_factory=dict)
    validations: list[Any] = field(default_factory=list)  # GX suite results, one per batch
    withheld: int = 0  # valid rows loaded with at least one field withheld
    suite_rows: int = 0  # rows the GX suite saw, over every batch
    suite_counted: dict[str, int] = field(default_factory=dict)  # of those, rows each failing check counted

    def count(self, check: str, passed: bool) -> None:
        self.add(check, int(passed), int(not passed))

    def add(self, check: str, passed: int, failed: int) -> None:
        stat = self.checks.setdefault(check, {"passed": 0, "failed": 0})
        stat["passed"] += int(passed)
        stat["failed"] += int(failed)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def settle_suite_counts(self) -> None:
        """A suite check is counted only in the batches where it failed: its rows of the other
        batches passed it. Without this a run's figures depended on its batch size (a check failing
        in one batch of five showed a fifth of the rows)."""
        for check, counted in self.suite_counted.items():
            self.add(check, max(self.suite_rows - counted, 0), 0)
            self.suite_counted[check] = self.suite_rows

    @property
    def valid_rows(self) -> int:
        return sum(t.num_rows for t in self.valid)

    @property
    def quarantined_rows(self) -> int:
        return sum(t.num_rows for t in self.quarantined)


def _key_part(arr: pa.Array) -> pa.Array:
    if pa.types.is_floating(arr.type):  # 12.0 -> "12"; other floats as Python writes them
        arr = pa.array([None if v is None else str(int(v)) if float(v).is_integer() else str(v)
                        for v in arr.to_pylist()], pa.string())
    s = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    return pc.if_else(pc.equal(s, ""), pa.nulls(len(s), pa.string()), s)


def source_keys(contract: StreamContract, table: pa.Table) -> pa.Array:
    """``|``-joined trimmed primary-key values; null when any part is blank."""
    parts = [_key_part(_column(table, c.raw)) for c in contract.primary_key]
    if not parts:
        return pa.nulls(table.num_rows, pa.string())
    return parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "|")


def _column(table: pa.Table, name: str) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    col = table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _shown(col: Column | None, value: Any) -> Any:
    """A value fit for a reason: PII masked, long text cut, control characters escaped."""
    if value is None:
        return None
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if col is not None and col.is_pii:
        kind = col.options.get("piiKind", col.normalize)
        return mask_phone(text) if kind == "phone" else mask_citizen_id(text) if kind == "citizen_id" else None
    return control.visible(text[:64])


@dataclass
class Prepared:
    """A raw batch normalised, its canonical frame waiting for the suite's verdicts."""

    table: pa.Table
    keys: pa.Array
    tomb: pa.Array
    canonical: dict[str, pa.Array]
    errors: dict[int, list[dict[str, Any]]]
    warns: dict[int, list[dict[str, Any]]]
    failed_cols: set[tuple[int, str]]
    frame_rows: np.ndarray
    frame: pd.DataFrame
    planned: tuple[suite_plan.PlannedCheck, ...]
    warnings: list[str]  # the batch's own, told once its verdicts are in (the order a batch at a time gives)


def apply_contract(contract: StreamContract, table: pa.Table, result: GateResult,
                   checks: dict[str, DomainCheck], env: CheckEnv | None = None) -> None:
    """One raw batch through the gate. A key repeated in a later batch of the run is not the gate's
    concern: load keeps the newest row of a key (a re-delivered correction)."""
    env = env or CheckEnv()
    prepared = prepare(contract, table, result, checks)
    if prepared is not None:
        finish(contract, prepared, suite_failures(contract, prepared, result, checks, env), result, checks, env)


def prepare(contract: StreamContract, table: pa.Table, result: GateResult, checks: dict[str, DomainCheck],
            warnings: list[str] | None = None) -> Prepared | None:
    """Normalise a raw batch (the gate's first half); None for an empty batch. ``warnings``: the
    batch's drift warnings, told with its own."""
    n = table.num_rows
    if n == 0:
        for w in warnings or []:
            result.warn(w)
        return None
    batch_warnings = list(warnings or [])
    keys = source_keys(contract, table)
    ops = _column(table, OP_COLUMN)
    tomb = pc.fill_null(pc.and_(pc.equal(ops.cast(pa.string()), "delete"), pc.is_valid(keys)), False)
    tomb_np = tomb.to_numpy(zero_copy_only=False)
    live = ~tomb_np
    live_mask, n_live = pa.array(live), int(live.sum())
    errors: dict[int, list[dict[str, Any]]] = defaultdict(list)
    warns: dict[int, list[dict[str, Any]]] = defaultdict(list)
    failed_cols: set[tuple[int, str]] = set()

    unreadable = _column(table, UNREADABLE_COLUMN)
    for r in np.flatnonzero(pc.is_valid(unreadable).to_numpy(zero_copy_only=False) & live):
        errors[int(r)].append({"check": "unreadable", "column": None, "severity": "error",
                               "value": control.visible(str(unreadable[int(r)].as_py())[:200]),
                               "detail": "the source row could not be read"})
    result.add("unreadable", int(live.sum()) - len(errors), len(errors))

    canonical: dict[str, pa.Array] = {}
    for col in contract.columns:
        raw = _column(table, col.raw)
        controlled = control.rows_with_control(raw, json_text=col.normalize == "keep")
        for r in controlled:
            if live[r]:  # never stored, whatever the normaliser would make of it
                text = raw[int(r)].as_py()
                errors[int(r)].append({"check": control.REASON, "column": col.name, "value": _shown(col, text),
                                       "severity": "error", "detail": control.first_control(text)})
                failed_cols.add((int(r), col.name))
        out = normalize_array(col.normalize, raw)
        canonical[col.name] = out.values
        if len(controlled) and tomb_np[controlled].any():  # a tombstone keeps its values, but never these
            mask = np.zeros(n, dtype=bool)
            mask[controlled] = tomb_np[controlled]
            canonical[col.name] = pc.if_else(pa.array(mask), pa.nulls(n, out.values.type), out.values)
        soft = col.options.get("invalidSeverity") == "warning"
        bad_live = [(int(r), bad) for r, bad in zip(out.bad_rows, out.bad, strict=True) if live[r]]
        for r, bad in bad_live:
            if (r, col.name) in failed_cols:
                continue  # a control character already explains it
            reason = {"check": bad.reason, "column": col.name, "value": _shown(col, raw[r].as_py()),
                      "severity": "warning" if soft else "error", "detail": bad.detail}
            (warns if soft else errors)[r].append(reason)
            failed_cols.add((r, col.name))
        parsed = int(pc.sum(pc.is_valid(out.values).filter(live_mask)).as_py() or 0)
        drift_warnings: list[str] = []
        check_values(contract, col, parsed + len(bad_live), len(bad_live), drift_warnings, empty_rows=n_live)
        batch_warnings.extend(drift_warnings)
        if col.normalize not in (None, "keep", "text"):
            result.add(f"normalize.{col.normalize}:{col.name}", parsed, len(bad_live))

    frame_rows = np.flatnonzero(live)
    planned = suite_plan.plan(contract, checks)
    cols = suite_plan.columns(planned) & (set(canonical) | {KEY})
    frame = pa.table({c: (keys if c == KEY else canonical[c]).take(pa.array(frame_rows)) for c in sorted(cols)}
                     ).to_pandas(date_as_object=False)
    return Prepared(table=table, keys=keys, tomb=tomb, canonical=canonical, errors=errors, warns=warns,
                    failed_cols=failed_cols, frame_rows=frame_rows, frame=frame, planned=planned,
                    warnings=batch_warnings)


def suite_failures(contract: StreamContract, prepared: Prepared, result: GateResult,
                   checks: dict[str, DomainCheck], env: CheckEnv) -> list[Failure]:
    """The suite's failing rows of one batch, by GX or (a run's first handful of rows) directly."""
    planned, frame = prepared.planned, prepared.frame
    if (len(prepared.frame_rows) <= suite_plan.direct_rows() and suite_plan.direct_possible(planned)
            and not result.validations):
        # a handful of rows: GX's import would cost more than the rest of the run (no Data Docs page);
        # a large run's short last batch still goes through GX, so its page counts every row
        return suite_plan.run_direct(f"{contract.source}.{contract.stream}", planned, frame, env, checks)
    from hub.quality.expectations import compile_suite, run_suite

    validation, failures = run_suite(compile_suite(contract, checks), frame, env, checks)
    result.validations.append(validation)
    return failures


def finish(contract: StreamContract, prepared: Prepared, failures: list[Failure], result: GateResult,
           checks: dict[str, DomainCheck], env: CheckEnv) -> None:
    """The gate's second half: the suite's verdicts as reasons, then valid and quarantined rows."""
    table, keys, canonical, frame, frame_rows = (prepared.table, prepared.keys, prepared.canonical,
                                                 prepared.frame, prepared.frame_rows)
    errors, warns, failed_cols = prepared.errors, prepared.warns, prepared.failed_cols
    live = ~prepared.tomb.to_numpy(zero_copy_only=False)
    for w in prepared.warnings:
        result.warn(w)
    for note in env.notes:
        result.warn(f"{contract.source}.{contract.stream}: {note}")
    by_name = {c.name: c for c in contract.columns}
    duplicates = set()
    if contract.primary_key:
        dup = frame[KEY].duplicated(keep="first") & frame[KEY].notna()
        duplicates = set(np.flatnonzero(dup.to_numpy()))
    counted_here: set[str] = set()
    for failure in failures:
        meta = failure.meta
        column, reason, severity = meta["column"], meta["reason"], meta.get("severity", "error")
        rows = failure.rows
        if reason == "duplicate_key" and column == "source_key":
            rows = [p for p in rows if p in duplicates]  # the first occurrence of a key stays valid
        flagged = 0
        for p in rows:
            r = int(frame_rows[p])
            if (r, column) in failed_cols:
                continue  # already reported by normalisation (e.g. required after an unreadable ID)
            flagged += 1
            col = by_name.get(column)
            value = None if reason in ("required",) else _shown(col, frame[column].iat[p] if column in frame else keys[r].as_py())
            if reason == "duplicate_key" and column == "source_key":
                value = _shown(contract.primary_key[0], keys[r].as_py()) if contract.primary_key[0].is_pii else value
            detail = _detail(checks.get(meta["check"]), frame, p, column)
            reason_code = detail.reason if hasattr(detail, "reason") else reason
            entry = {"check": reason_code, "column": column, "value": value, "severity": severity,
                     "detail": getattr(detail, "detail", detail) or meta.get("rule")}
            (errors if severity == "error" else warns)[r].append(entry)
        result.add(f"{meta['check']}:{column}", len(frame_rows) - flagged, flagged)
        name = f"{meta['check']}:{column}"
        if name not in counted_here:  # the batch's rows count once towards this check
            counted_here.add(name)
            result.suite_counted[name] = result.suite_counted.get(name, 0) + len(frame_rows)
    for r in np.flatnonzero(pc.is_null(keys).to_numpy(zero_copy_only=False) & live):
        if not any(e["check"] == "required" for e in errors[int(r)]):
            errors[int(r)].append({"check": "required", "column": "source_key", "value": None, "severity": "error",
                                   "detail": "primary key blank"})
    result.suite_rows += len(frame_rows)
    _emit(contract, table, keys, canonical, prepared.tomb, errors, warns, result)


def _detail(check: DomainCheck | None, frame: Any, p: int, column: str) -> Any:
    if check is None or column not in frame:
        return None
    value = frame[column].iat[p]
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime().date() if check.name.startswith("birth") else value.to_pydatetime()
    try:
        return check(value, frame.iloc[p].to_dict())
    except Exception:  # the detail is a courtesy; the verdict came from the expectation
        return None


def _emit(contract: StreamContract, table: pa.Table, keys: pa.Array, canonical: dict[str, pa.Array],
          tomb: pa.Array, errors: dict[int, list[dict[str, Any]]], warns: dict[int, list[dict[str, Any]]],
          result: GateResult) -> None:
    n = table.num_rows
    bad_rows, fields = _split(contract, errors)
    bad = np.zeros(n, dtype=bool)
    bad[bad_rows] = True
    keep = pa.array(~bad)
    tomb_np = tomb.to_numpy(zero_copy_only=False)
    # A tombstone keeps whatever values it carries (normalised; unreadable ones are null): a cancelled
    # person still says who they were, so resolve can retire the right entity.
    cols = {c.name: canonical[c.name] for c in contract.columns}
    withheld: dict[str, list[int]] = defaultdict(list)
    for r, by_column in fields.items():
        for column in by_column:
            for twin in contract.twins(column):
                withheld[twin].append(r)
    for name, rows in withheld.items():
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        cols[name] = pc.if_else(pa.array(mask), pa.nulls(n, cols[name].type), cols[name])
    ops = pc.if_else(tomb, "delete", "upsert")
    reasons = _column(table, REASON_COLUMN).cast(pa.string())
    warn_json: list[str | None] = [None] * n
    for r, items in warns.items():
        if items and not tomb_np[r]:
            warn_json[r] = json.dumps(items, ensure_ascii=False)
    field_json: list[str | None] = [None] * n
    raw_json: list[str | None] = [None] * n
    if fields:
        rows = sorted(fields)
        for r, raw_row in zip(rows, table.take(pa.array(rows)).to_pylist(), strict=True):
            field_json[r] = json.dumps([{"column": c, "reasons": rs} for c, rs in fields[r].items()],
                                       ensure_ascii=False)
            raw_json[r] = json.dumps(raw_row, ensure_ascii=False, default=str)
        result.withheld += len(rows)
    valid = pa.table({**cols, KEY: keys, OP_COLUMN: ops, REASON_COLUMN: pc.if_else(tomb, reasons, pa.nulls(n, pa.string())),
                      "_warnings": pa.array(warn_json, pa.string()), FIELDS: pa.array(field_json, pa.string()),
                      RAW: pa.array(raw_json, pa.string())}).filter(keep)
    if valid.num_rows:
        result.valid.append(valid)
    if bad_rows:
        raw = table.take(pa.array(bad_rows)).to_pylist()
        result.quarantined.append(pa.table({
            KEY: keys.take(pa.array(bad_rows)),
            "_row": pa.array(bad_rows, pa.int64()),  # position in the raw batch (replay maps rows back)
            "_reasons": pa.array([json.dumps(errors[r] + warns.get(r, []), ensure_ascii=False) for r in bad_rows]),
            RAW: pa.array([json.dumps(row, ensure_ascii=False, default=str) for row in raw]),
        }))


def _split(contract: StreamContract, errors: dict[int, list[dict[str, Any]]]
           ) -> tuple[list[int], dict[int, dict[str, list[dict[str, Any]]]]]:
    """Rows to quarantine whole, and per remaining row the non-identifying columns to withhold."""
    whole: list[int] = []
    fields: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for r in sorted(errors):
        reasons = errors[r]
        if not reasons:
            continue
        if any(contract.identifies(e.get("column")) for e in reasons):
            whole.append(r)
            continue
        by_column: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in reasons:
            by_column[e["column"]].append(e)
        fields[r] = dict(by_column)
    return whole, fields


def stream_tables(result: GateResult) -> tuple[pa.Table, pa.Table]:
    """The run's valid and quarantined rows as one table each (schemas unified across batches)."""
    valid = pa.concat_tables(result.valid, promote_options="permissive") if result.valid else pa.table({})
    quarantined = (pa.concat_tables(result.quarantined, promote_options="permissive")
                   if result.quarantined else pa.table({KEY: pa.array([], pa.string()), "_row": pa.array([], pa.int64()),
                                                        "_reasons": pa.array([], pa.string()),
                                                        "_raw": pa.array([], pa.string())}))
    return valid, quarantined


def describe(rows: Iterable[dict[str, Any]]) -> str:
    return ", ".join(sorted({r["check"] for r in rows}))
