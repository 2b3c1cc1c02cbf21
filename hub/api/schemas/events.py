"""Events (事) with their status history and deadlines."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from hub.api.schemas import UtcDateTime


class EventOut(BaseModel):
    id: str
    kind: str
    category: str | None
    grid_code: str | None
    location: str | None
    remit: str | None
    status: str
    occurred_at: UtcDateTime | None
    due_on: dt.date | None
    overdue: bool
    escalated: bool
    organization_id: str | None


class Party(BaseModel):
    role: str
    person_id: str | None
    organization_id: str | None
    name: str | None


class EventDetail(EventOut):
    summary: str | None
    accepted_at: UtcDateTime | None
    resolved_at: UtcDateTime | None
    closed_at: UtcDateTime | None
    history: list[dict[str, Any]]
    parties: list[Party]
