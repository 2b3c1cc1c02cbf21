"""Deadlines from the township plan (legacy-systems.md, last section).

- within the village/community's remit: handled in 3 working days;
- within the township departments' remit: 5 working days;
- beyond the township: passed up to the county within 1 working day.

The clock starts on the day the event was accepted (or occurred, when there is no acceptance).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hub.events.calendar import PACKAGED, WorkCalendar

REMIT_DAYS = {"village": 3, "township": 5, "county": 1}

# dispute-mediation's `level`, and the default remit of each event kind when nothing says more
LEVEL_REMIT = {"村级": "village", "镇级": "township", "县级": "county"}
KIND_REMIT = {"dispute": "village", "incident": "township", "hazard": "township"}

CLOSED_STATUSES = {"resolved", "closed", "failed", "rectified", "done", "已整改", "cancelled"}
PASSED_UP_STATUSES = {"transferred"}


def remit_for(kind: str, level: str | None = None) -> str:
    if level in LEVEL_REMIT:
        return LEVEL_REMIT[level]
    if level in REMIT_DAYS:
        return level
    return KIND_REMIT.get(kind, "township")


def due_on(start: dt.date, remit: str, calendar: WorkCalendar | None = None) -> dt.date:
    return (calendar or PACKAGED).add_working_days(start, REMIT_DAYS[remit])


@dataclass(frozen=True)
class DeadlineState:
    due_on: dt.date
    overdue: bool
    escalated: bool
    provisional: bool = False  # counted on a guessed (Monday-Friday) calendar


def assess(kind: str, remit: str, started: dt.date, status: str, today: dt.date,
           finished: dt.date | None = None, explicit_due: dt.date | None = None,
           calendar: WorkCalendar | None = None) -> DeadlineState:
    """Where an event stands on ``today``.

    ``explicit_due`` (a hazard's 整改期限) wins over the plan's default. A county-remit event is
    done with once passed up (``transferred``); it is ``escalated`` either way, and overdue when it
    was not passed up within its one working day.
    """
    calendar = calendar or PACKAGED
    due = explicit_due or due_on(started, remit, calendar)
    done = status in CLOSED_STATUSES or (remit == "county" and status in PASSED_UP_STATUSES)
    reference = finished if (done and finished) else (None if done else today)
    overdue = reference is not None and reference > due
    provisional = explicit_due is None and calendar.provisional(started, due)
    return DeadlineState(due_on=due, overdue=overdue, escalated=remit == "county", provisional=provisional)
