"""Events (事): disputes, police incidents and fire hazards, with workflow times and deadlines.

Also the organisation flags derived from events (a key unit with an open major hazard), kept
as a table so the API filters on them with an index.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, str_id, utcnow


class Event(Base):
    """``history`` is the status timeline [{status, at, note}]; ``remit`` drives the deadline."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_grid_status", "grid_code", "status"),
        Index("ix_event_kind_occurred", "kind", "occurred_at"),
    )

    id: Mapped[str_id]
    kind: Mapped[str] = mapped_column(String(16))  # dispute|incident|hazard
    source: Mapped[str] = mapped_column(String(64))
    source_key: Mapped[str] = mapped_column(String(128))
    category: Mapped[str | None] = mapped_column(String(32), index=True)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grid_cell.code"))
    location: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    remit: Mapped[str | None] = mapped_column(String(16))  # village|township|county
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # /events?status=
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"), index=True)
    inspection_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class EventParty(Base):
    """``party_key`` is the mention's source key (``case_no#N``): re-projection updates, never duplicates."""

    __tablename__ = "event_party"
    __table_args__ = (UniqueConstraint("event_id", "party_key", name="uq_event_party_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("person.id"), index=True)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    party_key: Mapped[str | None] = mapped_column(String(160))


class OrganizationTag(Base):
    """Derived organisation flags (``key_unit_open_major_hazard``); ``event_ids`` say which events made it."""

    __tablename__ = "organization_tag"
    __table_args__ = (Index("ix_organization_tag_tag", "tag", "organization_id"),)

    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"),
                                                 primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
