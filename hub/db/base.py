"""Typed declarative base with a naming convention, so migrations are stable on every backend."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from sqlalchemy import JSON, DateTime, MetaData, String
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Naive UTC: SQLite keeps no zone, so the store holds UTC everywhere by convention."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def utc_text(value: dt.datetime | None, timespec: str = "auto") -> str | None:
    """A stored (naive UTC) time as RFC 3339 with its offset, for output a person or an app reads."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat(timespec=timespec)


def stored_date(value: Any) -> dt.date | None:
    """A date read back from the store: a date/datetime column, or an ISO string in a JSON document."""
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# Reused column shapes (SQLAlchemy 2.0 Annotated mapping).
str_id = Annotated[str, mapped_column(String(64), primary_key=True)]
source_name = Annotated[str, mapped_column(String(64))]
grid_code = Annotated[str, mapped_column(String(15))]
json_doc = Annotated[dict[str, Any], mapped_column(JSON)]
created_at = Annotated[dt.datetime, mapped_column(DateTime, default=utcnow)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}
