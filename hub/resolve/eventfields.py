"""How the departments' event records read as event fields: times on the source's clock, the
dispute log's steps as a status timeline, the incident and hazard systems' status words.

Kept apart from :mod:`hub.resolve.events` (which projects events) so each stays one concern.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hub.quality.normalize import on_source_clock

DISPUTE_STEPS = {"case.accepted": "accepted", "case.assigned": "assigned", "case.progress": "in_progress",
                 "case.resolved": "resolved", "case.failed": "failed", "case.transferred": "transferred",
                 "case.closed": "closed"}
STEP_NOTE = {"case.assigned": "department", "case.progress": "note", "case.resolved": "agreement",
             "case.failed": "reason", "case.transferred": "to", "case.closed": "feedback"}
INCIDENT_STATUS = {"已受理": "accepted", "处理中": "in_progress", "已办结": "closed"}
HAZARD_STATUS = {"待整改": "open", "已整改": "rectified", "逾期": "overdue"}


def source_time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return on_source_clock(parsed)


def text_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def history_steps(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [step for step in value or [] if isinstance(step, dict)]


def advance(history: list[dict[str, Any]], status: str, at: dt.datetime | None) -> list[dict[str, Any]]:
    """A status timeline kept across runs for sources that only tell the current status."""
    if history and history[-1].get("status") == status:
        return history
    return [*history, {"status": status, "at": at.isoformat(sep=" ") if at else None, "note": None}]


def day_of(value: Any) -> dt.date | None:
    ts = source_time(value)
    return ts.date() if ts else None
