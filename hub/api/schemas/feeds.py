"""The change feed, sources' runs and quality, and health."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from hub.api.schemas import UtcDateTime


class Change(BaseModel):
    seq: int
    entity_type: str
    entity_id: str
    change: str
    changed_at: UtcDateTime | None


class ChangePage(BaseModel):
    items: list[Change]
    next_cursor: str = Field(description="always set: pass it back to resume from here, even when items is empty")


class StreamQuality(BaseModel):
    stream: str
    read: int
    loaded: int
    unchanged: int
    quarantined: int
    tombstoned: int
    warnings: int
    checks: dict[str, Any]


class RunOut(BaseModel):
    run_id: str
    state: str
    stage: str
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None
    read: int
    loaded: int
    unchanged: int
    quarantined: int
    tombstoned: int
    warnings: int
    error: str | None


class SourceOut(BaseModel):
    source: str
    last_success_at: UtcDateTime | None
    open_quarantine: int
    runs: list[RunOut]
    quality: list[StreamQuality] = Field(description="per stream, from the latest successful run")


class Health(BaseModel):
    status: str
    database: str
