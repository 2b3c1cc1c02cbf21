"""Write only what changed, and say so in the change feed: what makes resolve steps idempotent.

Every resolve step computes the rows it wants and hands them here with the rows it found; a
second run on the same data finds nothing to write, so it writes nothing (no change-feed noise).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Text, bindparam, delete, func, insert, select, type_coerce, update

from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.bulk import executemany, indexes_rebuilt
from hub.db.models import EntityLink, SourceRecord, StreamState
from hub.resolve.store import decode_json, write_feed

CHUNK = 5000


def sources_of(ctx: HubContext, connector: str) -> list[str]:
    """The configured sources read by one connector (a county may run two of a kind)."""
    return sorted(name for name, s in ctx.config.sources.items() if s.connector == connector)


def records(session: Any, sources: list[str], stream: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(source, source_key, data) of the live (not deleted) records of one stream."""
    if not sources:
        return
    rows = session.connection().execute(
        select(SourceRecord.source, SourceRecord.source_key, type_coerce(SourceRecord.data, Text))
        .where(SourceRecord.source.in_(sources), SourceRecord.stream == stream, SourceRecord.deleted.is_(False))
        .order_by(SourceRecord.source, SourceRecord.source_key)
        .execution_options(yield_per=CHUNK))
    for source, key, data in rows:  # decoded here, once: see hub.resolve.store.decode_json
        yield source, key, decode_json(data) or {}


def records_by_key(session: Any, pairs: Iterable[tuple[str, str]], stream: str
                   ) -> list[tuple[str, str, dict[str, Any]]]:
    """``records`` of one stream with these (source, source_key) only, read by key, in key order."""
    by_source: dict[str, set[str]] = {}
    for source, key in pairs:
        by_source.setdefault(source, set()).add(key)
    out = []
    for source, keys in sorted(by_source.items()):
        for batch in chunks(sorted(keys)):
            rows = session.connection().execute(
                select(SourceRecord.source_key, type_coerce(SourceRecord.data, Text)).where(
                    SourceRecord.source == source, SourceRecord.stream == stream, SourceRecord.source_key.in_(batch),
                    SourceRecord.deleted.is_(False)))
            out += [(source, key, decode_json(text) or {}) for key, text in rows]
    return sorted(out, key=lambda r: (r[0], r[1]))


def chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class ChangeWriter:
    """Inserts, updates and links of one resolve step, and their change-feed rows."""

    def __init__(self, session: Any, run_id: str | None = None) -> None:
        self.session, self.run_id = session, run_id
        self.counts: Counter[str] = Counter()
        self._feed: list[dict[str, Any]] = []

    def feed(self, entity_type: str, entity_id: str, change: str, at: Any = None) -> None:
        self._feed.append({"entity_type": entity_type, "entity_id": entity_id, "change": change,
                           "run_id": self.run_id, "changed_at": at or utcnow()})

    def sync(self, model: Any, entity_type: str, existing: dict[str, dict[str, Any]],
             desired: dict[str, dict[str, Any]], *, create: bool = True, key: str = "id") -> None:
        """``desired`` id -> the values wanted; only the fields named there are compared and written."""
        new, changed = [], []
        for ident, values in desired.items():
            have = existing.get(ident)
            if have is None:
                if create:
                    new.append({key: ident, **values})
                continue
            diff = {k: v for k, v in values.items() if have.get(k) != v}
            if diff:
                changed.append({key: ident, **diff})
        # Core inserts: the ORM's bulk path adds per-row bookkeeping and nothing else here
        for batch in chunks(sorted(new, key=lambda row: row[key])):  # key order: the primary key only appends
            executemany(self.session.connection(), insert(model.__table__), batch)
        # group updates by the set of columns they touch: one executemany per shape
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in changed:
            shapes.setdefault(tuple(sorted(row)), []).append(row)
        table = model.__table__
        connection = self.session.connection()
        with indexes_rebuilt(connection, table, {c for cols in shapes for c in cols if c != key}, len(changed)):
            for cols, rows in shapes.items():
                # Core executemany by primary key: the ORM's bulk path costs a third more for nothing here
                stmt = table.update().where(table.c[key] == bindparam("_pk")).values(
                    {c: bindparam(f"_v_{c}") for c in cols if c != key})
                for batch in chunks(rows):
                    executemany(connection, stmt, [
                        {"_pk": r[key], **{f"_v_{c}": r[c] for c in cols if c != key}} for r in batch])
        now = utcnow()
        for row in new:
            self.feed(entity_type, row[key], "created", now)
        for row in changed:
            self.feed(entity_type, row[key], "updated", now)
        self.counts[f"{entity_type}_created"] += len(new)
        self.counts[f"{entity_type}_updated"] += len(changed)

    def links(self, entity_type: str, desired: dict[tuple[str, str, str], str], method: str,
              scope: list[tuple[str, str]]) -> None:
        """Crosswalk rows of one entity type for the (source, stream) pairs in ``scope``; stale ones go."""
        if not scope:
            return
        have: dict[tuple[str, str, str], tuple[int, str]] = {}
        for source, stream in scope:
            rows = self.session.execute(
                select(EntityLink.id, EntityLink.source, EntityLink.stream, EntityLink.source_key,
                       EntityLink.entity_id)
                .where(EntityLink.entity_type == entity_type, EntityLink.source == source,
                       EntityLink.stream == stream))
            for link_id, src, stm, skey, eid in rows:
                have[(src, stm, skey)] = (link_id, eid)
        self.apply_links(entity_type, method, desired, have)

    def apply_links(self, entity_type: str, method: str, desired: dict[tuple[str, str, str], str],
                    have: dict[tuple[str, str, str], tuple[int, str]]) -> None:
        """Make the crosswalk rows ``have`` (address -> (link id, entity id)) say ``desired``; the rest go."""
        now = utcnow()
        new = [{"source": k[0], "stream": k[1], "source_key": k[2], "entity_type": entity_type, "entity_id": eid,
                "method": method, "run_id": self.run_id, "updated_at": now}
               for k, eid in desired.items() if k not in have]
        moved = [{"id": have[k][0], "entity_id": eid, "method": method, "run_id": self.run_id, "updated_at": now}
                 for k, eid in desired.items() if k in have and have[k][1] != eid]
        gone = [have[k][0] for k in have if k not in desired]
        for batch in chunks(new):
            executemany(self.session.connection(), insert(EntityLink.__table__), batch)
        for batch in chunks(moved):
            self.session.execute(update(EntityLink), batch)
        for batch in chunks(gone):
            self.session.execute(delete(EntityLink).where(EntityLink.id.in_(batch)))
        self.counts[f"{entity_type}_links_written"] += len(new) + len(moved)
        self.counts[f"{entity_type}_links_removed"] += len(gone)

    def flush_feed(self) -> None:
        write_feed(self.session, self._feed)
        self._feed.clear()


def fetch(session: Any, columns: list[Any], *where: Any) -> dict[str, dict[str, Any]]:
    """id -> {column name: value} for the first column as the id."""
    ident, rest = columns[0], columns[1:]
    names = [c.key for c in rest]
    out: dict[str, dict[str, Any]] = {}
    for row in session.connection().execute(select(ident, *rest).where(*where)):
        out[row[0]] = dict(zip(names, row[1:], strict=True))
    return out


def linked(session: Any, entity_type: str, sources: list[str], streams: list[str]
           ) -> Iterator[tuple[str, str, str, str]]:
    """(source, stream, source_key, entity_id) of the crosswalk rows of some streams."""
    if not sources:
        return
    rows = session.connection().execute(
        select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_id)
        .where(EntityLink.entity_type == entity_type, EntityLink.source.in_(sources),
               EntityLink.stream.in_(streams)).execution_options(yield_per=CHUNK))
    yield from rows


def fingerprint(session: Any, models: list[Any], extra: Any = None) -> list[Any]:
    """(rows, newest update) of each input table (or ``(model, *where)``): equal means nothing changed."""
    out: list[Any] = [extra]
    for model in models:
        model, *where = model if isinstance(model, tuple) else (model,)
        count, newest = session.execute(select(func.count(), func.max(model.updated_at)).where(*where)).one()
        out.append([count, str(newest)])
    return out


def unchanged_since(session: Any, step: str, current: list[Any]) -> bool:
    state = session.get(StreamState, ("resolve", step))
    return state is not None and state.state.get("fingerprint") == current


def remember(session: Any, step: str, current: list[Any]) -> None:
    """Kept in stream_state under source ``resolve``: the inputs a resolve step last saw."""
    state = session.get(StreamState, ("resolve", step))
    if state is None:
        session.add(StreamState(source="resolve", stream=step, state={"fingerprint": current}))
    else:
        state.state = {"fingerprint": current}


__all__ = ["ChangeWriter", "chunks", "fetch", "linked", "records", "sources_of", "fingerprint", "unchanged_since", "remember"]
