"""The grid: three levels of cells, and the buildings placed in them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db.base import Base, str_id, utcnow


class GridCell(Base):
    """A township (1), village/community (2) or group (3) grid, with its polygon as GeoJSON."""

    __tablename__ = "grid_cell"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer, index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("grid_cell.code"), index=True)
    manager: Mapped[str | None] = mapped_column(String(50))
    manager_phone_enc: Mapped[str | None] = mapped_column(Text)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped[GridCell | None] = relationship(remote_side=[code], back_populates="children")
    children: Mapped[list[GridCell]] = relationship(back_populates="parent")


class Building(Base):
    """A house or block: its village and its house there (house numbers repeat in every village).

    ``address_key`` is ``<village code>|<house>`` (``?|<house>`` when no record says the village);
    households and organisations sit in one.
    """

    __tablename__ = "building"

    id: Mapped[str_id]
    address: Mapped[str] = mapped_column(String(200))
    address_key: Mapped[str] = mapped_column(String(200), unique=True)
    village_code: Mapped[str | None] = mapped_column(ForeignKey("grid_cell.code"), index=True)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grid_cell.code"), index=True)
    grid_method: Mapped[str | None] = mapped_column(String(16))  # code|point|village_name|None
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
