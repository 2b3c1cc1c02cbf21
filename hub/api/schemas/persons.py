"""Persons and households: IDs and phones arrive masked unless the key has read:pii."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel

from hub.api.schemas import UtcDateTime

Presence = Literal["all", "resident", "registered", "away", "incoming"]


class PersonOut(BaseModel):
    """``grid_code``: the grid the person lives in; ``registered_grid_code``: the grid their household is
    registered in (None when registered outside the county). ``presence`` (lists filtered by a grid
    only): ``resident`` when the person lives in that grid, ``away`` when registered there and living
    elsewhere (户在人不在)."""

    id: str
    name: str | None
    gender: str | None
    birth_date: dt.date | None
    age: int | None
    citizen_id: str | None
    phone: str | None
    grid_code: str | None
    registered_grid_code: str | None = None
    presence: Literal["resident", "away"] | None = None
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


class ResidenceOut(BaseModel):
    """Where the person lives, the rule that placed them there (``floating_person``: a public-security
    floating-persons record; ``current_address``: the population registry's 现住址; ``registered``:
    no sighting, so where they are registered; ``code``/``building``/``village_name``: people with no
    registered household) and when; the record it rests on only for keys with ``read:quality``."""

    grid_code: str | None
    registered_grid_code: str | None
    rule: str | None
    at: str | None
    source: str | None = None
    stream: str | None = None
    source_key: str | None = None


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
    residence: ResidenceOut | None = None


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
