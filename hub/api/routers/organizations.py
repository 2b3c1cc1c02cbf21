"""/organizations: units, employers and parties, with inspections and (read:events) open hazards."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from hub.api.audit import audit_persons
from hub.api.deps import GridsKey, SessionDep, canonical_id, check_visible, masker_of, visible_range
from hub.api.keys import Principal
from hub.api.masking import Masker
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, next_cursor
from hub.api.problems import ApiProblem
from hub.api.references import shown, visible_ids
from hub.api.schemas.places import HazardOut, InspectionOut, OrganizationDetail, OrganizationOut
from hub.db.models import Event, Inspection, Organization
from hub.township.categories import CategoryMap, organization_categories
from hub.township.rules import rules_of

router = APIRouter(prefix="/organizations", tags=["organizations"])
MOVED = {308: {"description": "a merged id: `Location` names the surviving organisation"}}


def org_out(o: Organization, masker: Masker, categories: CategoryMap | None = None) -> dict[str, Any]:
    return {"id": o.id, "name": o.name, "credit_code": o.credit_code, "category": o.category,
            "ledger_categories": organization_categories(categories or CategoryMap(), o.category),
            "key_unit": o.key_unit, "address": o.address, "legal_representative": o.legal_representative,
            "grid_code": o.grid_code, "building_id": o.building_id, "lon": o.lon, "lat": o.lat,
            "phone": masker.phone(o.phone_enc)}


@router.get("", response_model=Page[OrganizationOut], summary="List organisations")
def list_organizations(
    request: Request, session: SessionDep, key: GridsKey,
    grid: Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")] = None,
    key_unit: bool | None = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[OrganizationOut]:
    filters = {"grid": grid, "key_unit": key_unit, "category": category}
    after = decode_cursor(cursor, filters, 1)
    stmt = select(Organization).order_by(Organization.id).limit(limit + 1)
    rng = visible_range(request, session, key, grid)
    if rng is not None:
        stmt = stmt.where(rng.clause(Organization.grid_code))
    if key_unit is not None:
        stmt = stmt.where(Organization.key_unit.is_(key_unit))
    if category is not None:
        stmt = stmt.where(Organization.category == category)
    if after:
        stmt = stmt.where(Organization.id > after[0])
    rows = list(session.scalars(stmt))
    masker = masker_of(request, key)
    categories = rules_of(request).categories
    return Page(items=[OrganizationOut(**org_out(o, masker, categories)) for o in rows[:limit]],
                next_cursor=next_cursor(rows, limit, filters, lambda o: [o.id]))


# a hazard is done with once rectified (已整改); a fire-safety hazard is never "resolved" or "closed"
RECTIFIED = ("rectified", "resolved", "closed")


def _hazards(session: Any, org_id: str, key: Principal) -> list[HazardOut] | None:
    if not key.has("read:events"):
        return None
    rows = session.scalars(select(Event).where(Event.organization_id == org_id, Event.kind == "hazard",
                                               Event.status.not_in(RECTIFIED)).order_by(Event.id))
    return [HazardOut(id=e.id, category=e.category, status=e.status, due_on=e.due_on, overdue=e.overdue)
            for e in rows]


@router.get("/{organization_id}", response_model=OrganizationDetail, responses=MOVED, summary="One organisation")
def get_organization(organization_id: Annotated[str, Path(min_length=1, max_length=64)], request: Request,
                     session: SessionDep, key: GridsKey) -> Any:
    org = session.get(Organization, organization_id)
    if org is None:
        survivor = canonical_id(session, "organization", organization_id)
        target = session.get(Organization, survivor) if survivor else None
        if target is None:
            raise ApiProblem(404, f"no organisation {organization_id}", title="Not found")
        check_visible(request, session, key, target.grid_code, f"organisation {organization_id}")
        return RedirectResponse(request.url_for("get_organization", organization_id=survivor).path,
                                status_code=308)
    check_visible(request, session, key, org.grid_code, f"organisation {organization_id}")
    inspections = session.scalars(select(Inspection).where(Inspection.organization_id == org.id)
                                  .order_by(Inspection.inspected_on.desc(), Inspection.id))
    responsible = visible_ids(request, session, key, "person", [org.responsible_person_id])
    audit_persons(request, sorted(responsible))
    return OrganizationDetail(
        **org_out(org, masker_of(request, key), rules_of(request).categories),
        responsible_person_id=shown(org.responsible_person_id, responsible),
        inspections=[InspectionOut(id=i.id, inspected_on=i.inspected_on, inspector=i.inspector, kind=i.kind,
                                   hazards_found=i.hazards_found, conclusion=i.conclusion) for i in inspections],
        open_hazards=_hazards(session, org.id, key))
