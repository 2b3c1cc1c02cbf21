"""The audit log: every request (key, route, query, client, status, time) and which persons it showed,
and every read of personal data at a terminal (``record_read``).

Rows are buffered and written in batches by a background thread, so auditing never puts a write
transaction on a request's path; the buffer is flushed at shutdown and on demand. Each row is also
appended to a journal file (one JSON line, one ``write`` to the OS) before the response ends, so a
crash of the server (kill -9, out of memory) loses no record: the next start writes what the journal
holds and the store lacks (``AuditJournal``).
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import Request
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.db.base import utcnow
from hub.db.models import ApiKey, AuditEntry

log = logging.getLogger(__name__)
NOTE_KEY = "hub.audit"
#: query parameters whose values are personal data (a person looked up by name)
PERSONAL_PARAMS = frozenset({"name", "q", "phone", "citizen_id", "id_number", "person_name"})
#: a value shaped like a citizen ID or a mobile phone, in any parameter (a 15-digit grid code is not one)
PERSONAL_VALUE = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|1[3-9][0-9]{9})(?![0-9])")


@dataclass
class AuditNote:
    """What the handlers learn during one request, read by the middleware when it ends."""

    key_id: int | None = None
    key_name: str | None = None
    user_name: str | None = None  # a console user (the console authenticates people, not keys)
    person_ids: list[str] = field(default_factory=list)


def note_of(request: Request) -> AuditNote:
    note = request.scope.get(NOTE_KEY)
    if note is None:  # an app mounted without the middleware still works
        note = request.scope[NOTE_KEY] = AuditNote()
    return note


def audit_persons(request: Request, ids: list[str]) -> None:
    note_of(request).person_ids.extend(ids)


def _encode(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NAIVE_UTC)


def _decode(line: bytes) -> dict[str, Any] | None:
    try:
        row = orjson.loads(line)
        at = dt.datetime.fromisoformat(row["at"])  # written as UTC with its offset; stored naive UTC
        row["at"] = at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at
        return row
    except (ValueError, KeyError, TypeError):  # a line cut short by the crash itself: it never reached the OS whole
        return None


class AuditJournal:
    """Append-only segments of the rows not yet in the store (a private folder, files 0600).

    ``append`` writes one line to the live segment; ``seal`` starts a new one and returns the sealed
    path, which is deleted once its rows are committed. At start, ``recover`` hands back the rows of
    every segment a crashed server left behind.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        self._seq = 0
        self._fd = self._open()

    def _open(self) -> int:
        self._seq += 1
        self.live = self.folder / f"{os.getpid()}-{time.time_ns()}-{self._seq}.jsonl"
        return os.open(self.live, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def append(self, row: dict[str, Any]) -> None:
        if self._fd < 0:  # written to after a stop (an app started again)
            self._fd = self._open()
        os.write(self._fd, _encode(row))

    def seal(self) -> Path:
        """Close the live segment and open a new one (called under the log's lock)."""
        sealed, fd = self.live, self._fd
        self._fd = self._open()
        if fd >= 0:
            os.close(fd)
        return sealed

    def sync(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)

    def leftovers(self) -> list[Path]:
        return sorted(p for p in self.folder.glob("*.jsonl") if p != self.live)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self.live.unlink(missing_ok=True)


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session], interval: float = 0.5, batch: int = 2000,
                 journal: Path | None = None) -> None:
        self.sessions, self.interval, self.batch = sessions, interval, batch
        self._rows: list[dict[str, Any]] = []
        self._sealed: list[Path] = []  # journal segments whose rows are in _rows, deleted once committed
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one flush at a time: a caller's flush returns once earlier rows are in
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.journal = AuditJournal(journal) if journal is not None else None

    def record(self, row: dict[str, Any]) -> None:
        with self._lock:
            if self.journal is not None:
                self.journal.append(row)
            self._rows.append(row)
            full = len(self._rows) >= self.batch
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Commit every row recorded before the call; waits for a flush already under way (the writer thread's)."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
            if self.journal is not None and rows:
                self._sealed.append(self.journal.seal())
            sealed, self._sealed = self._sealed, []
        if not rows:
            return 0
        if not self._insert(rows):
            with self._lock:  # never lose the rows silently: put them back and say so
                self._rows[:0] = rows
                self._sealed[:0] = sealed
            return 0
        for path in sealed:
            path.unlink(missing_ok=True)
        return len(rows)

    def _insert(self, rows: list[dict[str, Any]]) -> bool:
        keys = set().union(*rows)  # one batch insert needs one shape: a writer that left a field out gets NULL
        rows = [r if len(r) == len(keys) else dict.fromkeys(keys) | r for r in rows]
        try:
            with self.sessions() as session, session.begin():  # Core insert: no ORM bookkeeping per row
                session.connection().execute(insert(AuditEntry.__table__), rows)
        except Exception:
            log.exception("could not write %d audit rows; will retry", len(rows))
            return False
        return True

    def recover(self) -> int:
        """Write the rows a crashed server journaled but never committed; returns how many.

        A crash between a batch's commit and its segment's deletion leaves rows that are already
        stored: those (same time, path, method and duration) are not written twice."""
        if self.journal is None:
            return 0
        written = 0
        for path in self.journal.leftovers():
            rows = [r for line in path.read_bytes().splitlines() if (r := _decode(line)) is not None]
            if rows:
                with self.sessions() as session:
                    stored = set(session.execute(
                        select(AuditEntry.at, AuditEntry.method, AuditEntry.path, AuditEntry.duration_ms)
                        .where(AuditEntry.at.between(min(r["at"] for r in rows), max(r["at"] for r in rows)))).tuples())
                stored = {(a.replace(tzinfo=None), m, p, d) for a, m, p, d in stored}
                rows = [r for r in rows if (r["at"].replace(tzinfo=None), r["method"], r["path"], r["duration_ms"])
                        not in stored]
                if rows and not self._insert(rows):
                    continue  # kept for the next start
            written += len(rows)
            path.unlink(missing_ok=True)
        if written:
            log.warning("wrote %d audit rows a previous server journaled but did not store", written)
        return written

    def start(self) -> None:
        self.recover()
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
        if self.journal is not None and not self._rows:
            self.journal.close()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self.journal is not None:  # what the OS holds for the live segment reaches the disk too
                self.journal.sync()
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
        recorded = False

        def record() -> None:
            nonlocal recorded
            recorded = True
            route = scope.get("route")
            persons = list(dict.fromkeys(note.person_ids))
            self.audit.record({
                "at": utcnow(), "key_id": note.key_id, "key_name": note.key_name, "user_name": note.user_name,
                "method": scope.get("method", "")[:8], "route": (getattr(route, "path", None) or "-")[:200],
                "path": scope.get("path", "")[:500], "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                "person_ids": persons or None, "person_count": len(persons),
                "query": masked_query(scope.get("query_string", b"")), "client": client_of(scope),
            })

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body") and not recorded:
                record()  # journaled before the client has the last byte: an answered request is audited
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            if not recorded:
                record()


def sent_prefix(key: str) -> str:
    """The public part of a key as sent (``ghk_1a2b3c4d``), never its secret part."""
    return "sent:" + key.partition(".")[0][:24]


def sent_key_identity(sessions: sessionmaker[Session], key: str) -> tuple[int | None, str]:
    """(id, name) of a refused key that is ours (revoked, or its secret part wrong), else (None, its prefix)."""
    prefix = key.partition(".")[0][:24]
    with sessions() as session:
        row = session.execute(select(ApiKey.id, ApiKey.name).where(ApiKey.prefix == prefix)).first()
    return (row.id, row.name) if row else (None, sent_prefix(key))


def client_of(scope: Scope) -> str | None:
    """The peer's address as the server saw it (no forwarded-for header is trusted)."""
    client = scope.get("client")
    return str(client[0])[:100] if client else None


def masked_query(query_string: bytes) -> str | None:
    """The query string with every value that is personal data masked: names asked for by name, and
    anything shaped like a citizen ID or a phone, whatever parameter carried it."""
    if not query_string:
        return None
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    out = [(k, "***" if k in PERSONAL_PARAMS or PERSONAL_VALUE.search(v) else v) for k, v in pairs]
    return urlencode(out)[:1000]


class MaskedAccessLog(logging.Filter):
    """uvicorn's access log line with its query string masked as the audit masks it: a request line
    never writes a name asked for, an ID or a phone into a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            path, _, query = args[2].partition("?")
            record.args = (*args[:2], f"{path}?{masked_query(query.encode('latin-1', 'replace')) or ''}", *args[3:])
        return True


def access_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with ``MaskedAccessLog`` on its access handler."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["masked"] = {"()": MaskedAccessLog}
    config["handlers"]["access"]["filters"] = ["masked"]
    return config


def record_read(sessions: sessionmaker[Session], *, action: str, target: str, person_ids: list[str] | None = None,
                person_count: int | None = None) -> None:
    """Audit a person's read of personal data outside the API (``hub links export``, ``hub quarantine
    show``): who (the OS user and host), when, what, and how many persons, in the same log as the API's."""
    ids = list(dict.fromkeys(person_ids or []))
    with sessions() as session, session.begin():
        session.execute(insert(AuditEntry), [{
            "at": utcnow(), "key_id": None, "key_name": None, "user_name": f"cli:{getpass.getuser()}"[:64],
            "method": "CLI", "route": action[:200], "path": target[:500], "status": 200, "duration_ms": 0.0,
            "person_ids": ids or None, "person_count": len(ids) if person_count is None else person_count,
            "query": None, "client": f"{socket.gethostname()} (local terminal)"[:100],
        }])
