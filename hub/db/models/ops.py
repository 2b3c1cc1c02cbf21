"""How data got here: runs and their ledger, stream state, source records, quarantine, review."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db.base import Base, created_at, source_name, str_id, utcnow
from hub.province.counties import county_of


def county_of_row(context: Any) -> str:
    """Insert default: the county code of the row's source (none bound: a batch of unknown rows)."""
    if context is None:
        return ""
    return county_of(str(context.get_current_parameters().get("source") or ""))


class Run(Base):
    """One sync of one source: the ledger proves read = loaded + unchanged + quarantined + tombstoned."""

    __tablename__ = "run"

    run_id: Mapped[str_id]
    source: Mapped[source_name] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running|success|failed
    stage: Mapped[str] = mapped_column(String(16), default="extract")
    started_at: Mapped[created_at]
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    read: Mapped[int] = mapped_column(Integer, default=0)
    loaded: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    tombstoned: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    streams: Mapped[list[RunStream]] = relationship(back_populates="run", cascade="all, delete-orphan")


class RunStream(Base):
    """The ledger of one stream within a run, plus per-check pass counts for quality reports."""

    __tablename__ = "run_stream"
    __table_args__ = (UniqueConstraint("run_id", "stream"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.run_id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(64))
    read: Mapped[int] = mapped_column(Integer, default=0)
    loaded: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    tombstoned: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    #: of loaded + unchanged, rows stored with a field withheld (a field-scoped quarantine entry each)
    withheld: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: what each of ``warnings`` was (drift, extra columns, ...): the quality report names them
    warning_list: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)

    run: Mapped[Run] = relationship(back_populates="streams")


class StreamState(Base):
    """The committed incremental state of a stream; written in the same transaction as its load."""

    __tablename__ = "stream_state"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    run_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SourceRecord(Base):
    """A record as a department holds it, canonicalised; PII only as blind index + ciphertext."""

    __tablename__ = "source_record"
    __table_args__ = (
        # county_code last: lookups by (source, stream, source_key) keep using the index
        UniqueConstraint("source", "stream", "source_key", "county_code", name="uq_source_record_key"),
        Index("ix_source_record_changed", "source", "stream", "last_run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[source_name]
    #: the county's 6-digit division code, from the source name (hub.province.counties); "" for a
    #: single-county store. PostgreSQL partitions the table by it (migration 0013: PK (id, county_code))
    county_code: Mapped[str] = mapped_column(String(6), default=county_of_row, server_default="")
    stream: Mapped[str] = mapped_column(String(64))
    source_key: Mapped[str] = mapped_column(String(128))
    content_hash: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    delete_reason: Mapped[str | None] = mapped_column(String(64))
    first_run_id: Mapped[str] = mapped_column(String(64))
    last_run_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class QuarantinedRow(Base):
    """A problem the gate found, with machine-readable reasons and the row's raw values (encrypted).

    ``scope`` ``record``: the row was refused whole (its key or an identifying field is unusable).
    ``field``: the record loaded with ``column_name`` withheld; only that field waits for the steward.
    One open entry per row (``record``) or per row and column (``field``), however many runs see
    it (``seen_run_id`` is the latest); a later run loading a corrected row closes it (``resolved``).
    """

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_lookup", "source", "stream", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[source_name]
    stream: Mapped[str] = mapped_column(String(64))
    source_key: Mapped[str | None] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(8), default="record", server_default="record")  # record|field
    column_name: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    raw_enc: Mapped[str] = mapped_column(Text)
    raw_hash: Mapped[str | None] = mapped_column(String(32))  # keyed digest of the raw row: same row, same hash
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|resolved|replayed|dismissed
    created_at: Mapped[created_at]
    seen_run_id: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_run_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class EntityLink(Base):
    """The crosswalk: which entity a source record (or a ``#role`` mention inside one) refers to."""

    __tablename__ = "entity_link"
    __table_args__ = (
        UniqueConstraint("source", "stream", "source_key", "entity_type", "county_code", name="uq_entity_link_key"),
        Index("ix_entity_link_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[source_name]
    #: the linked record's county (as on source_record); partitioned by it on PostgreSQL
    county_code: Mapped[str] = mapped_column(String(6), default=county_of_row, server_default="")
    stream: Mapped[str] = mapped_column(String(64))
    source_key: Mapped[str] = mapped_column(String(160))
    entity_type: Mapped[str] = mapped_column(String(16))  # person|household|building|organization|event
    entity_id: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(32))  # citizen_id|credit_code|household_no|probabilistic|steward|...
    score: Mapped[float | None] = mapped_column(Float)
    run_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class EntityRedirect(Base):
    """A merged or split entity's old id keeps pointing somewhere, so downstream never loses it."""

    __tablename__ = "entity_redirect"

    old_id: Mapped[str_id]
    entity_type: Mapped[str] = mapped_column(String(16))
    new_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[created_at]


class MatchReview(Base):
    """An uncertain pair for a steward; the decision persists and overrides later model runs."""

    __tablename__ = "match_review"
    __table_args__ = (UniqueConstraint("entity_type", "left_key", "right_key", name="uq_match_review_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    left_key: Mapped[str] = mapped_column(String(255))  # "source|stream|source_key"
    right_key: Mapped[str] = mapped_column(String(255))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|accepted|rejected
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[created_at]


class ChangeFeed(Base):
    """Append-only log of entity ids changed, for ``/changes?cursor=``."""

    __tablename__ = "change_feed"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    change: Mapped[str] = mapped_column(String(16))  # created|updated|deleted|merged
    run_id: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[created_at]
