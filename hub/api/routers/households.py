"""/households/{id}: a household and its members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from hub.api.audit import audit_persons
from hub.api.deps import PeopleKey, SessionDep, canonical_id, check_visible, visible_range
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, next_cursor
from hub.api.problems import ApiProblem
from hub.api.references import shown, visible_ids
from hub.api.schemas.persons import HouseholdDetail, Member
from hub.api.schemas.township import HouseholdOut
from hub.db.models import Household, Person

router = APIRouter(prefix="/households", tags=["households"])
MOVED = {308: {"description": "a merged id: `Location` names the surviving household"}}


@router.get("", response_model=Page[HouseholdOut], summary="List households (of a grid's subtree)")
def list_households(request: Request, session: SessionDep, key: PeopleKey,
                    grid: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")] = None,
                    active: bool | None = None,
                    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                    cursor: str | None = None) -> Page[HouseholdOut]:
    filters = {"grid": grid, "active": active}
    after = decode_cursor(cursor, filters, 1)
    stmt = select(Household).order_by(Household.id).limit(limit + 1)
    rng = visible_range(request, session, key, grid)
    if rng is not None:
        stmt = stmt.where(rng.clause(Household.grid_code))
    if active is not None:
        stmt = stmt.where(Household.active.is_(active))
    if after:
        stmt = stmt.where(Household.id > after[0])
    rows = list(session.scalars(stmt))
    page = rows[:limit]
    heads = visible_ids(request, session, key, "person", [h.head_person_id for h in page])
    audit_persons(request, sorted(heads))
    return Page(items=[HouseholdOut(id=h.id, household_no=h.household_no, address=h.address, building_id=h.building_id,
                                    grid_code=h.grid_code, head_person_id=shown(h.head_person_id, heads),
                                    active=h.active) for h in page],
                next_cursor=next_cursor(rows, limit, filters, lambda h: [h.id]))


@router.get("/{household_id}", response_model=HouseholdDetail, responses=MOVED, summary="A household and its members")
def get_household(household_id: Annotated[str, Path(min_length=1, max_length=64)], request: Request,
                  session: SessionDep, key: PeopleKey) -> Any:
    household = session.get(Household, household_id)
    if household is None:
        survivor = canonical_id(session, "household", household_id)
        target = session.get(Household, survivor) if survivor else None
        if target is None:
            raise ApiProblem(404, f"no household {household_id}", title="Not found")
        check_visible(request, session, key, target.grid_code, f"household {household_id}")
        return RedirectResponse(request.url_for("get_household", household_id=survivor).path, status_code=308)
    check_visible(request, session, key, household.grid_code, f"household {household_id}")
    members = list(session.scalars(select(Person).where(Person.household_id == household.id).order_by(Person.id)))
    head = visible_ids(request, session, key, "person", [household.head_person_id])
    audit_persons(request, [m.id for m in members] + sorted(head))
    return HouseholdDetail(
        id=household.id, household_no=household.household_no, address=household.address,
        building_id=household.building_id, grid_code=household.grid_code, head_person_id=shown(household.head_person_id, head),
        active=household.active,
        members=[Member(id=m.id, name=m.name, gender=m.gender, birth_date=m.birth_date,
                        relation_to_head=m.relation_to_head, status=m.status) for m in members])
