"""People and households: golden records with per-attribute provenance; PII only indexed/encrypted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, str_id, utcnow
from hub.db.provenance import Provenance


class Household(Base):
    __tablename__ = "household"

    id: Mapped[str_id]
    household_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    address: Mapped[str | None] = mapped_column(String(200))
    building_id: Mapped[str | None] = mapped_column(ForeignKey("building.id"), index=True)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grid_cell.code"), index=True)
    head_person_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Person(Base):
    """The golden record. ``provenance`` maps attribute -> {source, stream, source_key, rule, at}.

    ``grid_code`` is where the person lives (实有人口), ``registered_grid_code`` where their household is
    registered (户籍; None when registered outside the county); ``residence_basis`` is the evidence the
    residence rests on ({rule, source, stream, source_key, at}; see hub.resolve.residence).
    """

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_grid_birth", "grid_code", "birth_date"),
        Index("ix_person_name", "name"),
        Index("ix_person_grid_id", "grid_code", "id"),  # a grid's pages in their keyset order (migration 0019)
    )

    id: Mapped[str_id]
    name: Mapped[str | None] = mapped_column(String(50))
    name_pinyin: Mapped[str | None] = mapped_column(String(120))
    gender: Mapped[str | None] = mapped_column(String(1))  # M|F|U
    birth_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    ethnicity: Mapped[str | None] = mapped_column(String(2))
    citizen_id_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    citizen_id_enc: Mapped[str | None] = mapped_column(Text)
    phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    household_id: Mapped[str | None] = mapped_column(ForeignKey("household.id"), index=True)
    relation_to_head: Mapped[str | None] = mapped_column(String(2))
    # looked up through ix_person_grid_id / ix_person_grid_birth, which lead with it (migration 0022)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grid_cell.code"))
    registered_grid_code: Mapped[str | None] = mapped_column(ForeignKey("grid_cell.code"), index=True)
    residence_basis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    building_id: Mapped[str | None] = mapped_column(ForeignKey("building.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|deceased|moved_out|left
    floating: Mapped[bool] = mapped_column(Boolean, default=False)
    provenance: Mapped[dict[str, Any]] = mapped_column(Provenance, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)


class PersonTag(Base):
    """Derived tags (elderly_alone, disabled, min_allowance, ...); a table so ``?tag=`` is indexed."""

    __tablename__ = "person_tag"
    __table_args__ = (Index("ix_person_tag_tag", "tag", "person_id"),)

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)


class WelfareEnrolment(Base):
    """A person's place in a civil-affairs programme (低保, 特困供养, 残疾人, 高龄老人)."""

    __tablename__ = "welfare_enrolment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    programme: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # active|suspended|left
    since: Mapped[dt.date | None] = mapped_column(Date)
    until: Mapped[dt.date | None] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_key: Mapped[str] = mapped_column(String(128))


class SpecialStatus(Base):
    """Special-population status (sensitive): only keys with ``read:sensitive`` ever see it.

    The category (社区矫正, 吸毒人员, …) is the most sensitive value the hub holds: it is stored
    encrypted like a citizen ID (``Vault.encrypt``), never in clear; readers decrypt it.
    """

    __tablename__ = "special_status"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    category_enc: Mapped[str] = mapped_column(Text)
    since: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    supervisor: Mapped[str | None] = mapped_column(String(50))
    source_key: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
