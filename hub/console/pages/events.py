"""The event board: open events by due date with working days left; overdue ones with whether a
reason was noted (注明原因); filters by grid, kind and remit."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from hub.api.subtree import subtree
from hub.console.app import PREFIX, render
from hub.console.deps import SessionDep, UserDep
from hub.console.display import Paging, beijing_today, page_url
from hub.console.pages.grids import visible_cell
from hub.db.models import Event, GridCell
from hub.events.calendar import is_working_day
from hub.events.deadlines import CLOSED_STATUSES

router = APIRouter()
KINDS = {"dispute": "矛盾纠纷", "hazard": "消防隐患", "incident": "警情"}
REMITS = {"village": "村/社区", "township": "乡镇部门", "county": "县级部门"}
STATUS_NAMES = {"open": "待处理", "accepted": "已受理", "assigned": "已分派", "in_progress": "处理中",
                "transferred": "已移交", "overdue": "逾期"}


@lru_cache(maxsize=8192)
def _working(day: dt.date) -> bool:
    """One day of the official calendar (a date's status never changes while the hub runs)."""
    return is_working_day(day)


@lru_cache(maxsize=8192)
def days_left(today: dt.date, due: dt.date | None) -> int | None:
    """Working days until the due date (negative: working days past it), counted as
    ``working_days_between`` counts them: the days in (earlier, later]."""
    if due is None:
        return None
    lo, hi = sorted((today, due))
    n = sum(_working(lo + dt.timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
    return n if due >= today else -n


def reason_noted(e: Event) -> bool:
    """A reason for the delay is on record: a failure/delay reason, or a note made after the due date."""
    details = e.details or {}
    if details.get("delay_reason") or details.get("overdue_reason") or details.get("failure_reason"):
        return True
    due = e.due_on.isoformat() if e.due_on else None
    return bool(due) and any(isinstance(h, dict) and h.get("note") and str(h.get("at") or "")[:10] > due  # type: ignore[operator]
                             for h in e.history or [])


@router.get("/events", response_class=HTMLResponse)
def board(request: Request, session: SessionDep, user: UserDep,
          grid: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")] = None,
          kind: Literal["dispute", "hazard", "incident"] | None = None,
          remit: Literal["village", "township", "county"] | None = None,
          overdue: Annotated[str | None, Query(pattern="^(yes|no)?$")] = None,
          page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse:
    cell = visible_cell(session, user, grid)
    sensitive = user.principal.has("read:sensitive")
    q = select(Event).where(Event.status.not_in(CLOSED_STATUSES))
    if cell is not None:
        q = q.where(subtree(cell.code, cell.level).clause(Event.grid_code))
    if not sensitive:
        q = q.where(Event.kind != "incident", Event.sensitive.is_(False))
    if kind:
        q = q.where(Event.kind == kind)
    if remit:
        q = q.where(Event.remit == remit)
    if overdue:
        q = q.where(Event.overdue.is_(overdue == "yes"))
    paging = Paging.of(page)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows, more = paging.cut(list(session.scalars(q.order_by(Event.due_on.is_(None), Event.due_on, Event.id)
                                                  .offset(paging.offset).limit(paging.size + 1))))
    today = beijing_today()
    codes = {e.grid_code for e in rows if e.grid_code}
    names = dict(session.execute(select(GridCell.code, GridCell.name).where(GridCell.code.in_(codes))).tuples().all()) \
        if codes else {}
    items: list[dict[str, Any]] = [{"event": e, "grid_name": names.get(e.grid_code or "", ""),
                                    "days_left": days_left(today, e.due_on), "reason_noted": reason_noted(e)}
                                   for e in rows]
    params = {"grid": grid, "kind": kind, "remit": remit, "overdue": overdue}
    return render(request, "events.html", items=items, total=total, params=params, kinds=KINDS, remits=REMITS,
                  status_names=STATUS_NAMES, cell=cell, today=today.isoformat(), sensitive=sensitive,
                  page=paging.page, prev_url=page_url(f"{PREFIX}/events", params, paging.page - 1),
                  next_url=page_url(f"{PREFIX}/events", params, paging.page + 1) if more else None,
                  title="事件看板")
