"""What a data steward reads and does: the quarantine queue and the quality report.

``show`` decrypts a row's raw values for the steward at the terminal (their entitlement);
callers must never log what it returns.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import Select, String, cast, or_, select

from hub.context import HubContext
from hub.db.base import utc_text, utcnow
from hub.db.models import ConsoleAction, QuarantinedRow, Run, RunStream
from hub.db.session import transaction
from hub.errors import HubError

STATUSES = ("open", "resolved", "replayed", "dismissed")
SCOPES = ("record", "field")


def _entry(q: QuarantinedRow) -> dict[str, Any]:
    """``scope`` ``record``: the row was refused; ``field``: the record loaded without ``column``."""
    return {"id": q.id, "run_id": q.run_id, "source": q.source, "stream": q.stream, "source_key": q.source_key,
            "scope": q.scope or "record", "column": q.column_name, "reasons": q.reasons, "status": q.status,
            "seen_run_id": q.seen_run_id or q.run_id,
            "created_at": utc_text(q.created_at), "resolved_at": utc_text(q.resolved_at),
            "resolved_run_id": q.resolved_run_id, "note": q.note}


def quarantine_query(source: str | None = None, stream: str | None = None, status: str | None = None,
                     scope: str | None = None, reason: str | None = None,
                     run: str | None = None) -> Select[tuple[QuarantinedRow]]:
    """The one filter the CLI and the console list by; a reason matches the ``check`` of any of a row's
    reasons; ``status`` ``all`` (or none) lists every status."""
    if status and status != "all" and status not in STATUSES:
        raise HubError(f"unknown status {status!r} (one of {', '.join(STATUSES)}, all)")
    if scope and scope not in SCOPES:
        raise HubError(f"unknown scope {scope!r} (one of {', '.join(SCOPES)})")
    query = select(QuarantinedRow)
    if scope:
        query = query.where(QuarantinedRow.scope == scope)
    if status and status != "all":
        query = query.where(QuarantinedRow.status == status)
    if source:
        query = query.where(QuarantinedRow.source == source)
    if stream:
        query = query.where(QuarantinedRow.stream == stream)
    if run:
        query = query.where(QuarantinedRow.run_id == run)
    if reason:
        text = cast(QuarantinedRow.reasons, String)
        query = query.where(or_(text.like(f'%"check":"{reason}"%'), text.like(f'%"check": "{reason}"%')))
    return query


def list_quarantine(ctx: HubContext, source: str | None = None, stream: str | None = None,
                    status: str | None = None, limit: int | None = None,
                    scope: str | None = None, reason: str | None = None,
                    run: str | None = None) -> list[dict[str, Any]]:
    query = quarantine_query(source, stream, status, scope, reason, run).order_by(QuarantinedRow.id)
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


def dismiss_rows(ctx: HubContext, ids: list[int], note: str, by: str) -> list[int]:
    """Dismiss open rows (all or none), one logged action per row so each can be undone alone; the
    action ids. ``by`` names the person: a console user, or ``cli:<login>`` at the terminal."""
    note = note.strip()
    if not note:
        raise HubError("a dismissal needs a note saying why (驳回需要填写说明)")
    if not ids:
        raise HubError("no row chosen (请至少选择一行)")
    batch = secrets.token_hex(8) if len(ids) > 1 else None
    out = []
    with transaction(ctx.db_url) as session:
        for row_id in ids:
            q = session.get(QuarantinedRow, row_id)
            if q is None:
                raise HubError(f"no quarantined row with id {row_id}")
            if q.status != "open":
                raise HubError(f"quarantined row {row_id} is {q.status}, not open")
            before = {"status": q.status, "note": q.note}
            q.status, q.note, q.resolved_at = "dismissed", note, utcnow()
            action = ConsoleAction(username=by, action="dismiss", target="quarantine", target_id=row_id,
                                   batch=batch, note=note, before=before, after={"status": "dismissed", "note": note})
            session.add(action)
            session.flush()
            out.append(action.id)
    return out


def undo_dismissal(ctx: HubContext, action_id: int, by: str) -> dict[str, Any]:
    """Undo one dismissal (the row is open again, its note as before). A replay is not undone: the
    rows it loaded are a new run in the ledger (重放已作为新的运行载入，不能撤销)."""
    with transaction(ctx.db_url) as session:
        action = session.get(ConsoleAction, action_id)
        if action is None or action.target != "quarantine":
            raise HubError(f"no quarantine action {action_id}")
        if action.undone_at is not None:
            raise HubError(f"action {action_id} was already undone")
        if action.action != "dismiss":
            raise HubError(f"action {action_id} is a {action.action}, not a dismissal: 重放已作为新的运行载入，不能撤销")
        q = session.get(QuarantinedRow, action.target_id)
        if q is None or q.status != "dismissed":
            raise HubError(f"row {action.target_id} is no longer dismissed")
        q.status, q.note, q.resolved_at = "open", (action.before or {}).get("note"), None
        action.undone_at, action.undone_by = utcnow(), by
        return {"action": action_id, "row": q.id, "status": q.status}


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
        # the reasons only: a whole row carries its encrypted raw values, which a count does not need
        for src, stream, reasons in session.execute(select(QuarantinedRow.source, QuarantinedRow.stream,
                                                           QuarantinedRow.reasons)
                                                    .where(QuarantinedRow.status == "open")):
            for r in reasons or []:
                if r.get("severity", "error") == "error":
                    open_reasons[(src, stream)][r.get("check")] += 1
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
