"""/buildings/{id}: a house or block with the households (read:people) and organisations in it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from hub.api.audit import audit_persons
from hub.api.deps import GridsKey, SessionDep, canonical_id, check_visible, key_range, visible_range
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, next_cursor
from hub.api.problems import ApiProblem
from hub.api.references import shown, visible_ids
from hub.api.schemas.places import BuildingDetail, HouseholdBrief, OrganizationBrief
from hub.api.schemas.township import BuildingOut
from hub.db.models import Building, Household, Organization

router = APIRouter(prefix="/buildings", tags=["buildings"])
MOVED = {308: {"description": "a merged id: `Location` names the surviving building"}}


@router.get("", response_model=Page[BuildingOut], summary="List buildings (of a grid's subtree)")
def list_buildings(request: Request, session: SessionDep, key: GridsKey,
                   grid: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")] = None,
                   limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                   cursor: str | None = None) -> Page[BuildingOut]:
    filters = {"grid": grid}
    after = decode_cursor(cursor, filters, 1)
    stmt = select(Building).order_by(Building.id).limit(limit + 1)
    rng = visible_range(request, session, key, grid)
    if rng is not None:
        stmt = stmt.where(rng.clause(Building.grid_code))
    if after:
        stmt = stmt.where(Building.id > after[0])
    rows = list(session.scalars(stmt))
    return Page(items=[BuildingOut(id=b.id, address=b.address, grid_code=b.grid_code, grid_method=b.grid_method,
                                   lon=b.lon, lat=b.lat) for b in rows[:limit]],
                next_cursor=next_cursor(rows, limit, filters, lambda b: [b.id]))


@router.get("/{building_id}", response_model=BuildingDetail, responses=MOVED, summary="A building")
def get_building(building_id: Annotated[str, Path(min_length=1, max_length=64)], request: Request,
                 session: SessionDep, key: GridsKey) -> Any:
    building = session.get(Building, building_id)
    if building is None:
        survivor = canonical_id(session, "building", building_id)
        target = session.get(Building, survivor) if survivor else None
        if target is None:
            raise ApiProblem(404, f"no building {building_id}", title="Not found")
        check_visible(request, session, key, target.grid_code, f"building {building_id}")
        return RedirectResponse(request.url_for("get_building", building_id=survivor).path, status_code=308)
    check_visible(request, session, key, building.grid_code, f"building {building_id}")
    bound = key_range(request, session, key)  # a building may straddle grids: list only the key's part
    orgs = [o for o in session.scalars(select(Organization).where(Organization.building_id == building.id)
                                       .order_by(Organization.id)) if bound is None or bound.contains(o.grid_code)]
    detail = BuildingDetail(
        id=building.id, address=building.address, grid_code=building.grid_code, grid_method=building.grid_method,
        lon=building.lon, lat=building.lat,
        organizations=[OrganizationBrief(id=o.id, name=o.name, key_unit=o.key_unit) for o in orgs])
    if key.has("read:people"):
        households = [h for h in session.scalars(select(Household).where(Household.building_id == building.id)
                                                 .order_by(Household.id))
                      if bound is None or bound.contains(h.grid_code)]
        heads = visible_ids(request, session, key, "person", (h.head_person_id for h in households))
        detail.households = [HouseholdBrief(id=h.id, household_no=h.household_no,
                                            head_person_id=shown(h.head_person_id, heads)) for h in households]
        audit_persons(request, sorted(heads))
    return detail
