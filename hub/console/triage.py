"""Quarantine triage from the console: filtered lists, dismiss and replay logged per row, undo.

Dismissals are logged in ``console_action`` with the row's state before, one entry per row even in
bulk, and each can be undone alone (the row is open again). A replay loads rows that now pass as a
new run in the ledger; that is not undone from here (the loaded records are the department's data).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.models import ConsoleAction, QuarantinedRow
from hub.db.session import transaction
from hub.errors import HubError
from hub.quality.steward import SCOPES, STATUSES


def filtered(source: str | None, stream: str | None, reason: str | None, run: str | None, status: str | None,  # type: ignore[no-untyped-def]
             scope: str | None = None):
    """The list's query; a reason matches the ``check`` of any of a row's reasons; scope is record|field."""
    q = select(QuarantinedRow)
    if scope:
        if scope not in SCOPES:
            raise HubError(f"unknown scope {scope!r}")
        q = q.where(QuarantinedRow.scope == scope)
    if status and status != "all":
        if status not in STATUSES:
            raise HubError(f"unknown status {status!r}")
        q = q.where(QuarantinedRow.status == status)
    if source:
        q = q.where(QuarantinedRow.source == source)
    if stream:
        q = q.where(QuarantinedRow.stream == stream)
    if run:
        q = q.where(QuarantinedRow.run_id == run)
    if reason:
        text = cast(QuarantinedRow.reasons, String)
        q = q.where(or_(text.like(f'%"check":"{reason}"%'), text.like(f'%"check": "{reason}"%')))
    return q


def facets(session: Session) -> dict[str, list[Any]]:
    """What the filters offer: sources, streams, runs with open rows, and reason codes seen."""
    pairs = session.execute(select(QuarantinedRow.source, QuarantinedRow.stream).distinct()
                            .order_by(QuarantinedRow.source, QuarantinedRow.stream)).all()
    runs = session.execute(select(QuarantinedRow.run_id, func.count()).where(QuarantinedRow.status == "open")
                           .group_by(QuarantinedRow.run_id).order_by(QuarantinedRow.run_id.desc()).limit(30)).all()
    reasons: set[str] = set()
    for (found,) in session.execute(select(QuarantinedRow.reasons).where(QuarantinedRow.status == "open").limit(5000)):
        reasons.update(str(r.get("check")) for r in found or [] if isinstance(r, dict))
    return {"sources": sorted({s for s, _ in pairs}), "streams": sorted({t for _, t in pairs}),
            "runs": [r for r, _ in runs], "reasons": sorted(reasons)}


def dismiss_rows(ctx: HubContext, ids: list[int], note: str, by: str) -> list[int]:
    """Dismiss open rows (all or none), one logged action per row; the action ids."""
    note = note.strip()
    if not note:
        raise HubError("驳回需要填写说明（note）")
    if not ids:
        raise HubError("请至少选择一行")
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


def replay_rows(ctx: HubContext, ids: list[int], by: str) -> dict[str, Any]:
    """Replay rows through today's contract; each row's outcome is logged (replayed or still open)."""
    from hub.stages.replay import replay

    info = replay(ctx, ids=ids)
    batch = secrets.token_hex(8) if len(ids) > 1 else None
    with transaction(ctx.db_url) as session:
        states = dict(session.execute(select(QuarantinedRow.id, QuarantinedRow.status)
                                      .where(QuarantinedRow.id.in_(ids))).tuples().all())
        for row_id in ids:
            session.add(ConsoleAction(username=by, action="replay", target="quarantine", target_id=row_id, batch=batch,
                                      before={"status": "open"}, after={"status": states.get(row_id)},
                                      note="; ".join(f"{s}: run {i.run_id}" for s, i in info.runs.items())))
    return {"passed": info.passed, "still_failing": info.still_failing,
            "runs": {s: i.run_id for s, i in info.runs.items()}}


def undo_action(ctx: HubContext, action_id: int, by: str) -> dict[str, Any]:
    """Undo one dismissal (the row is open again, its note as before); other actions refuse."""
    with transaction(ctx.db_url) as session:
        action = session.get(ConsoleAction, action_id)
        if action is None or action.target != "quarantine":
            raise HubError(f"no quarantine action {action_id}")
        if action.undone_at is not None:
            raise HubError(f"action {action_id} was already undone")
        if action.action != "dismiss":
            raise HubError("重放已作为新的运行载入，不能撤销")
        q = session.get(QuarantinedRow, action.target_id)
        if q is None or q.status != "dismissed":
            raise HubError(f"row {action.target_id} is no longer dismissed")
        q.status, q.note, q.resolved_at = "open", (action.before or {}).get("note"), None
        action.undone_at, action.undone_by = utcnow(), by
        return {"action": action_id, "row": q.id, "status": q.status}


def recent_actions(session: Session, limit: int = 20, target: str = "quarantine") -> list[ConsoleAction]:
    return list(session.scalars(select(ConsoleAction).where(ConsoleAction.target == target)
                                .order_by(ConsoleAction.id.desc()).limit(limit)))
