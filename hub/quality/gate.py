"""Apply a stream contract to raw rows: canonical rows out, failing rows quarantined with reasons."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from hub.connector.base import OP_COLUMN, REASON_COLUMN, UNREADABLE_COLUMN
from hub.contracts import StreamContract
from hub.errors import SchemaDriftError
from hub.quality.checks import DomainCheck
from hub.quality.normalize import Invalid, normalizer

KEY = "_source_key"


@dataclass
class GateResult:
    valid: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checks: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, check: str, passed: bool) -> None:
        stat = self.checks.setdefault(check, {"passed": 0, "failed": 0})
        stat["passed" if passed else "failed"] += 1


def check_drift(contract: StreamContract, raw_columns: Iterable[str]) -> list[str]:
    """Missing required raw columns stop the run (policy ``fail``); extras are only warnings."""
    present = set(raw_columns)
    missing = [c for c in contract.columns if c.required and c.raw not in present]
    warnings: list[str] = []
    for col in missing:
        message = (f"schema drift in {contract.source}.{contract.stream}: required column {col.raw!r} "
                   f"missing from the source (contract {contract.path.name})")
        if contract.drift_policy == "fail":
            raise SchemaDriftError(message)
        warnings.append(message)
    known = {c.raw for c in contract.columns} | {OP_COLUMN, REASON_COLUMN, UNREADABLE_COLUMN}
    extras = sorted(present - known)
    if extras:
        warnings.append(f"extra columns ignored in {contract.source}.{contract.stream}: {', '.join(extras)}")
    return warnings


def source_key(contract: StreamContract, raw: dict[str, Any]) -> str | None:
    parts = []
    for col in contract.primary_key:
        value = raw.get(col.raw)
        if value is None or str(value).strip() == "":
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        parts.append(str(value).strip())
    return "|".join(parts) if parts else None


def apply_contract(contract: StreamContract, table: pa.Table, result: GateResult, seen: set[str],
                   checks: dict[str, DomainCheck]) -> None:
    """Row by row: normalise, check required, the contract's domain checks, key uniqueness."""
    rules = [(rule, checks[rule.check]) for rule in contract.rules if rule.check in checks]
    for raw in table.to_pylist():
        reasons: list[dict[str, Any]] = []
        warnings: list[dict[str, Any]] = []
        key = source_key(contract, raw)
        if raw.get(OP_COLUMN) == "delete" and key is not None:
            # a tombstone carries only its key (and reason): the row's other checks do not apply
            result.valid.append({c.name: None for c in contract.columns}
                                | {KEY: key, OP_COLUMN: "delete", REASON_COLUMN: raw.get(REASON_COLUMN), "_warnings": None})
            seen.add(key)
            continue
        if raw.get(UNREADABLE_COLUMN):
            reasons.append({"check": "unreadable", "column": None, "value": str(raw[UNREADABLE_COLUMN])[:200]})
        canonical: dict[str, Any] = {}
        for col in contract.columns:
            try:
                value = normalizer(col.normalize)(raw.get(col.raw))
            except Invalid as bad:
                reason = {"check": bad.reason, "column": col.name, "value": None if col.is_pii else bad.detail}
                result.count(bad.reason, False)
                if col.options.get("invalidSeverity") == "warning":
                    warnings.append(reason | {"severity": "warning"})  # the value is dropped, the row kept
                    canonical[col.name] = None
                else:
                    reasons.append(reason)
                continue
            if col.required:
                ok = value is not None
                result.count("required", ok)
                if not ok:
                    reasons.append({"check": "required", "column": col.name, "value": None})
            canonical[col.name] = value
        for rule, check in rules:
            value = canonical.get(rule.column) if rule.column else None
            detail = check(value, canonical)
            result.count(rule.check, detail is None)
            if detail is not None:
                reason = {"check": rule.check, "column": rule.column, "value": detail, "severity": rule.severity}
                (reasons if rule.severity == "error" else warnings).append(reason)
        if key is None and not any(r["check"] == "required" for r in reasons):
            reasons.append({"check": "required", "column": "source_key", "value": None})
        if key is not None:
            duplicate = key in seen
            result.count("duplicate_key", not duplicate)
            if duplicate:
                reasons.append({"check": "duplicate_key", "column": "source_key", "value": key})
            seen.add(key)
        if reasons:
            result.quarantined.append({KEY: key, "_reasons": json.dumps(reasons, ensure_ascii=False),
                                       "_raw": json.dumps(raw, ensure_ascii=False, default=str)})
            continue
        canonical[KEY] = key
        canonical[OP_COLUMN] = raw.get(OP_COLUMN) or "upsert"
        canonical[REASON_COLUMN] = raw.get(REASON_COLUMN)
        canonical["_warnings"] = json.dumps(warnings, ensure_ascii=False) if warnings else None
        result.valid.append(canonical)
