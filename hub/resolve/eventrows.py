"""The rows of an incremental events pass: records, crosswalk and event links read and written by key.

:mod:`hub.resolve.eventscope` says which source keys changed; the projector then reads just those
records (a dispute's ``case-parties`` lines by the ``case_no#`` index range), the crosswalk rows of
their parties and fire units, writes the event links of those keys only, and on a new day
re-assesses the open events' deadlines as :func:`hub.events.overdue.mark_overdue` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Text, and_, func, or_, select, type_coerce

from hub.db.models import EntityLink, Event, SourceRecord
from hub.events.overdue import assess_event, is_open
from hub.resolve.placeread import stream_links
from hub.resolve.store import by_stream, decode_json
from hub.resolve.upsert import ChangeWriter, chunks

Key = tuple[str, str]  # (source, source_key)
PARTY_STREAMS = ["case-parties", "cases"]  # party mentions are linked under either


def _case_ranges(column: Any, cases: list[str]) -> Any:
    """Keys ``case_no#N`` of these cases: one index range per case, OR-ed (SQLite walks each range)."""
    return or_(*(and_(column >= f"{case}#", column < f"{case}$") for case in cases))


def _by_source(cases: Iterable[Key], size: int = 200) -> Iterable[tuple[str, list[str]]]:
    grouped: dict[str, list[str]] = {}
    for source, case in sorted(set(cases)):
        grouped.setdefault(source, []).append(case)
    for source, mine in grouped.items():
        for batch in chunks(mine, size):
            yield source, batch


def party_records(session: Any, cases: Iterable[Key]) -> list[tuple[str, str, dict[str, Any]]]:
    """The live ``case-parties`` lines of these cases."""
    out = []
    for source, batch in _by_source(cases):
        rows = session.connection().execute(
            select(SourceRecord.source, SourceRecord.source_key, type_coerce(SourceRecord.data, Text)).where(
                SourceRecord.source == source, SourceRecord.stream == "case-parties",
                _case_ranges(SourceRecord.source_key, batch), SourceRecord.deleted.is_(False)))
        out += [(src, key, decode_json(data) or {}) for src, key, data in rows]
    return sorted(out, key=lambda r: (r[0], r[1]))


#: Note on the crosswalk reads here: the entity type is filtered in Python, not in SQL. Given
#: ``entity_type = ?`` SQLite picks the (entity_type, entity_id) index and walks every link of that
#: type, where (source, stream, source_key) reaches the few rows wanted directly.


def party_links(session: Any, cases: Iterable[Key]) -> list[tuple[str, str, str, str]]:
    """(source, source_key, entity_type, entity_id) of the party mentions of these cases."""
    out = []
    for source, batch in _by_source(cases):
        for stream in PARTY_STREAMS:
            out += [row for row in session.connection().execute(
                select(EntityLink.source, EntityLink.source_key, EntityLink.entity_type, EntityLink.entity_id).where(
                    EntityLink.source == source, EntityLink.stream == stream,
                    _case_ranges(EntityLink.source_key, batch))).tuples()
                    if row[2] in ("person", "organization")]
    return out


def event_links(writer: ChangeWriter, desired: dict[tuple[str, str, str], str],
                addresses: set[tuple[str, str, str]]) -> None:
    """``ChangeWriter.links`` for these addresses only: a tombstoned record's event link goes."""
    session, have = writer.session, {}
    for source, stream, keys in by_stream(addresses):
        for link_id, key, etype, eid in session.execute(
                select(EntityLink.id, EntityLink.source_key, EntityLink.entity_type, EntityLink.entity_id).where(
                    EntityLink.source == source, EntityLink.stream == stream, EntityLink.source_key.in_(keys))):
            if etype == "event":
                have[(source, stream, key)] = (link_id, eid)
    writer.apply_links("event", "source_key", desired, have)


def reassess_open(writer: ChangeWriter, today: dt.date, calendar: Any, skip: set[str]) -> int:
    """The open (or never assessed) events' deadlines for a new day, as a full pass would write them."""
    cols = [Event.id, Event.kind, Event.remit, Event.status, Event.accepted_at, Event.occurred_at,
            Event.resolved_at, Event.closed_at, Event.details, Event.due_on, Event.overdue, Event.escalated]
    changed: dict[str, dict[str, Any]] = {}
    stored: dict[str, dict[str, Any]] = {}
    for row in writer.session.connection().execute(select(*cols)):
        values = dict(row._mapping)
        if values["id"] in skip or (not is_open(values["status"], values["remit"]) and values["due_on"] is not None):
            continue
        values["details"] = decode_json(values["details"])
        state = assess_event(values, today, calendar)
        want = {"due_on": state.due_on if state else None, "overdue": bool(state and state.overdue),
                "escalated": bool(state and state.escalated)}
        if any(values[k] != v for k, v in want.items()):
            changed[values["id"]] = want
            stored[values["id"]] = {k: values[k] for k in want}
    writer.sync(Event, "event", stored, changed)
    return len(changed)


def fire_units(session: Any, fire: list[str], units: set[Key] | None) -> dict[Key, str]:
    """(source, unit_no) -> the organisation the linking step resolved the fire unit to."""
    if units is None:
        return {(src, key): oid for src, _, key, _, oid in stream_links(session, ["organization"], fire, ["units"])}
    out: dict[Key, str] = {}
    for src in fire:
        for batch in chunks(sorted(k for s, k in units if s == src)):
            out.update(((src, key), oid) for key, etype, oid in session.connection().execute(
                select(EntityLink.source_key, EntityLink.entity_type, EntityLink.entity_id).where(
                    EntityLink.source == src, EntityLink.stream == "units", EntityLink.source_key.in_(batch)))
                if etype == "organization")
    return out


def finish_incremental(writer: ChangeWriter, scope: Any, links: dict[tuple[str, str, str], str], projected: set[str],
                       today: dt.date, calendar: Any) -> dict[str, int]:
    """The event links of the keys in ``scope``, a new day's deadlines, and the county's figures."""
    addresses = {(s, stream, k) for stream, keys in (("cases", scope.cases), ("incidents", scope.incidents),
                                                     ("hazards", scope.hazards)) for s, k in keys}
    event_links(writer, links, addresses)
    counts = {"events_rechecked": len(projected)}
    if scope.daily:
        counts["deadlines_reassessed"] = reassess_open(writer, today, calendar, projected)
    writer.session.flush()
    for name, column in (("overdue", Event.overdue), ("escalated", Event.escalated)):
        counts[name] = writer.session.execute(select(func.count()).where(column.is_(True))).scalar() or 0
    return counts
