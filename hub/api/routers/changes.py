"""/changes: entity ids changed since a cursor, so a downstream app can sync incrementally.

Each key sees the entity types its scopes allow (person/household: read:people, event: read:events,
grid/building/organization: read:grids); without read:sensitive it sees no police incident and no
special-population person (``sensitive_entries``). A grid-bound key sees only entities now in its subtree, so
its pages may be shorter than ``limit`` (and a deleted entity, having no grid left, is not shown to it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.audit import audit_persons
from hub.api.deps import CurrentKey, SessionDep, key_range
from hub.api.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from hub.api.schemas.feeds import Change, ChangePage
from hub.db.models import (
    Building,
    ChangeFeed,
    Event,
    GridCell,
    Household,
    Organization,
    Person,
    PersonTag,
    SpecialStatus,
)

router = APIRouter(prefix="/changes", tags=["changes"])
TYPE_SCOPE = {"person": "read:people", "household": "read:people", "event": "read:events",
              "grid": "read:grids", "building": "read:grids", "organization": "read:grids"}
GRID_OF = {"person": (Person.id, Person.grid_code), "household": (Household.id, Household.grid_code),
           "event": (Event.id, Event.grid_code), "building": (Building.id, Building.grid_code),
           "organization": (Organization.id, Organization.grid_code), "grid": (GridCell.code, GridCell.code)}


def sensitive_entries(session: Session, rows: list[ChangeFeed]) -> set[tuple[str, str]]:
    """Feed entries a key without ``read:sensitive`` must not see: police incidents and sensitive events,
    special-population persons (a status or a sensitive tag), and, since a deleted entity can no longer
    be told apart, person and event entries whose entity is gone."""
    persons = {r.entity_id for r in rows if r.entity_type == "person"}
    events = {r.entity_id for r in rows if r.entity_type == "event"}
    hidden: set[tuple[str, str]] = set()
    if persons:
        plain = set(session.scalars(select(Person.id).where(Person.id.in_(persons))))
        plain -= set(session.scalars(select(SpecialStatus.person_id).where(SpecialStatus.person_id.in_(plain))))
        plain -= set(session.scalars(select(PersonTag.person_id).where(PersonTag.person_id.in_(plain),
                                                                       PersonTag.sensitive.is_(True))))
        hidden |= {("person", p) for p in persons - plain}
    if events:
        plain = set(session.scalars(select(Event.id).where(Event.id.in_(events), Event.kind != "incident",
                                                           Event.sensitive.is_(False))))
        hidden |= {("event", e) for e in events - plain}
    return hidden


@router.get("", response_model=ChangePage, summary="Entity ids changed since the cursor")
def list_changes(request: Request, session: SessionDep, key: CurrentKey,
                 cursor: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100) -> ChangePage:
    filters: dict[str, object] = {}
    after = decode_cursor(cursor, filters, 1)
    last = int(after[0]) if after else 0
    types = [t for t, scope in TYPE_SCOPE.items() if key.has(scope)]
    rows = list(session.scalars(select(ChangeFeed).where(ChangeFeed.seq > last, ChangeFeed.entity_type.in_(types))
                                .order_by(ChangeFeed.seq).limit(limit)))
    bound = key_range(request, session, key)
    if rows and not key.has("read:sensitive"):
        hidden = sensitive_entries(session, rows)
        rows_shown = [r for r in rows if (r.entity_type, r.entity_id) not in hidden]
    else:
        rows_shown = rows
    if bound is not None and rows_shown:
        wanted: dict[str, set[str]] = defaultdict(set)
        for r in rows_shown:
            wanted[r.entity_type].add(r.entity_id)
        visible: set[tuple[str, str]] = set()
        for etype, ids in wanted.items():
            id_col, grid_col = GRID_OF[etype]
            for eid, code in session.execute(select(id_col, grid_col).where(id_col.in_(ids))):
                if bound.contains(code):
                    visible.add((etype, eid))
        shown = [r for r in rows_shown if (r.entity_type, r.entity_id) in visible]
    else:
        shown = rows_shown
    audit_persons(request, [r.entity_id for r in shown if r.entity_type == "person"])
    if rows:
        last = rows[-1].seq
    return ChangePage(items=[Change(seq=r.seq, entity_type=r.entity_type, entity_id=r.entity_id, change=r.change,
                                    changed_at=r.changed_at) for r in shown],
                      next_cursor=encode_cursor(filters, [last]))
