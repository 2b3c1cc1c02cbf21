"""What a data steward reads and does: the quarantine queue and the quality report.

``show`` decrypts a row's raw values for the steward at the terminal (their entitlement);
callers must never log what it returns.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select

from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.models import QuarantinedRow, Run, RunStream
from hub.db.session import transaction
from hub.errors import HubError

STATUSES = ("open", "resolved", "replayed", "dismissed")
SCOPES = ("record", "field")


def _entry(q: QuarantinedRow) -> dict[str, Any]:
    """``scope`` ``record``: the row was refused; ``field``: the record loaded without ``column``."""
    return {"id": q.id, "run_id": q.run_id, "source": q.source, "stream": q.stream, "source_key": q.source_key,
            "scope": q.scope or "record", "column": q.column_name, "reasons": q.reasons, "status": q.status,
            "seen_run_id": q.seen_run_id or q.run_id,
            "created_at": q.created_at.isoformat() if q.created_at else None,
            "resolved_at": q.resolved_at.isoformat() if q.resolved_at else None,
            "resolved_run_id": q.resolved_run_id, "note": q.note}


def list_quarantine(ctx: HubContext, source: str | None = None, stream: str | None = None,
                    status: str | None = None, limit: int | None = None,
                    scope: str | None = None) -> list[dict[str, Any]]:
    if status and status not in STATUSES:
        raise HubError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    if scope and scope not in SCOPES:
        raise HubError(f"unknown scope {scope!r} (one of {', '.join(SCOPES)})")
    query = select(QuarantinedRow).order_by(QuarantinedRow.id)
    if scope:
        query = query.where(QuarantinedRow.scope == scope)
    if source:
        query = query.where(QuarantinedRow.source == source)
    if stream:
        query = query.where(QuarantinedRow.stream == stream)
    if status:
        query = query.where(QuarantinedRow.status == status)
    if limit:
        query = query.limit(limit)
    with transaction(ctx.db_url) as session:
        return [_entry(q) for q in session.scalars(query)]


def show_quarantine(ctx: HubContext, row_id: int) -> dict[str, Any]:
    """One row with its raw values decrypted (for the steward's eyes only); a field entry also
    names the field as the source wrote it (``raw_column``) and its raw ``value``."""
    with transaction(ctx.db_url) as session:
        q = session.get(QuarantinedRow, row_id)
        if q is None:
            raise HubError(f"no quarantined row with id {row_id}")
        entry = _entry(q)
        raw = ctx.vault.decrypt(q.raw_enc)
    entry["raw"] = json.loads(raw) if raw else None
    if entry["scope"] == "field" and entry["column"]:
        try:
            contract = ctx.contracts.find(ctx.connector_name(entry["source"]), entry["stream"])
            raw_column = contract.column(entry["column"]).raw if contract else entry["column"]
        except (HubError, KeyError):  # the source or the column is no longer configured
            raw_column = entry["column"]
        entry["raw_column"] = raw_column
        entry["value"] = (entry["raw"] or {}).get(raw_column)
    return entry


def dismiss_quarantine(ctx: HubContext, row_id: int, note: str) -> dict[str, Any]:
    if not note.strip():
        raise HubError("a dismissal needs a --note saying why")
    with transaction(ctx.db_url) as session:
        q = session.get(QuarantinedRow, row_id)
        if q is None:
            raise HubError(f"no quarantined row with id {row_id}")
        if q.status != "open":
            raise HubError(f"quarantined row {row_id} is {q.status}, not open")
        q.status, q.note, q.resolved_at = "dismissed", note.strip(), utcnow()
        return _entry(q)


def quality_report(ctx: HubContext, source: str | None = None, runs: int = 10) -> list[dict[str, Any]]:
    """Per source and stream: pass rate of every check in the latest run, and its trend over recent runs."""
    query = (select(Run.source, Run.run_id, Run.started_at, RunStream.stream, RunStream.read, RunStream.quarantined,
                    RunStream.warnings, RunStream.checks, RunStream.warning_list)
             .join(RunStream, RunStream.run_id == Run.run_id).where(Run.state == "success")
             .order_by(Run.started_at, Run.run_id))
    if source:
        query = query.where(Run.source == source)
    series: dict[tuple[str, str], list[Any]] = defaultdict(list)
    with transaction(ctx.db_url) as session:
        for row in session.execute(query):
            if row.read:  # a run that read nothing for a stream says nothing about its quality
                series[(row.source, row.stream)].append(row)
        open_reasons: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for q in session.scalars(select(QuarantinedRow).where(QuarantinedRow.status == "open")):
            for r in q.reasons or []:
                if r.get("severity", "error") == "error":
                    open_reasons[(q.source, q.stream)][r.get("check")] += 1
    report = []
    for (src, stream), rows in sorted(series.items()):
        recent = rows[-runs:]
        latest = recent[-1]
        names = sorted({name for r in recent for name in (r.checks or {})})
        checks = []
        for name in names:
            trend = [_rate((r.checks or {}).get(name)) for r in recent]
            stat = (latest.checks or {}).get(name) or {"passed": 0, "failed": 0}
            checks.append({"check": name, "passed": stat["passed"], "failed": stat["failed"],
                           "pass_rate": _rate(stat), "trend": trend})
        report.append({"source": src, "stream": stream, "runs": [r.run_id for r in recent],
                       "read": latest.read, "quarantined": latest.quarantined, "warnings": latest.warnings,
                       "warning_messages": list(latest.warning_list or []),
                       "quarantine_rate_trend": [round(r.quarantined / r.read, 4) for r in recent],
                       "checks": checks, "open_quarantine": dict(open_reasons.get((src, stream), {}))})
    return report


def _rate(stat: dict[str, int] | None) -> float | None:
    if not stat:
        return None
    total = stat.get("passed", 0) + stat.get("failed", 0)
    return round(stat.get("passed", 0) / total, 4) if total else None
