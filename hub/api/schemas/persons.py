"""Persons and households: IDs and phones arrive masked unless the key has read:pii."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from hub.api.schemas import UtcDateTime


class PersonOut(BaseModel):
    id: str
    name: str | None
    gender: str | None
    birth_date: dt.date | None
    age: int | None
    citizen_id: str | None
    phone: str | None
    grid_code: str | None
    household_id: str | None
    status: str
    floating: bool
    tags: list[str]


class HouseholdRef(BaseModel):
    id: str
    household_no: str | None
    address: str | None
    grid_code: str | None
    relation_to_head: str | None


class Welfare(BaseModel):
    programme: str
    status: str
    since: dt.date | None
    until: dt.date | None


class SpecialStatusOut(BaseModel):
    category: str
    status: str
    since: dt.date | None
    supervisor: str | None


class SourceLink(BaseModel):
    source: str
    stream: str
    source_key: str
    method: str
    score: float | None


class PersonDetail(PersonOut):
    ethnicity: str | None
    address: str | None
    building_id: str | None
    updated_at: UtcDateTime | None
    household: HouseholdRef | None
    welfare: list[Welfare]
    special_status: list[SpecialStatusOut] | None = None
    provenance: dict[str, Any] | None = None
    sources: list[SourceLink] | None = None


class Member(BaseModel):
    id: str
    name: str | None
    gender: str | None
    birth_date: dt.date | None
    relation_to_head: str | None
    status: str


class HouseholdDetail(BaseModel):
    id: str
    household_no: str | None
    address: str | None
    building_id: str | None
    grid_code: str | None
    head_person_id: str | None
    active: bool
    members: list[Member]
