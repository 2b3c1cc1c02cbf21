"""The audit log: every request (key, route, status, time) and which persons a response showed.

Rows are buffered and written in batches by a background thread, so auditing never puts a write
transaction on a request's path; the buffer is flushed at shutdown and on demand.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.db.base import utcnow
from hub.db.models import AuditEntry

log = logging.getLogger(__name__)
NOTE_KEY = "hub.audit"


@dataclass
class AuditNote:
    """What the handlers learn during one request, read by the middleware when it ends."""

    key_id: int | None = None
    key_name: str | None = None
    person_ids: list[str] = field(default_factory=list)


def note_of(request: Request) -> AuditNote:
    note = request.scope.get(NOTE_KEY)
    if note is None:  # an app mounted without the middleware still works
        note = request.scope[NOTE_KEY] = AuditNote()
    return note


def audit_persons(request: Request, ids: list[str]) -> None:
    note_of(request).person_ids.extend(ids)


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session], interval: float = 0.5, batch: int = 2000) -> None:
        self.sessions, self.interval, self.batch = sessions, interval, batch
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None

    def record(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= self.batch
        if full:
            self._wake.set()

    def flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            with self.sessions() as session, session.begin():
                session.execute(insert(AuditEntry), rows)
        except Exception:  # never lose the rows silently: put them back and say so
            log.exception("could not write %d audit rows; will retry", len(rows))
            with self._lock:
                self._rows[:0] = rows
            return 0
        return len(rows)

    def start(self) -> None:
        if self._thread is None:
            self._stop = False
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()


class AuditMiddleware:
    """Pure ASGI (no per-request task hop): times the request and records it when the response ends."""

    def __init__(self, app: ASGIApp, audit: AuditLog) -> None:
        self.app, self.audit = app, audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        note = scope[NOTE_KEY] = AuditNote()
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            self.audit.record({
                "at": utcnow(), "key_id": note.key_id, "key_name": note.key_name,
                "method": scope.get("method", "")[:8], "route": (getattr(route, "path", None) or "-")[:200],
                "path": scope.get("path", "")[:500], "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                "person_ids": list(dict.fromkeys(note.person_ids)) or None,
            })
