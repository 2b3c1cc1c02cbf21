"""/assessment: 督查考核 figures per grid and period, the quarterly ranking, the random household check.

A grid-bound key sees only the grids of its own subtree (``within`` defaults to its grid; another
grid outside it is a 404). Figures come from events: ``read:events``; the household check names
heads of households: ``read:people`` too, and is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request

from hub.api.audit import audit_persons
from hub.api.deps import EventsKey, SessionDep, check_visible, grid_level
from hub.api.keys import Principal
from hub.api.problems import ApiProblem
from hub.api.schemas.township import AssessmentOut, RankingOut, SampleOut
from hub.errors import HubError
from hub.township.assessment import assess
from hub.township.periods import Period
from hub.township.ranking import rank
from hub.township.rules import rules_of
from hub.township.sample import draw

router = APIRouter(prefix="/assessment", tags=["assessment"])
GridCode = Annotated[str | None, Query(pattern=r"^[0-9]{12}([0-9]{3})?$", description="only grids under this code")]
PeriodQ = Annotated[str, Query(max_length=8, description="a quarter `2026Q3` or a month `2026-07`")]
AsOf = Annotated[dt.date | None, Query(description="figures as they stood at the end of this day (default: "
                                                   "today in Beijing)")]
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


def _period(text: str) -> Period:
    try:
        period = Period.parse(text)
    except HubError as exc:
        raise ApiProblem(400, str(exc), title="Invalid parameter") from None
    if not FIRST_DAY <= period.start <= LAST_DAY:
        raise ApiProblem(400, f"period must lie between {FIRST_DAY.year} and {LAST_DAY.year}", title="Invalid parameter")
    return period


def _as_of(value: dt.date | None) -> dt.date | None:
    if value is not None and not FIRST_DAY <= value <= LAST_DAY:
        raise ApiProblem(400, f"as_of must lie between {FIRST_DAY} and {LAST_DAY}", title="Invalid parameter")
    return value


def _within(request: Request, session: SessionDep, key: Principal, within: str | None) -> str | None:
    if within is not None:
        if grid_level(request, session, within) is None:
            raise ApiProblem(404, f"no grid {within}", title="Grid not found")
        check_visible(request, session, key, within, f"grid {within}")
        return within
    return key.grid_code


@router.get("", response_model=AssessmentOut, summary="Assessment figures per grid for a month or quarter")
def get_assessment(request: Request, session: SessionDep, key: EventsKey, period: PeriodQ,
                   level: Annotated[int, Query(ge=1, le=3)] = 2, as_of: AsOf = None,
                   within: GridCode = None) -> AssessmentOut:
    result = assess(session, _period(period), level, _as_of(as_of), within=_within(request, session, key, within),
                    rules=rules_of(request))
    return AssessmentOut.model_validate(result.to_dict())


@router.get("/ranking", response_model=RankingOut, summary="Quarterly ranking of villages, with the bottom-places flag")
def get_ranking(request: Request, session: SessionDep, key: EventsKey, period: PeriodQ, as_of: AsOf = None,
                within: GridCode = None) -> RankingOut:
    p = _period(period)
    if not p.is_quarter:
        raise ApiProblem(400, f"the ranking is quarterly: {p.label} is a month", title="Invalid parameter")
    result = rank(session, p, _as_of(as_of), within=_within(request, session, key, within), rules=rules_of(request))
    return RankingOut.model_validate(result.to_dict())


@router.get("/sample", response_model=SampleOut, summary="The random household check of a grid for a period")
def get_sample(request: Request, session: SessionDep, key: EventsKey, period: PeriodQ,
               grid: Annotated[str, Query(pattern=r"^[0-9]{12}([0-9]{3})?$")]) -> SampleOut:
    if not key.has("read:people"):
        raise ApiProblem(403, "this key lacks the scope read:people", title="Missing scope")
    if grid_level(request, session, grid) is None:
        raise ApiProblem(404, f"no grid {grid}", title="Grid not found")
    check_visible(request, session, key, grid, f"grid {grid}")
    result = draw(session, grid, _period(period), rules=rules_of(request))
    audit_persons(request, [h.head_person_id for h in result.households if h.head_person_id])
    return SampleOut.model_validate(result.to_dict())
