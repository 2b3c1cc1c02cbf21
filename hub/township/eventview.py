"""What ``/events`` adds to an event for the township (grid-work.md): its ledger category, whether its
due date is provisional, who handled it, the feedback, the reason noted for a late case, working days
left; and its times on Beijing's clock with the offset said (the store keeps them naive, as the
departments wrote them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.db.models import Event
from hub.events.clock import beijing_text, beijing_today
from hub.township import handling
from hub.township.rules import TownshipRules

COLUMNS = ("id", "kind", "grid_code", "remit", "status", "accepted_at", "occurred_at", "resolved_at", "closed_at",
           "history", "details")


def values_of(e: Event) -> dict[str, Any]:
    return {c: getattr(e, c) for c in COLUMNS}


def listed(e: Event, rules: TownshipRules) -> dict[str, Any]:
    start = handling.started_on(values_of(e))
    return {"ledger_category": rules.categories.of(e.kind, e.category),
            "due_provisional": bool(e.due_on and start and not (e.details or {}).get("rectification_due")
                                    and rules.calendar.provisional(start, e.due_on))}


def detailed(e: Event, rules: TownshipRules, today: dt.date | None = None) -> dict[str, Any]:
    values = values_of(e)
    today = today or beijing_today()
    h = handling.read(values, today, rules.calendar)
    return {"handler": handling.handler_of(values), "feedback": (e.details or {}).get("feedback"),
            "reason_noted": handling.reason_noted(values, h.due), "finished_on": h.finished_on,
            "working_days_left": handling.working_days_left(h, today, rules.calendar)}


def history(e: Event) -> list[dict[str, Any]]:
    return [{**h, "at": beijing_text(h.get("at"))} for h in (e.history or []) if isinstance(h, dict)]
