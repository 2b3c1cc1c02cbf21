"""Printouts at the terminal are audited like API reads: one audit row naming the reader and the persons shown."""

from __future__ import annotations

import time

from sqlalchemy import insert
from sqlalchemy.orm import Session

from hub.db.base import utcnow
from hub.db.models import AuditEntry


def record_read(session: Session, reader: str, route: str, path: str, person_ids: list[str],
                started: float | None = None) -> None:
    """Written in the caller's transaction: a printout that fails to commit leaves no audit row, and no file
    is reported written without its audit row."""
    session.execute(insert(AuditEntry), [{
        "at": utcnow(), "key_id": None, "key_name": reader[:64], "method": "CLI", "route": route[:200],
        "path": path[:500], "status": 200,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3) if started else 0.0,
        "person_ids": list(dict.fromkeys(person_ids)) or None}])
