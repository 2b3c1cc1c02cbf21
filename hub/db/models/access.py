"""API keys (only a hash is kept) and the audit log of every request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, created_at


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    created_at: Mapped[created_at]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_key_at", "key_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[created_at]
    key_id: Mapped[int | None] = mapped_column(Integer)
    key_name: Mapped[str | None] = mapped_column(String(64))
    user_name: Mapped[str | None] = mapped_column(String(64))  # a console user (key_id is then None)
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float)
    person_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    # the query string with personal-data values masked; who asked from where; how many persons were shown
    query: Mapped[str | None] = mapped_column(String(1000))
    client: Mapped[str | None] = mapped_column(String(100))
    person_count: Mapped[int | None] = mapped_column(Integer)

