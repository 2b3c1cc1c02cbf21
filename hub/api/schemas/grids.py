"""Grids and their summaries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class GridSummary(BaseModel):
    """Counts over the grid's whole subtree. People (active): ``residents`` live here (实有人口),
    ``registered`` are registered here (户籍人口), ``registered_away`` are registered here and live
    elsewhere (户在人不在), ``incoming`` live here and are registered elsewhere or outside the county
    (人在户不在): residents + registered_away = registered + incoming = ``/persons?grid=`` (active)."""

    residents: int
    registered: int
    registered_away: int
    incoming: int
    households: int
    buildings: int
    organizations: int
    key_units: int
    people_by_tag: dict[str, int]
    events_open: int
    events_overdue: int


class GridOut(BaseModel):
    code: str
    name: str
    level: int
    parent_code: str | None
    manager: str | None
    manager_phone: str | None
    retired: bool
    bbox: list[float] | None


class GridDetail(GridOut):
    summary: GridSummary


class Feature(BaseModel):
    type: str = "Feature"
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: str = "FeatureCollection"
    features: list[Feature]
