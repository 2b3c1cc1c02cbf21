"""Writing resolve's results as differences: links, golden rows, redirects, the change feed.

Everything compares with what is stored and writes only what changed, so a second run on the
same records writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from hub.db.base import Base, utcnow
from hub.db.models import ChangeFeed, EntityLink, EntityRedirect

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
    for batch in chunks(sorted(set(addresses)), 300):
        for s, st, k, etype, e, m, sc, r in connection.execute(select(*cols).where(
                tuple_(EntityLink.source, EntityLink.stream, EntityLink.source_key).in_(batch))):
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
    """Upsert produced links; drop links inside ``scope`` that are no longer produced."""
    now = utcnow()
    inserts, updates = [], []
    for addr, value in produced.items():
        current = old.get(addr)
        if current == value:
            continue
        row = {"entity_id": value[0], "method": value[1], "score": value[2], "run_id": value[3], "updated_at": now}
        if current is None:
            inserts.append({"source": addr[0], "stream": addr[1], "source_key": addr[2], "entity_type": etype, **row})
        else:
            updates.append({"b_source": addr[0], "b_stream": addr[1], "b_key": addr[2], **row})
    gone = [a for a in scope if a in old and a not in produced]
    for batch in chunks(gone):
        session.execute(delete(EntityLink).where(EntityLink.entity_type == etype, tuple_(
            EntityLink.source, EntityLink.stream, EntityLink.source_key).in_(batch)))
    if inserts:
        for batch in chunks(inserts, 20_000):
            session.connection().execute(insert(EntityLink.__table__), batch)
    if updates:
        stmt = (update(EntityLink).where(EntityLink.entity_type == etype, EntityLink.source == bindparam("b_source"),
                                         EntityLink.stream == bindparam("b_stream"),
                                         EntityLink.source_key == bindparam("b_key")))
        session.connection().execute(stmt, updates)
    return len(inserts) + len(updates) + len(gone)


def existing_rows(session: Session, table: Table, ids: Iterable[str] | None, columns: list[str]) -> dict[str, dict]:
    cols = [table.c.id, *(table.c[c] for c in columns)]
    out: dict[str, dict] = {}
    if ids is None:
        for row in session.execute(select(*cols).execution_options(yield_per=50_000)).mappings():
            out[row["id"]] = dict(row)
        return out
    for batch in chunks(sorted(set(ids))):
        for row in session.execute(select(*cols).where(table.c.id.in_(batch))).mappings():
            out[row["id"]] = dict(row)
    return out


def sync_rows(session: Session, table: Table, etype: str, rows: dict[str, dict[str, Any]],
              current: dict[str, dict], feed: list[dict[str, Any]], run_id: str) -> dict[str, int]:
    """Insert new golden rows, update changed ones; record both in the change feed."""
    inserts, updates = [], []
    for eid, values in rows.items():
        have = current.get(eid)
        if have is None:
            inserts.append({"id": eid, **values})
            feed.append({"entity_type": etype, "entity_id": eid, "change": "created", "run_id": run_id})
        elif any(have.get(k) != v for k, v in values.items()):
            updates.append({"b_id": eid, **values})
            feed.append({"entity_type": etype, "entity_id": eid, "change": "updated", "run_id": run_id})
    for batch in chunks(inserts, 10_000):
        session.connection().execute(insert(table), batch)
    if updates:
        keys = sorted({k for u in updates for k in u if k != "b_id"})
        for u in updates:
            for k in keys:
                u.setdefault(k, current[u["b_id"]].get(k))
        session.connection().execute(update(table).where(table.c.id == bindparam("b_id")), updates)
    return {"created": len(inserts), "updated": len(updates)}


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


def redirected_ids(session: Session, etype: str) -> set[str]:
    return set(session.scalars(select(EntityRedirect.old_id).where(EntityRedirect.entity_type == etype)))


def write_feed(session: Session, feed: list[dict[str, Any]]) -> None:
    for batch in chunks(feed, 10_000):
        session.connection().execute(insert(ChangeFeed.__table__), batch)
