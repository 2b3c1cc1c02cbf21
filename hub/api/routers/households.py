"""/households/{id}: a household and its members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from hub.api.audit import audit_persons
from hub.api.deps import PeopleKey, SessionDep, canonical_id, check_visible
from hub.api.problems import ApiProblem
from hub.api.references import shown, visible_ids
from hub.api.schemas.persons import HouseholdDetail, Member
from hub.db.models import Household, Person

router = APIRouter(prefix="/households", tags=["households"])
MOVED = {308: {"description": "a merged id: `Location` names the surviving household"}}


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
