"""The daily pass of the events DAG: every open event re-assessed against today's date.

``assess_event`` is the one place an Event's deadline fields are computed, used both when resolve
projects events and here, so the two can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import select, update

from hub.context import HubContext
from hub.db.base import stored_date, utcnow
from hub.db.models import ChangeFeed, Event
from hub.db.session import transaction
from hub.events.calendar import WorkCalendar, calendar_for
from hub.events.clock import beijing_today
from hub.events.deadlines import CLOSED_STATUSES, PASSED_UP_STATUSES, DeadlineState, assess, remit_for


def finished_on(values: dict[str, Any]) -> dt.date | None:
    """When handling ended: resolved (or rectified, failed, passed up), else closed."""
    details = values.get("details") or {}
    return (stored_date(values.get("resolved_at")) or stored_date(details.get("passed_up_at"))
            or stored_date(values.get("closed_at")))


def assess_event(values: dict[str, Any], today: dt.date,
                 calendar: WorkCalendar | None = None) -> DeadlineState | None:
    """Deadline state of an event given its stored fields; None when it has no start date."""
    started = stored_date(values.get("accepted_at")) or stored_date(values.get("occurred_at"))
    if started is None:
        return None
    kind = values["kind"]
    remit = values.get("remit") or remit_for(kind)
    explicit = stored_date((values.get("details") or {}).get("rectification_due"))
    return assess(kind, remit, started, values.get("status") or "open", today, finished_on(values), explicit,
                  calendar)


def is_open(status: str | None, remit: str | None) -> bool:
    return status not in CLOSED_STATUSES and not (remit == "county" and status in PASSED_UP_STATUSES)


def mark_overdue(ctx: HubContext, today: dt.date | None = None) -> dict[str, int]:
    """Re-assess every open (or never assessed) event; write only changed deadline fields (and the feed).

    ``today`` defaults to Beijing's date, whatever the server's zone."""
    today = today or beijing_today()
    calendar = calendar_for(ctx.config)
    counts: Counter[str] = Counter()
    cols = [Event.id, Event.kind, Event.remit, Event.status, Event.accepted_at, Event.occurred_at,
            Event.resolved_at, Event.closed_at, Event.details, Event.due_on, Event.overdue, Event.escalated]
    ctx.ensure_store()
    with transaction(ctx.db_url) as session:
        changes: list[dict[str, Any]] = []
        for row in session.execute(select(*cols)):
            values = dict(row._mapping)
            if not is_open(values["status"], values["remit"]) and values["due_on"] is not None:
                continue  # handled: its deadline verdict is final (assessed when it was projected)
            counts["assessed"] += 1
            state = assess_event(values, today, calendar)
            if state is None:
                counts["without_start_date"] += 1
                continue
            counts["overdue"] += state.overdue
            counts["escalated"] += state.escalated
            want = {"due_on": state.due_on, "overdue": state.overdue, "escalated": state.escalated}
            if any(values[k] != v for k, v in want.items()):
                counts["newly_overdue"] += state.overdue and not values["overdue"]
                changes.append({"id": values["id"], **want})
        for i in range(0, len(changes), 5000):
            session.execute(update(Event), changes[i:i + 5000])
        now = utcnow()
        if changes:
            session.execute(ChangeFeed.__table__.insert(), [
                {"entity_type": "event", "entity_id": c["id"], "change": "updated", "changed_at": now}
                for c in changes])
        counts["updated"] = len(changes)
    return {k: counts[k] for k in ("assessed", "overdue", "newly_overdue", "escalated", "updated",
                                   "without_start_date")}
