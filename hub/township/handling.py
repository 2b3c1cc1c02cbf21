"""How an event was handled, read as of a date (grid-work.md, 排查报送、处置反馈).

One reading shared by the assessment figures, the ledger's events sheet and ``/events/{id}``:
when the clock started, when it is due (working days of the county's calendar), when handling
finished (resolved, closed, rectified; a county-remit case also by being passed up; a hand-over
within the village's or township's remit does not finish it), who handled it, the feedback, and
the reason noted for a late case. Event times are naive Beijing clock times (the departments').
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.db.base import stored_date
from hub.events.calendar import WorkCalendar
from hub.events.clock import BEIJING
from hub.events.deadlines import REMIT_DAYS, remit_for

FINISHED = frozenset({"resolved", "closed", "rectified"})
PASSED_UP = "transferred"
SATISFIED = frozenset({"满意", "基本满意"})


@dataclass(frozen=True)
class Handling:
    started: dt.date | None
    due: dt.date | None
    provisional: bool  # the due date was counted on a guessed (Monday-Friday) calendar
    finished: bool  # by the as-of date
    finished_on: dt.date | None  # None when finished but the source gave no date
    passed_up_on: dt.date | None  # county remit: when it went up (by the as-of date)
    closed_with_feedback: str | None  # the feedback of a case closed by the as-of date
    overdue_open: bool  # not finished and due before the as-of date

    @property
    def on_time(self) -> bool:
        return self.finished and self.finished_on is not None and self.due is not None and self.finished_on <= self.due


def _day(value: Any) -> dt.date | None:
    """The Beijing date of a stored value: a zoned text time (a source's ``…Z`` or ``…+08:00``) is converted first."""
    if isinstance(value, str) and len(value) > 10:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return stored_date(value)
        return parsed.astimezone(BEIJING).date() if parsed.tzinfo else parsed.date()
    return stored_date(value)


def started_on(e: Mapping[str, Any]) -> dt.date | None:
    return _day(e.get("accepted_at")) or _day(e.get("occurred_at"))


def due_of(e: Mapping[str, Any], calendar: WorkCalendar) -> tuple[dt.date | None, bool]:
    """The due date and whether it is provisional; a hazard's 整改期限 wins over the plan's days."""
    start = started_on(e)
    explicit = _day((e.get("details") or {}).get("rectification_due"))
    if explicit is not None:
        return explicit, False
    if start is None:
        return None, False
    remit = e.get("remit") or remit_for(e.get("kind") or "")
    due = calendar.add_working_days(start, REMIT_DAYS.get(remit, REMIT_DAYS["township"]))
    return due, calendar.provisional(start, due)


def _steps(e: Mapping[str, Any]) -> list[tuple[str, dt.date | None, str | None]]:
    return [(str(h.get("status")), _day(h.get("at")), h.get("note")) for h in (e.get("history") or [])
            if isinstance(h, dict)]


def read(e: Mapping[str, Any], as_of: dt.date, calendar: WorkCalendar) -> Handling:
    """Where the event stood at the end of ``as_of``."""
    remit = e.get("remit") or remit_for(e.get("kind") or "")
    status = e.get("status") or "open"
    details = e.get("details") or {}
    steps = _steps(e)
    done_days = [d for s, d, _ in steps if s in FINISHED and d is not None]
    if status == "rectified" and e.get("resolved_at") is not None:
        done_days.append(_day(e["resolved_at"]))  # type: ignore[arg-type]
    if e.get("closed_at") is not None:
        done_days.append(_day(e["closed_at"]))  # type: ignore[arg-type]
    passed = [d for s, d, _ in steps if s == PASSED_UP and d is not None]
    if details.get("passed_up_at"):
        passed.append(_day(details["passed_up_at"]))  # type: ignore[arg-type]
    passed_up_on = min((d for d in passed if d and d <= as_of), default=None) if remit == "county" else None
    if passed_up_on is not None:
        done_days.append(passed_up_on)
    finished_on = min((d for d in done_days if d and d <= as_of), default=None)
    # finished, but the source gave no date (a rectified hazard without 整改完成日期): finished, never on time
    finished = finished_on is not None or (not done_days and status in FINISHED)
    due, provisional = due_of(e, calendar)
    closed = _day(e.get("closed_at"))
    feedback = details.get("feedback") if closed is not None and closed <= as_of else None
    return Handling(started=started_on(e), due=due, provisional=provisional, finished=finished,
                    finished_on=finished_on, passed_up_on=passed_up_on, closed_with_feedback=feedback,
                    overdue_open=not finished and due is not None and due < as_of)


def handler_of(e: Mapping[str, Any]) -> str | None:
    """Who handled the case: the mediator and the department a dispute names; the inspector who found a hazard."""
    details = e.get("details") or {}
    parts = [details.get("mediator"), details.get("department"), details.get("inspector")]
    return "／".join(str(p) for p in parts if p) or None


def reason_noted(e: Mapping[str, Any], due: dt.date | None) -> str | None:
    """注明原因: why a case was not solved in time, where the source says: the failure reason, else the
    latest progress note written after the due date."""
    details = e.get("details") or {}
    if details.get("failure_reason"):
        return str(details["failure_reason"])
    if due is None:
        return None
    notes = [(d, n) for s, d, n in _steps(e) if s == "in_progress" and n and d is not None and d > due]
    return str(max(notes, key=lambda x: x[0])[1]) if notes else None


def working_days_left(h: Handling, today: dt.date, calendar: WorkCalendar) -> int | None:
    """Working days left until the due date (0 on the day), negative when overdue; None once finished."""
    if h.finished or h.due is None:
        return None
    if h.due >= today:
        return calendar.working_days_between(today, h.due)
    return -calendar.working_days_between(h.due, today)
