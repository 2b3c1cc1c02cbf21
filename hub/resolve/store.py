"""Writing resolve's results as differences: links, golden rows, redirects, the change feed.

Everything compares with what is stored and writes only what changed, so a second run on the
same records writes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from hub.db.base import Base, utcnow
from hub.db.bulk import executemany, indexes_rebuilt
from hub.db.models import ChangeFeed, EntityLink, EntityRedirect
from hub.db.provenance import MARK, unpack
from hub.province.counties import county_of

try:  # several times faster than json.loads on the records' JSON text
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - orjson is optional
    _fast_loads = json.loads

Address = tuple[str, str, str]
LinkValue = tuple[str, str, float | None, str | None]  # entity_id, method, score, run_id


def chunks(items: Iterable[Any], size: int = 500) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def by_stream(addresses: Iterable[Address], size: int = 500) -> Iterable[tuple[str, str, list[str]]]:
    """(source, stream, keys) batches: ``source = ? AND stream = ? AND source_key IN (…)`` probes the
    unique index, where a row-value ``(source, stream, source_key) IN (…)`` makes SQLite scan the table."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for source, stream, key in sorted(set(addresses)):
        grouped.setdefault((source, stream), []).append(key)
    for (source, stream), keys in grouped.items():
        for batch in chunks(keys, size):
            yield source, stream, batch


def decode_json(value: Any) -> Any:
    """A JSON column read as text (SQLite) or already decoded by the driver (PostgreSQL)."""
    if value is None or not isinstance(value, (str, bytes)):
        return value
    try:
        return _fast_loads(value)
    except ValueError:  # what orjson refuses and json accepts (NaN, huge integers)
        return json.loads(value)


def load_links(session: Session, etype: str) -> dict[Address, LinkValue]:
    rows = session.connection().execute(select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_id,
                                  EntityLink.method, EntityLink.score, EntityLink.run_id)
                           .where(EntityLink.entity_type == etype).execution_options(yield_per=50_000))
    return {(s, st, k): (e, m, sc, r) for s, st, k, e, m, sc, r in rows}


def load_links_of(session: Session, old: dict[str, dict[Address, LinkValue]], addresses: Iterable[Address]) -> None:
    """Add the stored links of these addresses (any entity type) to ``old``: an incremental run reads
    the links of the records in play, not the county's whole crosswalk."""
    cols = (EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_type, EntityLink.entity_id,
            EntityLink.method, EntityLink.score, EntityLink.run_id)
    connection = session.connection()
    for source, stream, keys in by_stream(addresses):
        for s, st, k, etype, e, m, sc, r in connection.execute(select(*cols).where(
                EntityLink.source == source, EntityLink.stream == stream, EntityLink.source_key.in_(keys))):
            if etype in old:
                old[etype][(s, st, k)] = (e, m, sc, r)


def links_of(session: Session, etype: str, ids: Iterable[str]) -> set[Address]:
    out: set[Address] = set()
    for batch in chunks(sorted(set(ids))):
        out.update(session.execute(select(EntityLink.source, EntityLink.stream, EntityLink.source_key)
                                   .where(EntityLink.entity_type == etype, EntityLink.entity_id.in_(batch))).tuples())
    return out


def write_links(session: Session, etype: str, produced: dict[Address, LinkValue], scope: set[Address],
                old: dict[Address, LinkValue]) -> int:
    """Upsert produced links; drop links inside ``scope`` that are no longer produced. Written in
    batches as they are found (a county's first run inserts about a million)."""
    now = utcnow()
    connection = session.connection()
    gone = [a for a in scope if a in old and a not in produced]
    for source, stream, keys in by_stream(gone):
        session.execute(delete(EntityLink).where(EntityLink.entity_type == etype, EntityLink.source == source,
                                                 EntityLink.stream == stream, EntityLink.source_key.in_(keys)))
    update_stmt = (update(EntityLink).where(EntityLink.entity_type == etype, EntityLink.source == bindparam("b_source"),
                                            EntityLink.stream == bindparam("b_stream"),
                                            EntityLink.source_key == bindparam("b_key")))
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    written = len(gone)

    def flush() -> None:
        executemany(connection, insert(EntityLink.__table__), inserts)
        executemany(connection, update_stmt, updates)
        inserts.clear()
        updates.clear()

    counties: dict[str, str] = {}  # source -> its county code, worked out once a source
    with indexes_rebuilt(connection, EntityLink.__table__, None, sum(1 for a in produced if a not in old)):
        for addr in sorted(produced):  # in key order: the unique (source, stream, key) index only appends
            value = produced[addr]
            current = old.get(addr)
            if current == value:
                continue
            written += 1
            source, stream, key = addr
            if current is None:
                if (county := counties.get(source)) is None:
                    county = counties[source] = county_of(source)
                inserts.append({"source": source, "stream": stream, "source_key": key, "entity_type": etype,
                                "county_code": county, "entity_id": value[0], "method": value[1], "score": value[2],
                                "run_id": value[3], "updated_at": now})
            else:
                updates.append({"b_source": source, "b_stream": stream, "b_key": key, "entity_id": value[0],
                                "method": value[1], "score": value[2], "run_id": value[3], "updated_at": now})
            if len(inserts) + len(updates) >= 20_000:
                flush()
        flush()
    return written


def sync_rows(session: Session, table: Table, etype: str, rows: dict[str, dict[str, Any]], ids: Iterable[str] | None,
              columns: list[str], feed: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """Insert new golden rows, update changed ones; record both in the change feed.

    The stored rows (all of them when ``ids`` is None) are compared as they stream past and only the
    changed ones are kept: a county's golden rows with their provenance do not fit in memory twice.
    Returns the counts and ``present``, every stored id that was looked at."""
    cols = [table.c.id, *(table.c[c] for c in columns)]
    queries = ([select(*cols).execution_options(yield_per=20_000)] if ids is None
               else [select(*cols).where(table.c.id.in_(batch)) for batch in chunks(sorted(set(ids)))])
    present: set[str] = set()
    stale: dict[str, dict[str, Any]] = {}
    for query in queries:
        for row in session.execute(query).mappings():
            eid = row["id"]
            present.add(eid)
            values = rows.get(eid)
            if values is not None and any(row.get(k) != _unpacked(v) for k, v in values.items()):
                stale[eid] = {c: row[c] for c in columns}
    inserts: list[dict[str, Any]] = []  # a batch at a time: a county's first run inserts half a million
    updates: list[dict[str, Any]] = []
    created = 0
    connection = session.connection()
    for eid in rows:  # the change feed in the rows' order, as it always was
        if eid not in present:
            feed.append({"entity_type": etype, "entity_id": eid, "change": "created", "run_id": run_id})
        elif eid in stale:
            updates.append({"b_id": eid, **stale[eid], **rows[eid]})
            feed.append({"entity_type": etype, "entity_id": eid, "change": "updated", "run_id": run_id})
    new = sorted(eid for eid in rows if eid not in present)
    with indexes_rebuilt(connection, table, None, len(new)):
        for eid in new:  # in key order: ids are hashes, and the primary-key index then only appends
            inserts.append({"id": eid, **rows[eid]})
            if len(inserts) == 10_000:
                executemany(connection, insert(table), inserts)
                created += len(inserts)
                inserts.clear()
        executemany(connection, insert(table), inserts)
        created += len(inserts)
    if updates:
        with indexes_rebuilt(connection, table, columns, len(updates)):
            executemany(connection, update(table).where(table.c.id == bindparam("b_id")), updates)
    return {"created": created, "updated": len(updates), "present": present}


def _unpacked(value: Any) -> Any:
    """A value as a stored row reads back: provenance handed over packed (golden persons) is compared
    in the shape the column's reader gives."""
    return unpack(value) if isinstance(value, dict) and MARK in value else value


def retire(session: Session, table: Table, etype: str, moves: dict[str, str | None], feed: list[dict[str, Any]],
           run_id: str) -> None:
    """Ids that no longer exist: repoint references, redirect (merged) or delete, then drop the row."""
    if not moves:
        return
    for ref_table in Base.metadata.sorted_tables:
        for fk in ref_table.foreign_keys:
            if fk.column.table is not table:
                continue
            col = fk.parent
            for old_id, new_id in moves.items():
                if new_id is None or col.primary_key:
                    if col.primary_key or not col.nullable:
                        session.execute(delete(ref_table).where(col == old_id))
                    else:
                        session.execute(update(ref_table).where(col == old_id).values({col.name: None}))
                else:
                    session.execute(update(ref_table).where(col == old_id).values({col.name: new_id}))
    for batch in chunks(sorted(moves)):
        session.execute(delete(table).where(table.c.id.in_(batch)))
    for old_id, new_id in sorted(moves.items()):
        if new_id is None:
            feed.append({"entity_type": etype, "entity_id": old_id, "change": "deleted", "run_id": run_id})
            continue
        session.execute(update(EntityRedirect).where(EntityRedirect.new_id == old_id).values(new_id=new_id))
        existing = session.get(EntityRedirect, old_id)
        if existing is None:
            session.add(EntityRedirect(old_id=old_id, entity_type=etype, new_id=new_id, reason="merged"))
        else:
            existing.new_id, existing.reason = new_id, "merged"
        feed.append({"entity_type": etype, "entity_id": old_id, "change": "merged", "run_id": run_id})


def revive(session: Session, ids: Iterable[str], etype: str, feed: list[dict[str, Any]], run_id: str) -> None:
    """A split gave a formerly merged id back its own records: its redirect goes."""
    for eid in sorted(set(ids)):
        if session.get(EntityRedirect, eid) is not None:
            session.execute(delete(EntityRedirect).where(EntityRedirect.old_id == eid))
            feed.append({"entity_type": etype, "entity_id": eid, "change": "split", "run_id": run_id})


def ids_in_use(session: Session, table: Table, derived: Iterable[str], known: set[str]) -> set[str]:
    """Of the ids new entities would derive (and their ``-2``, ``-3`` … variants), those stored, plus
    ``known``: what ``assign_ids`` must not hand out, found by primary-key probes instead of reading the
    county's ids. A variant is looked for only under an id already taken or derived twice (rare), since
    only then does ``assign_ids`` try one."""
    wanted = list(derived)
    found: set[str] = set()
    connection = session.connection()
    for batch in chunks(sorted(set(wanted))):
        found.update(connection.execute(select(table.c.id).where(table.c.id.in_(batch))).scalars())
    twice = {d for d, n in Counter(wanted).items() if n > 1}
    for base in sorted(found | twice | (known & set(wanted))):
        found.update(connection.execute(select(table.c.id).where(table.c.id.like(f"{base}-%"))).scalars())
    return found | known


def redirected_ids(session: Session, etype: str) -> set[str]:
    return set(session.scalars(select(EntityRedirect.old_id).where(EntityRedirect.entity_type == etype)))


def write_feed(session: Session, feed: list[dict[str, Any]]) -> None:
    for batch in chunks(feed, 10_000):
        executemany(session.connection(), insert(ChangeFeed.__table__), batch)
