"""Grids and their summaries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class GridSummary(BaseModel):
    """Counts over the grid's whole subtree."""

    residents: int
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
