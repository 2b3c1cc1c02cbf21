"""Organisations (units, employers, parties to disputes) and their fire-safety inspections."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, str_id, utcnow
from hub.db.provenance import Provenance


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[str_id]
    name: Mapped[str] = mapped_column(String(200), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    category: Mapped[str | None] = mapped_column(String(32), index=True)
    key_unit: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    legal_representative: Mapped[str | None] = mapped_column(String(50))
    responsible_person_id: Mapped[str | None] = mapped_column(ForeignKey("person.id"))
    building_id: Mapped[str | None] = mapped_column(ForeignKey("building.id"), index=True)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grid_cell.code"), index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    provenance: Mapped[dict[str, Any]] = mapped_column(Provenance, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Inspection(Base):
    __tablename__ = "inspection"

    id: Mapped[str_id]  # 检查编号
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"), index=True)
    unit_no: Mapped[str] = mapped_column(String(64))
    inspected_on: Mapped[dt.date | None] = mapped_column(Date)
    inspector: Mapped[str | None] = mapped_column(String(50))
    kind: Mapped[str | None] = mapped_column(String(8))
    hazards_found: Mapped[int | None] = mapped_column(Integer)
    conclusion: Mapped[str | None] = mapped_column(Text)
