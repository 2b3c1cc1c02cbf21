"""The township's work (grid-work.md): household and building lists, the grid card, assessment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel


class HouseholdOut(BaseModel):
    id: str
    household_no: str | None
    address: str | None
    building_id: str | None
    grid_code: str | None
    head_person_id: str | None
    active: bool


class BuildingOut(BaseModel):
    id: str
    address: str
    grid_code: str | None
    grid_method: str | None
    lon: float | None
    lat: float | None


class HouseholdCardOut(BaseModel):
    household_id: str
    household_no: str | None
    address: str | None
    head_name: str | None
    grid_code: str | None
    grid_name: str | None
    worker: str | None
    worker_phone: str | None


class GridCardOut(BaseModel):
    code: str
    name: str
    level: int
    parent_code: str | None
    parent_name: str | None
    manager: str | None
    manager_phone: str | None
    duties: list[str]
    bbox: list[float] | None
    geometry: dict[str, Any] | None
    households: list[HouseholdCardOut] | None = None


class GridFiguresOut(BaseModel):
    code: str
    name: str
    level: int
    parent_code: str | None
    accepted: int
    finished: int
    finished_on_time: int
    overdue_open: int
    county_remit: int
    passed_up_on_time: int
    closed_with_feedback: int
    satisfied: int
    hazards_found: int
    hazards_rectified_on_time: int
    key_units: int
    key_units_inspected: int
    provisional_due: int
    overdue_open_ids: list[str]
    closure_rate: float | None
    on_time_rate: float | None
    passed_up_on_time_rate: float | None
    satisfaction: float | None
    hazards_rectified_on_time_rate: float | None
    inspection_coverage: float | None


class AssessmentOut(BaseModel):
    period: str
    start: dt.date
    end: dt.date
    as_of: dt.date
    level: int
    grids: list[GridFiguresOut]


class RankedGridOut(BaseModel):
    code: str
    name: str
    score: float | None
    rank: int | None
    bottom: bool
    bottom_streak: int
    flagged: bool
    history: list[dict[str, Any]]


class RankingOut(BaseModel):
    period: str
    as_of: dt.date
    within: str | None
    weights: dict[str, float]
    grids: list[RankedGridOut]


class SampledHouseholdOut(BaseModel):
    household_id: str
    household_no: str | None
    grid_code: str | None
    address: str | None
    head_person_id: str | None
    head_name: str | None


class SampleOut(BaseModel):
    grid_code: str
    grid_name: str
    period: str
    share: float
    minimum: int
    households_in_grid: int
    seed: str
    households: list[SampledHouseholdOut]
