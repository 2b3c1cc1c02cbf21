"""The event board: open events by due date with working days left; overdue ones with whether a
reason was noted (注明原因); filters by grid, kind and remit. Each event is read by hub.township's
eventview, as ``/events`` and the printed ledger read it (county calendar, ledger category, handler)."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from hub.api.subtree import subtree
from hub.console.app import PREFIX, render
from hub.console.deps import SessionDep, UserDep, console_of
from hub.console.display import Paging, beijing_today, page_url
from hub.console.pages.grids import visible_cell
from hub.db.models import Event, GridCell
from hub.events.deadlines import CLOSED_STATUSES
from hub.township import eventview
from hub.township.rules import TownshipRules

router = APIRouter()
KINDS = {"dispute": "矛盾纠纷", "hazard": "消防隐患", "incident": "警情"}
REMITS = {"village": "村/社区", "township": "乡镇部门", "county": "县级部门"}
STATUS_NAMES = {"open": "待处理", "accepted": "已受理", "assigned": "已分派", "in_progress": "处理中",
                "transferred": "已移交", "overdue": "逾期"}


def township_rules(request: Request) -> TownshipRules:
    """The county's calendar, categories and annex from hub.yaml, read once per console."""
    state = console_of(request)
    if state.rules is None:
        state.rules = TownshipRules.from_config(state.ctx.config)
    return state.rules


_READINGS: OrderedDict[tuple[Any, ...], tuple[dict[str, Any], dict[str, Any]]] = OrderedDict()


def _read(e: Event, rules: TownshipRules, today: dt.date) -> tuple[dict[str, Any], dict[str, Any]]:
    """An event's reading, kept while the event row and Beijing's date stay the same."""
    key = (e.id, e.updated_at, e.status, today, id(rules))
    hit = _READINGS.get(key)
    if hit is None:
        hit = _READINGS[key] = (eventview.detailed(e, rules, today), eventview.listed(e, rules))
        while len(_READINGS) > 20_000:
            _READINGS.popitem(last=False)
    return hit


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
    rules = township_rules(request)
    items: list[dict[str, Any]] = []
    for e in rows:  # the same reading of an event as /events and the printed ledger (hub.township.eventview)
        detail, listed = _read(e, rules, today)
        items.append({"event": e, "grid_name": names.get(e.grid_code or "", ""),
                      "days_left": detail["working_days_left"], "reason": detail["reason_noted"],
                      "handler": detail["handler"], "category": listed["ledger_category"],
                      "provisional": listed["due_provisional"]})
    params = {"grid": grid, "kind": kind, "remit": remit, "overdue": overdue}
    return render(request, "events.html", items=items, total=total, params=params, kinds=KINDS, remits=REMITS,
                  status_names=STATUS_NAMES, cell=cell, today=today.isoformat(), sensitive=sensitive,
                  page=paging.page, prev_url=page_url(f"{PREFIX}/events", params, paging.page - 1),
                  next_url=page_url(f"{PREFIX}/events", params, paging.page + 1) if more else None,
                  title="事件看板")
