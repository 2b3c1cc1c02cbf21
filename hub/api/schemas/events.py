"""Events (事) with their status history and deadlines.

Event times are Beijing clock times, as the departments keep them: served with ``+08:00`` (the store
holds them naive; labelling them UTC would put every time eight hours off for a client converting it).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from hub.events.clock import on_beijing_clock

BeijingDateTime = Annotated[dt.datetime, AfterValidator(on_beijing_clock)]


class EventOut(BaseModel):
    id: str
    kind: str
    category: str | None = Field(description="the department's own category (source category)")
    ledger_category: str | None = Field(None, description="one of the eight ledger categories (八大项)")
    grid_code: str | None
    location: str | None
    remit: str | None
    status: str
    occurred_at: BeijingDateTime | None
    due_on: dt.date | None
    due_provisional: bool = Field(False, description="counted on a guessed Monday-Friday calendar")
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
    accepted_at: BeijingDateTime | None
    resolved_at: BeijingDateTime | None
    closed_at: BeijingDateTime | None
    finished_on: dt.date | None = Field(None, description="handling finished (resolved, closed, rectified, "
                                                          "or passed up for a county-remit case)")
    working_days_left: int | None = Field(None, description="to the due date; negative when overdue; null once finished")
    handler: str | None = Field(None, description="who handled the case (mediator, department)")
    feedback: str | None = Field(None, description="满意 / 基本满意 / 不满意")
    reason_noted: str | None = Field(None, description="注明原因: why it was not solved in time, where the source says")
    history: list[dict[str, Any]]
    parties: list[Party]
