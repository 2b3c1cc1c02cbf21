"""Buildings and organisations (物) with inspections and open hazards."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class OrganizationOut(BaseModel):
    id: str
    name: str
    credit_code: str | None
    category: str | None
    ledger_categories: list[str] = []  # 经济财政 as a unit; 城区管理 too as a fire-safety unit (county-configurable)
    key_unit: bool
    address: str | None
    legal_representative: str | None
    grid_code: str | None
    building_id: str | None
    lon: float | None
    lat: float | None
    phone: str | None


class InspectionOut(BaseModel):
    id: str
    inspected_on: dt.date | None
    inspector: str | None
    kind: str | None
    hazards_found: int | None
    conclusion: str | None


class HazardOut(BaseModel):
    id: str
    category: str | None
    status: str
    due_on: dt.date | None
    overdue: bool


class OrganizationDetail(OrganizationOut):
    responsible_person_id: str | None
    inspections: list[InspectionOut]
    open_hazards: list[HazardOut] | None = None


class HouseholdBrief(BaseModel):
    id: str
    household_no: str | None
    head_person_id: str | None


class OrganizationBrief(BaseModel):
    id: str
    name: str
    key_unit: bool


class BuildingDetail(BaseModel):
    id: str
    address: str
    grid_code: str | None
    grid_method: str | None
    lon: float | None
    lat: float | None
    households: list[HouseholdBrief] | None = None
    organizations: list[OrganizationBrief]
