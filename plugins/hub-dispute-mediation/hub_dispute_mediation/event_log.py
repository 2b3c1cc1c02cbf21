"""The mediation platform's event log: ``events-YYYYMMDD.jsonl`` files, read from byte cursors.

The cursor is ``{file, offset, tail, seq, gaps, files}``. ``files`` maps every file read to
``[offset, size, tail, waiting]``: the byte offset just past its last consumed line, the bytes seen,
a digest of the 64 bytes before the offset (a file rewritten differently is re-read from its
start) and whether a torn last line is waiting there. Every file is checked each run, not only the
newest: a late or back-dated file, or an older file rewritten to complete a torn line, is read too.
``file``/``offset``/``tail`` mirror the newest file's entry. ``seq`` is the highest seq applied and
``gaps`` the ranges of lower seqs not yet seen: ``seq`` grows by one across files, so that is all it
takes to apply a seq delivered twice (a vendor restore) once, while a late lower seq still counts.

A torn last line (no newline, not a complete event) of the newest file is left for the run after the
writer completes it. In an older file it is quarantined (``Broken``), and still re-read should the
file be rewritten. A broken line anywhere else is ``Broken`` too — quarantined, never dropped. A
seq seen before comes back as ``Repeat`` when asked for, so a different event under a known seq
can be quarantined rather than silently ignored. A line nested deeper than ``MAX_DEPTH`` levels (one
that would exhaust the JSON parser's stack) is ``Broken`` too: a quarantined line, not a failed source.
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
_SEQ_PREFIX = re.compile(rb'^\s*\{\s*"seq"\s*:\s*"?(\d+)')
_BOM = b"\xef\xbb\xbf"
_TAIL_BYTES = 64
MAX_GAPS = 1000
MAX_DEPTH = 64  # levels of JSON nesting an event may have (it needs five: event, data, parties, party)


@dataclass
class Cursor:
    file: str | None = None
    offset: int = 0
    tail: str = ""
    seq: int = 0
    gaps: list[list[int]] = field(default_factory=list)
    files: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Cursor:
        raw = state.get("cursor") or {}
        return cls(file=raw.get("file"), offset=int(raw.get("offset", 0)), tail=str(raw.get("tail", "")),
                   seq=int(raw.get("seq", 0)), gaps=[list(g) for g in raw.get("gaps", [])],
                   files={k: list(v) for k, v in (raw.get("files") or {}).items()})

    def as_state(self) -> dict[str, Any]:
        return {"file": self.file, "offset": self.offset, "tail": self.tail, "seq": self.seq, "gaps": self.gaps,
                "files": self.files}

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
class Repeat:
    """An event whose seq was already applied (``where`` is ``file byte N``)."""

    event: Event
    where: str
    text: str


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
    """One line as an event. Tolerated: a BOM (a file begun by another tool), CRLF, a seq written as a
    digit string or a case_no as a number; anything else off-spec is ``Broken`` with the reason."""
    line = line.removeprefix(_BOM)
    try:
        obj = json.loads(line)
    except RecursionError:  # the parser's own stack: a line nested thousands deep is a bad line, not a crash
        return _broken(line, name, offset, f"nested too deep to read (more than {MAX_DEPTH} levels)")
    except (UnicodeDecodeError, ValueError) as exc:
        return _broken(line, name, offset, f"not a JSON object ({type(exc).__name__})")
    if not isinstance(obj, dict):
        return _broken(line, name, offset, "not a JSON object")
    if _too_deep(obj):  # parsed, but every later json.dumps/Arrow conversion of it would recurse as deep
        return _broken(line, name, offset, f"nested too deep to read (more than {MAX_DEPTH} levels)")
    seq, kind, case_no, data = obj.get("seq"), obj.get("type"), obj.get("case_no"), obj.get("data")
    if isinstance(seq, str) and seq.strip().isdecimal() and seq.strip().isascii():
        seq = int(seq)
    if isinstance(case_no, int) and not isinstance(case_no, bool):
        case_no = str(case_no)
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(kind, str) or not kind:
        return _broken(line, name, offset, "event without an integer seq or a type")
    if not isinstance(case_no, str) or not case_no.strip():
        return _broken(line, name, offset, "event without a case_no")
    if data is not None and not isinstance(data, dict):
        return _broken(line, name, offset, "event data is not an object")
    ts = obj.get("ts")
    return Event(seq=seq, ts=None if ts is None else str(ts), type=kind, case_no=case_no.strip(), data=data or {})


def _too_deep(obj: Any) -> bool:
    """More than ``MAX_DEPTH`` levels of objects/arrays (an event needs five), found without recursion."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


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

    def read(self, cursor: Cursor, stats: dict[str, int] | None = None,
             repeats: bool = False) -> Iterator[Event | Broken | Repeat]:
        """New events in file, then line order, advancing ``cursor`` as lines are consumed."""
        stats = stats if stats is not None else {}
        names = self.files()
        if cursor.file and not cursor.files:  # a cursor from before per-file tracking: older files are done
            for n in names:
                if n < cursor.file:
                    size = (self.root / n).stat().st_size
                    cursor.files[n] = [size, size, _tail_digest(self.root / n, size), 0]
            cursor.files[cursor.file] = [cursor.offset, -1, cursor.tail, 0]
        for name in names:
            path = self.root / name
            newest = name == names[-1]
            start, known = 0, cursor.files.get(name)
            if known:
                offset, seen, tail, waiting = known
                size = path.stat().st_size
                fits = offset <= size and _tail_digest(path, offset) == tail
                if fits and size == seen and not (waiting and not newest):
                    continue  # nothing new (a torn tail of the newest file waits for its writer)
                if fits:
                    start = offset
                else:
                    stats["rewritten"] = stats.get("rewritten", 0) + 1  # re-read; seqs dedupe the repeats
            yield from self._read_file(path, name, start, newest=newest, cursor=cursor, stats=stats,
                                       repeats=repeats)
        if names and names[-1] in cursor.files:
            cursor.file = names[-1]
            cursor.offset, _, cursor.tail, _ = cursor.files[names[-1]]

    def _read_file(self, path: Path, name: str, start: int, *, newest: bool, cursor: Cursor,
                   stats: dict[str, int], repeats: bool) -> Iterator[Event | Broken | Repeat]:
        with path.open("rb") as f:
            f.seek(start)
            pos = start
            held: bytes | None = None
            for line in f:
                if held is not None:
                    yield from self._consume(held, name, pos, cursor, stats, repeats)
                    pos += len(held)
                held = line
        end, waiting = pos, 0
        if held is not None:
            end = pos + len(held)
            last = parse_line(held, name, pos) if held.strip() else None
            # a complete event needs no newline after it: a JSON object cannot be torn into a valid one
            torn = not held.endswith(b"\n") and isinstance(last, Broken)
            if newest and isinstance(last, Broken):
                stats["torn"] = stats.get("torn", 0) + 1  # left for the run after the writer completes it
                waiting = 1
            elif torn and isinstance(last, Broken):
                stats["broken"] = stats.get("broken", 0) + 1  # quarantined; re-read if the file is rewritten
                yield Broken(last.key, f"{last.reason}, torn last line of an older file", last.text)
            else:
                yield from self._consume(held, name, pos, cursor, stats, repeats, parsed=last)
                pos = end
        cursor.files[name] = [pos, end, _tail_digest(path, pos), waiting]

    @staticmethod
    def _consume(line: bytes, name: str, pos: int, cursor: Cursor, stats: dict[str, int], repeats: bool,
                 parsed: Event | Broken | None = None) -> Iterator[Event | Broken | Repeat]:
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
            if repeats:
                yield Repeat(item, f"{name} byte {pos}", line.decode("utf-8", "replace").rstrip("\r\n")[:500])


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
