"""/grids: the tree, a grid with counts over its subtree, its children, and GeoJSON for maps."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import Session

from hub.api.audit import audit_persons
from hub.api.deps import GridsKey, SessionDep, check_visible, masker_of, state_of, visible_range
from hub.api.keys import Principal
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, next_cursor
from hub.api.problems import ApiProblem
from hub.api.schemas.grids import Feature, FeatureCollection, GridDetail, GridOut, GridSummary
from hub.api.schemas.township import GridCardOut
from hub.api.subtree import CodeRange, subtree
from hub.db.models import Building, Event, GridCell, Household, Organization, Person, PersonTag
from hub.township.rules import rules_of

router = APIRouter(prefix="/grids", tags=["grids"])
GridCode = Annotated[str, Path(pattern=r"^[0-9]{12}([0-9]{3})?$", description="12- or 15-digit division code")]
CLOSED = ("resolved", "closed")


def grid_out(cell: GridCell, request: Request, key: Principal) -> GridOut:
    bbox = None if cell.min_lon is None else [cell.min_lon, cell.min_lat, cell.max_lon, cell.max_lat]
    return GridOut(code=cell.code, name=cell.name, level=cell.level, parent_code=cell.parent_code,
                   manager=cell.manager, manager_phone=masker_of(request, key).phone(cell.manager_phone_enc),
                   retired=cell.retired, bbox=bbox)


def summary(session: Session, rng: CodeRange, key: Principal) -> GridSummary:
    """Counts served by the grid_code indexes (one range scan each)."""
    def count(stmt: Any) -> int:
        return int(session.scalar(stmt) or 0)

    tags = select(PersonTag.tag, func.count()).join(Person, Person.id == PersonTag.person_id).where(
        rng.clause(Person.grid_code), Person.status == "active")
    if not key.has("read:sensitive"):
        tags = tags.where(PersonTag.sensitive.is_(False))
    events = select(func.count()).select_from(Event).where(rng.clause(Event.grid_code), Event.status.not_in(CLOSED))
    if not key.has("read:sensitive"):
        events = events.where(Event.sensitive.is_(False), Event.kind != "incident")
    people = select(func.count()).select_from(Person).where(Person.status == "active")
    lives, registered = rng.clause(Person.grid_code), rng.clause(Person.registered_grid_code)
    return GridSummary(
        residents=count(people.where(lives)),
        registered=count(people.where(registered)),
        registered_away=count(people.where(registered, or_(Person.grid_code.is_(None), not_(lives)))),
        incoming=count(people.where(and_(lives, or_(Person.registered_grid_code.is_(None), not_(registered))))),
        households=count(select(func.count()).select_from(Household).where(rng.clause(Household.grid_code),
                                                                             Household.active.is_(True))),
        buildings=count(select(func.count()).select_from(Building).where(rng.clause(Building.grid_code))),
        organizations=count(select(func.count()).select_from(Organization).where(rng.clause(Organization.grid_code))),
        key_units=count(select(func.count()).select_from(Organization).where(
            rng.clause(Organization.grid_code), Organization.key_unit.is_(True))),
        people_by_tag={t: int(n) for t, n in session.execute(tags.group_by(PersonTag.tag).order_by(PersonTag.tag))},
        events_open=count(events),
        events_overdue=count(events.where(Event.overdue.is_(True))),
    )


def visible_cell(request: Request, session: Session, key: Principal, code: str) -> GridCell:
    cell = session.get(GridCell, code)
    if cell is None:
        raise ApiProblem(404, f"no grid {code}", title="Grid not found")
    check_visible(request, session, key, code, f"grid {code}")
    return cell


@router.get("", response_model=Page[GridOut], summary="List grids")
def list_grids(request: Request, session: SessionDep, key: GridsKey,
               level: Annotated[int | None, Query(ge=1, le=3)] = None,
               parent: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")] = None,
               limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
               cursor: str | None = None) -> Page[GridOut]:
    filters = {"level": level, "parent": parent}
    after = decode_cursor(cursor, filters, 1)
    stmt = select(GridCell).order_by(GridCell.code).limit(limit + 1)
    rng = visible_range(request, session, key, None)
    if rng is not None:
        stmt = stmt.where(rng.clause(GridCell.code))
    if level is not None:
        stmt = stmt.where(GridCell.level == level)
    if parent is not None:
        stmt = stmt.where(GridCell.parent_code == parent)
    if after:
        stmt = stmt.where(GridCell.code > after[0])
    rows = list(session.scalars(stmt))
    return Page(items=[grid_out(c, request, key) for c in rows[:limit]],
                next_cursor=next_cursor(rows, limit, filters, lambda c: [c.code]))


@router.get("/{code}.geojson", response_model=FeatureCollection, summary="A grid and its children as GeoJSON")
def grid_geojson(code: GridCode, request: Request, session: SessionDep, key: GridsKey) -> FeatureCollection:
    cell = visible_cell(request, session, key, code)
    cells = [cell, *session.scalars(select(GridCell).where(GridCell.parent_code == code).order_by(GridCell.code))]
    features = []
    for c in cells:
        props = grid_out(c, request, key).model_dump()
        props["summary"] = summary(session, subtree(c.code, c.level), key).model_dump()
        props["role"] = "grid" if c is cell else "child"
        features.append(Feature(geometry=c.geometry, properties=props))
    return FeatureCollection(features=features)


@router.get("/{code}", response_model=GridDetail, summary="A grid with counts over its whole subtree")
def get_grid(code: GridCode, request: Request, session: SessionDep, key: GridsKey) -> GridDetail:
    cell = visible_cell(request, session, key, code)
    out = grid_out(cell, request, key)
    return GridDetail(**out.model_dump(), summary=summary(session, subtree(code, cell.level), key))


@router.get("/{code}/children", response_model=Page[GridOut], summary="The grid's direct children")
def grid_children(code: GridCode, request: Request, session: SessionDep, key: GridsKey,
                  limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                  cursor: str | None = None) -> Page[GridOut]:
    visible_cell(request, session, key, code)
    filters = {"parent": code}
    after = decode_cursor(cursor, filters, 1)
    stmt = select(GridCell).where(GridCell.parent_code == code).order_by(GridCell.code).limit(limit + 1)
    if after:
        stmt = stmt.where(GridCell.code > after[0])
    rows = list(session.scalars(stmt))
    return Page(items=[grid_out(c, request, key) for c in rows[:limit]],
                next_cursor=next_cursor(rows, limit, filters, lambda c: [c.code]))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/{code}/ledger.xlsx", summary="The grid's printable ledger (一格一台账) as the key may see it",
            response_class=Response, responses={200: {"content": {XLSX: {}}, "description": "the workbook"}})
def grid_ledger(code: GridCode, request: Request, session: SessionDep, key: GridsKey,
                as_of: Annotated[dt.date | None, Query(description="current to this day (default: today in Beijing)")]
                = None) -> Response:
    from hub.township.ledger import export_ledger

    visible_cell(request, session, key, code)
    if as_of is not None and not dt.date(2000, 1, 1) <= as_of <= dt.date(2999, 12, 31):
        raise ApiProblem(400, "as_of must lie between 2000-01-01 and 2999-12-31", title="Invalid parameter")
    buffer = io.BytesIO()
    info = export_ledger(session, state_of(request).vault, code, buffer, key, as_of=as_of, rules=rules_of(request))
    audit_persons(request, info.person_ids)
    return Response(buffer.getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="ledger-{code}.xlsx"'})


@router.get("/{code}/card", response_model=GridCardOut, summary="The grid's publicity card and household contact cards")
def grid_card_route(code: GridCode, request: Request, session: SessionDep, key: GridsKey,
                    households: bool = False) -> GridCardOut:
    from hub.township.cards import grid_card

    visible_cell(request, session, key, code)
    card = grid_card(session, state_of(request).vault, code, key, households=households)
    audit_persons(request, card.person_ids)
    return GridCardOut.model_validate(card.to_dict())
