"""Reads and writes of the places step narrowed to some rows: the incremental pass's access paths.

Each takes ``only`` (ids or keys) and, given None, reads what the full pass reads, in the same order,
so one placer serves both passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select

from hub.db.models import EntityLink
from hub.resolve.upsert import ChangeWriter, chunks, fetch


def entity_addresses(session: Any, model: Any, only: list[str] | None) -> Iterator[tuple[str, str]]:
    """(id, address) of the entities with an address, by id (all of them when ``only`` is None)."""
    stmt = select(model.id, model.address).where(model.address.is_not(None)).order_by(model.id)
    if only is None:
        yield from session.connection().execute(stmt.execution_options(yield_per=5000))
        return
    rows = [r for batch in chunks(only, 500) for r in session.connection().execute(stmt.where(model.id.in_(batch)))]
    yield from sorted(rows)


def fetch_in(session: Any, columns: list[Any], column: Any = None, only: Iterable[str] | None = None
             ) -> dict[str, dict[str, Any]]:
    """``fetch`` of the rows whose ``column`` is in ``only`` (every row when ``only`` is None)."""
    if only is None:
        return fetch(session, columns)
    out: dict[str, dict[str, Any]] = {}
    for batch in chunks(sorted(set(only)), 500):
        out.update(fetch(session, columns, column.in_(batch)))
    return out


def stream_links(session: Any, entity_types: Iterable[str], sources: list[str], streams: list[str]
                 ) -> list[tuple[str, str, str, str, str]]:
    """(source, stream, source_key, entity_type, entity_id) of the crosswalk rows of some streams whose
    entity is of one of ``entity_types``, in the order ``linked`` gives them on SQLite (entity, then link id).

    Read through the (source, stream, …) key index, the entity type kept here: with the type in SQL,
    SQLite (no planner statistics) takes the (entity_type, entity_id) index and reads every link of the
    type, a county's persons' to find the few thousand of a roster (200k county, the disputes' party
    links: 0.34 -> 0.003 CPU s; the rosters' and public-security lists' person links: 0.41 -> 0.05)."""
    if not sources or not streams:
        return []
    wanted = set(entity_types)
    rows = [(eid, link_id, source, stream, key, etype) for link_id, source, stream, key, etype, eid
            in session.connection().execute(select(
                EntityLink.id, EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_type,
                EntityLink.entity_id).where(EntityLink.source.in_(sources), EntityLink.stream.in_(streams)))
            if etype in wanted]
    rows.sort(key=lambda r: (r[5], r[0], r[1]))
    return [(source, stream, key, etype, eid) for eid, _, source, stream, key, etype in rows]


def links_of(session: Any, entity_type: str, sources: list[str], streams: list[str] | None, only: set[str] | None
             ) -> Iterator[tuple[str, str, str, str]]:
    """``linked`` crosswalk rows, only those of the entities in ``only`` when given (``streams`` None: any)."""
    if only is None:
        assert streams is not None
        for source, stream, key, _, eid in stream_links(session, [entity_type], sources, streams):
            yield source, stream, key, eid
        return
    if not sources:
        return
    for batch in chunks(sorted(only), 500):
        where = [EntityLink.entity_type == entity_type, EntityLink.source.in_(sources), EntityLink.entity_id.in_(batch)]
        if streams is not None:
            where.append(EntityLink.stream.in_(streams))
        yield from session.connection().execute(
            select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_id).where(*where))


def write_links_of(writer: ChangeWriter, desired: dict[tuple[str, str, str], str],
                   keys: set[tuple[str, str, str]]) -> None:
    """``ChangeWriter.links`` for building links, over the records ``keys`` only (stale ones go)."""
    session = writer.session
    have: dict[tuple[str, str, str], tuple[int, str]] = {}
    by_stream: dict[tuple[str, str], list[str]] = {}
    for source, stream, key in keys:
        by_stream.setdefault((source, stream), []).append(key)
    for (source, stream), names in by_stream.items():
        for batch in chunks(sorted(names), 500):
            for link_id, key, eid in session.connection().execute(
                    select(EntityLink.id, EntityLink.source_key, EntityLink.entity_id).where(
                        EntityLink.entity_type == "building", EntityLink.source == source,
                        EntityLink.stream == stream, EntityLink.source_key.in_(batch))):
                have[(source, stream, key)] = (link_id, eid)
    writer.apply_links("building", "address", {k: v for k, v in desired.items() if k in keys}, have)
