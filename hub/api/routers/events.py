"""/events: disputes, fire hazards and (read:sensitive) police incidents, with deadlines and history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from hub.api.audit import audit_persons
from hub.api.deps import EventsKey, SessionDep, canonical_id, check_visible, visible_range
from hub.api.keys import Principal
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, next_cursor
from hub.api.problems import ApiProblem
from hub.api.references import OUTSIDE, visible_ids
from hub.api.schemas.events import EventDetail, EventOut, Party
from hub.db.models import Event, EventParty
from hub.township import eventview
from hub.township.rules import TownshipRules, rules_of

router = APIRouter(prefix="/events", tags=["events"])
MOVED = {308: {"description": "a merged id: `Location` names the surviving event"}}
KINDS = ("dispute", "hazard", "incident")
#: the days an event may be asked about: far wider than any record, narrower than the date type
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
Kind = Literal["dispute", "hazard", "incident"]


def event_out(e: Event, rules: TownshipRules) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "category": e.category, "grid_code": e.grid_code, "location": e.location,
            "remit": e.remit, "status": e.status, "occurred_at": e.occurred_at, "due_on": e.due_on,
            "overdue": bool(e.overdue), "escalated": bool(e.escalated), "organization_id": e.organization_id,
            **eventview.listed(e, rules)}


def sensitive_hidden(e: Event, key: Principal) -> bool:
    return (e.kind == "incident" or bool(e.sensitive)) and not key.has("read:sensitive")


@router.get("", response_model=Page[EventOut], summary="List events")
def list_events(
    request: Request, session: SessionDep, key: EventsKey,
    grid: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")] = None,
    kind: Kind | None = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    overdue: bool | None = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    occurred_from: Annotated[dt.date | None, Query(description="on or after this day")] = None,
    occurred_to: Annotated[dt.date | None, Query(description="on or before this day")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[EventOut]:
    filters = {"grid": grid, "kind": kind, "status": status, "overdue": overdue, "category": category,
               "from": occurred_from, "to": occurred_to}
    after = decode_cursor(cursor, filters, 1)
    for name, day in (("occurred_from", occurred_from), ("occurred_to", occurred_to)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:  # 9999-12-31 + 1 day overflows: not a 500
            raise ApiProblem(400, f"{name} must lie between {FIRST_DAY} and {LAST_DAY}", title="Invalid parameter")
    sensitive = key.has("read:sensitive")
    if kind == "incident" and not sensitive:
        return Page(items=[], next_cursor=None)
    stmt = select(Event).order_by(Event.id).limit(limit + 1)
    rng = visible_range(request, session, key, grid)
    if rng is not None:
        stmt = stmt.where(rng.clause(Event.grid_code))
    if kind or occurred_from or occurred_to:
        # a list of kinds also lets a date range ride the (kind, occurred_at) index
        stmt = stmt.where(Event.kind.in_([kind] if kind else [k for k in KINDS if sensitive or k != "incident"]))
    if not sensitive:
        stmt = stmt.where(Event.kind != "incident", Event.sensitive.is_(False))
    if status is not None:
        stmt = stmt.where(Event.status == status)
    if overdue is not None:
        stmt = stmt.where(Event.overdue.is_(overdue))
    if category is not None:
        stmt = stmt.where(Event.category == category)
    if occurred_from is not None:
        stmt = stmt.where(Event.occurred_at >= dt.datetime.combine(occurred_from, dt.time()))
    if occurred_to is not None:
        stmt = stmt.where(Event.occurred_at < dt.datetime.combine(occurred_to + dt.timedelta(days=1), dt.time()))
    if after:
        stmt = stmt.where(Event.id > after[0])
    rows = list(session.scalars(stmt))
    rules = rules_of(request)
    return Page(items=[EventOut(**event_out(e, rules)) for e in rows[:limit]],
                next_cursor=next_cursor(rows, limit, filters, lambda e: [e.id]))


@router.get("/{event_id}", response_model=EventDetail, responses=MOVED, summary="One event with its history")
def get_event(event_id: Annotated[str, Path(min_length=1, max_length=64)], request: Request,
              session: SessionDep, key: EventsKey) -> Any:
    event = session.get(Event, event_id)
    if event is None:
        survivor = canonical_id(session, "event", event_id)
        target = session.get(Event, survivor) if survivor else None
        if target is None or sensitive_hidden(target, key):
            raise ApiProblem(404, f"no event {event_id}", title="Not found")
        check_visible(request, session, key, target.grid_code, f"event {event_id}")
        return RedirectResponse(request.url_for("get_event", event_id=survivor).path, status_code=308)
    if sensitive_hidden(event, key):  # its existence is itself sensitive: 404, as outside a grid
        raise ApiProblem(404, f"no event {event_id}", title="Not found")
    check_visible(request, session, key, event.grid_code, f"event {event_id}")
    parties = list(session.scalars(select(EventParty).where(EventParty.event_id == event.id).order_by(EventParty.id)))
    persons = visible_ids(request, session, key, "person", (p.person_id for p in parties))
    orgs = visible_ids(request, session, key, "organization", (p.organization_id for p in parties))
    audit_persons(request, sorted(persons))
    rules = rules_of(request)
    return EventDetail(**event_out(event, rules), **eventview.detailed(event, rules), summary=event.summary,
                       accepted_at=event.accepted_at, resolved_at=event.resolved_at, closed_at=event.closed_at,
                       history=eventview.history(event),
                       parties=[_party(p, persons, orgs) for p in parties])


def _party(p: EventParty, persons: set[str], orgs: set[str]) -> Party:
    """A party outside a grid-bound key's subtree is named only as ``OUTSIDE``: no id, no name."""
    if (p.person_id and p.person_id not in persons) or (p.organization_id and p.organization_id not in orgs):
        return Party(role=p.role, person_id=None, organization_id=None, name=OUTSIDE)
    return Party(role=p.role, person_id=p.person_id, organization_id=p.organization_id, name=p.name)
