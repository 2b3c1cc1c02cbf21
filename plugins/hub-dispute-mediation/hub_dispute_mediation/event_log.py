"""The mediation platform's event log: ``events-YYYYMMDD.jsonl`` files, read from a byte cursor.

The cursor is ``{file, offset, tail, seq, gaps}``: the file being read, the byte offset just
past its last complete line, a digest of the bytes before that offset (so a file rewritten
differently is noticed and re-read from its start), the highest ``seq`` applied and the ranges
of lower seqs not yet seen. ``seq`` grows by one across files, so that is all it takes to apply
a seq delivered twice (a vendor restore) once, while a late lower seq filling a gap still counts.

The last line of the newest file is left for the next run when it has no newline or is not
JSON (the writer crashed mid-line and completes it when it rewrites the file). A broken line
anywhere else is yielded as ``Broken`` — quarantined by the caller, never dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.errors import SourceError

LOG_FILE = re.compile(r"^events-\d{8}\.jsonl$")
_SEQ_PREFIX = re.compile(rb'^\s*\{\s*"seq"\s*:\s*(\d+)')
_TAIL_BYTES = 64
MAX_GAPS = 1000


@dataclass
class Cursor:
    file: str | None = None
    offset: int = 0
    tail: str = ""
    seq: int = 0
    gaps: list[list[int]] = field(default_factory=list)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Cursor:
        raw = state.get("cursor") or {}
        return cls(file=raw.get("file"), offset=int(raw.get("offset", 0)), tail=str(raw.get("tail", "")),
                   seq=int(raw.get("seq", 0)), gaps=[list(g) for g in raw.get("gaps", [])])

    def as_state(self) -> dict[str, Any]:
        return {"file": self.file, "offset": self.offset, "tail": self.tail, "seq": self.seq, "gaps": self.gaps}

    def admit(self, seq: int) -> bool:
        """True the first time a seq is seen; False for a re-delivered one."""
        if seq > self.seq:
            if seq > self.seq + 1:
                self.gaps.append([self.seq + 1, seq - 1])
                del self.gaps[:-MAX_GAPS]
            self.seq = seq
            return True
        for i, (low, high) in enumerate(self.gaps):
            if low <= seq <= high:
                self.gaps[i : i + 1] = [g for g in ([low, seq - 1], [seq + 1, high]) if g[0] <= g[1]]
                return True
        return False


@dataclass(frozen=True)
class Event:
    seq: int
    ts: str | None
    type: str
    case_no: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Broken:
    """A line that is not a readable event: ``key`` is ``seq:N`` when visible, else ``file:offset``."""

    key: str
    reason: str
    text: str


def _tail_digest(path: Path, offset: int) -> str:
    with path.open("rb") as f:
        f.seek(max(0, offset - _TAIL_BYTES))
        return hashlib.sha1(f.read(min(offset, _TAIL_BYTES))).hexdigest()[:16]


def parse_line(line: bytes, name: str, offset: int) -> Event | Broken:
    try:
        obj = json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        return _broken(line, name, offset, f"not a JSON object ({type(exc).__name__})")
    if not isinstance(obj, dict):
        return _broken(line, name, offset, "not a JSON object")
    seq, kind, case_no, data = obj.get("seq"), obj.get("type"), obj.get("case_no"), obj.get("data")
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(kind, str) or not kind:
        return _broken(line, name, offset, "event without an integer seq or a type")
    if not isinstance(case_no, str) or not case_no.strip():
        return _broken(line, name, offset, "event without a case_no")
    if data is not None and not isinstance(data, dict):
        return _broken(line, name, offset, "event data is not an object")
    ts = obj.get("ts")
    return Event(seq=seq, ts=None if ts is None else str(ts), type=kind, case_no=case_no.strip(), data=data or {})


def _broken(line: bytes, name: str, offset: int, why: str) -> Broken:
    m = _SEQ_PREFIX.match(line)
    key = f"seq:{int(m[1])}" if m else f"{name}:{offset}"
    return Broken(key=key, reason=f"{name} byte {offset}: {why}",
                  text=line.decode("utf-8", "replace").rstrip("\r\n")[:500])


class EventLog:
    """The folder of daily log files."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def check(self) -> None:
        if not self.root.is_dir():
            raise SourceError(f"dispute-mediation log folder not found: {self.root}")

    def files(self) -> list[str]:
        self.check()
        return sorted(p.name for p in self.root.iterdir() if p.is_file() and LOG_FILE.match(p.name))

    def read(self, cursor: Cursor, stats: dict[str, int] | None = None) -> Iterator[Event | Broken]:
        """New events in seq-admission order, advancing ``cursor`` as lines are consumed."""
        stats = stats if stats is not None else {}
        names = [n for n in self.files() if cursor.file is None or n >= cursor.file]
        for name in names:
            path = self.root / name
            start = 0
            if name == cursor.file:
                size = path.stat().st_size
                if cursor.offset <= size and _tail_digest(path, cursor.offset) == cursor.tail:
                    start = cursor.offset
                else:
                    stats["rewritten"] = stats.get("rewritten", 0) + 1  # re-read; seqs dedupe the repeats
            cursor.file, cursor.offset = name, start
            yield from self._read_file(path, name, start, newest=name == names[-1], cursor=cursor, stats=stats)
            cursor.tail = _tail_digest(path, cursor.offset)

    def _read_file(self, path: Path, name: str, start: int, *, newest: bool, cursor: Cursor,
                   stats: dict[str, int]) -> Iterator[Event | Broken]:
        with path.open("rb") as f:
            f.seek(start)
            pos = start
            held: bytes | None = None
            for line in f:
                if held is not None:
                    yield from self._consume(held, name, pos, cursor, stats)
                    pos += len(held)
                    cursor.offset = pos
                held = line
            if held is None:
                return
            last = parse_line(held, name, pos) if held.strip() else None
            if newest and (not held.endswith(b"\n") or isinstance(last, Broken)):
                stats["torn"] = stats.get("torn", 0) + 1  # left for the run after the writer completes it
                return
            yield from self._consume(held, name, pos, cursor, stats, parsed=last)
            cursor.offset = pos + len(held)

    @staticmethod
    def _consume(line: bytes, name: str, pos: int, cursor: Cursor, stats: dict[str, int],
                 parsed: Event | Broken | None = None) -> Iterator[Event | Broken]:
        if not line.strip():
            return
        item = parsed or parse_line(line, name, pos)
        if isinstance(item, Broken):
            stats["broken"] = stats.get("broken", 0) + 1
            yield item
        elif cursor.admit(item.seq):
            yield item
        else:
            stats["duplicates"] = stats.get("duplicates", 0) + 1


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
