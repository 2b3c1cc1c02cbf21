"""Quarantine triage from the console: the filters' choices, replays logged per row, recent actions.

Listing, dismissal and undo are hub.quality.steward's, the same functions `hub quarantine` calls. A
replay loads rows that now pass as a new run in the ledger; that is not undone from here (the loaded
records are the department's data).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.db.models import ConsoleAction, QuarantinedRow
from hub.db.session import transaction


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


def recent_actions(session: Session, limit: int = 20, target: str = "quarantine") -> list[ConsoleAction]:
    return list(session.scalars(select(ConsoleAction).where(ConsoleAction.target == target)
                                .order_by(ConsoleAction.id.desc()).limit(limit)))
