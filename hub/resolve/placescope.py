"""What a change can move: the houses, households, persons and organisations to place again.

A placement rests on the records naming a house (a building's evidence), the entity's own golden
record and crosswalk, and the buildings and household it points to. So after the last places pass:

- every record loaded since (by its run) re-names a house: its old house (from :mod:`hub.resolve.addressbook`,
  its old data is gone) and its new one are *touched*; its linked entity is placed again;
- every person, household and organisation the entity step created, updated, merged or deleted (the
  change feed) or re-linked (``EntityLink.updated_at``) is placed again, its address re-read;
- the placer then re-collects the evidence of the touched houses only, re-decides their buildings, and
  places again whatever points at a building whose placement changed (:class:`hub.resolve.places.Placer`).

A new grid registry, a first run, or more than :data:`SHARE` of the county changed: the full pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, func, select, type_coerce

from hub.context import HubContext
from hub.db.models import (
    AddressEvidence,
    ChangeFeed,
    EntityLink,
    GridCell,
    Household,
    Organization,
    Person,
    Run,
    SourceRecord,
    StreamState,
)
from hub.resolve.addressbook import AddressBook, Ref
from hub.resolve.gridindex import GridIndex
from hub.resolve.placement import address_key, record_hint
from hub.resolve.store import decode_json
from hub.resolve.upsert import chunks, sources_of

#: above this share of the address book changed, one full pass is cheaper than following each change
SHARE = 0.2
#: the streams placing reads, by connector
STREAMS = {"population": ("households", "persons"), "fire-safety": ("units",),
           "public-security": ("floating-persons", "special-persons", "incidents")}
#: streams whose records name a house as evidence (their hint: the record's own code or point)
EVIDENCE = ("households", "units", "floating-persons", "incidents")
PERSON_STREAMS = ("persons", "floating-persons", "special-persons")


@dataclass
class PlaceScope:
    touched: set[str] = field(default_factory=set)  # houses a changed record or address names, or named
    records: dict[tuple[str, str, str], dict[str, Any] | None] = field(default_factory=dict)  # None: deleted
    households: set[str] = field(default_factory=set)
    persons: set[str] = field(default_factory=set)
    organisations: set[str] = field(default_factory=set)
    book: dict[Ref, str | None] = field(default_factory=dict)  # address-book rows to write

    def empty(self) -> bool:
        return not (self.records or self.households or self.persons or self.organisations)


def grid_mark(session: Any) -> list[Any]:
    count, newest = session.execute(select(func.count(), func.max(GridCell.updated_at))).one()
    return [count, str(newest)]


def marks(session: Any, started: dt.datetime) -> dict[str, Any]:
    """Where the next pass starts from: loads finished after this pass began, entity changes after it ends."""
    from hub.db.base import utcnow

    seq = session.execute(select(func.max(ChangeFeed.seq))).scalar() or 0
    return {"since": started.isoformat(), "mark": utcnow().isoformat(), "seq": seq, "grids": grid_mark(session)}


def previous(session: Any) -> dict[str, Any]:
    state = session.get(StreamState, ("resolve", "places"))
    return dict(state.state or {}) if state is not None else {}


def changes(ctx: HubContext, session: Any, grid_index: Callable[[], GridIndex], book: AddressBook,
            state: dict[str, Any]) -> PlaceScope | None:
    """The scope of the next pass (``state``: where the last one left off), or None when the full pass is due."""
    if not {"since", "mark", "seq", "grids"} <= set(state) or state["grids"] != grid_mark(session) or book.empty():
        return None
    connection = session.connection()
    scope = PlaceScope()
    since, mark = dt.datetime.fromisoformat(state["since"]), dt.datetime.fromisoformat(state["mark"])
    runs = list(connection.execute(select(Run.run_id).where(Run.finished_at >= since)).scalars())
    streams = {src: names for connector, names in STREAMS.items() for src in sources_of(ctx, connector)}
    streams |= {src: () for src in sources_of(ctx, "civil-affairs")}  # every roster names a village
    for batch in chunks(runs, 200):
        for source, names in streams.items():
            where = [SourceRecord.source == source, SourceRecord.last_run_id.in_(batch)]
            if names:
                where.append(SourceRecord.stream.in_(names))
            for stream, key, deleted, text in connection.execute(select(
                    SourceRecord.stream, SourceRecord.source_key, SourceRecord.deleted,
                    type_coerce(SourceRecord.data, Text)).where(*where)):
                scope.records[(source, stream, key)] = None if deleted else (decode_json(text) or {})
    _entities(session, scope, state, mark, sorted(s for c in ("public-security", "civil-affairs", "fire-safety")
                                                  for s in sources_of(ctx, c)))
    if scope.empty():
        return scope
    total = connection.execute(select(func.count()).select_from(AddressEvidence)).scalar_one()
    if len(scope.records) + len(scope.persons) > SHARE * total:
        return None
    index = grid_index()
    for (source, stream, key), data in scope.records.items():
        if stream in EVIDENCE:
            hint = data.get("village_code") if stream == "households" and data else \
                data.get("grid_code") if stream == "floating-persons" and data else \
                record_hint(index, data) if data else None
            scope.book[(stream, source, key)] = address_key(index, data.get("address"), hint) if data else None
        if stream in ("floating-persons", "special-persons"):
            scope.book[(f"ps:{stream}", source, key)] = address_key(index, data.get("address")) if data else None
    for eid in sorted(scope.persons):
        scope.book[("person", "", eid)] = None
    for eid in sorted(scope.organisations):
        scope.book[("organization", "", eid)] = None
    for model, kind, ids in ((Person, "person", scope.persons), (Organization, "organization", scope.organisations)):
        for batch in chunks(sorted(ids), 500):
            for eid, address in connection.execute(select(model.id, model.address).where(model.id.in_(batch))):
                scope.book[(kind, "", eid)] = address_key(index, address) if address else None
    old = book.keys_of(scope.book)
    for ref, key in scope.book.items():
        scope.touched.update(k for k in (key, old.get(ref)) if k is not None)
    return scope


def _entities(session: Any, scope: PlaceScope, state: dict[str, Any], mark: dt.datetime, sources: list[str]) -> None:
    """The entities the entity step changed or re-linked, and those linked to a changed record."""
    connection = session.connection()
    into = {"person": scope.persons, "household": scope.households, "organization": scope.organisations}
    # the entity step's rows carry its run id; places, events and tags write theirs without one
    for etype, eid in connection.execute(select(ChangeFeed.entity_type, ChangeFeed.entity_id).where(
            ChangeFeed.seq > state["seq"], ChangeFeed.entity_type.in_(sorted(into)), ChangeFeed.run_id.is_not(None))):
        into[etype].add(eid)
    # links the entity step moved without a record changing (a cluster re-formed): of the departments whose
    # records place a person or organisation beside their golden record; a population record moving
    # changes the golden records it leaves and joins (the feed), and these sources are a tenth of the links
    for source in sources:
        for etype, eid in connection.execute(select(EntityLink.entity_type, EntityLink.entity_id).where(
                EntityLink.source == source, EntityLink.updated_at >= mark, EntityLink.entity_type.in_(sorted(into)))):
            into[etype].add(eid)
    by_stream: dict[tuple[str, str], list[str]] = {}
    for source, stream, key in scope.records:
        by_stream.setdefault((source, stream), []).append(key)
    for (source, stream), keys in by_stream.items():
        for batch in chunks(sorted(keys), 500):
            for etype, eid in connection.execute(select(EntityLink.entity_type, EntityLink.entity_id).where(
                    EntityLink.source == source, EntityLink.stream == stream, EntityLink.source_key.in_(batch),
                    EntityLink.entity_type.in_(sorted(into)))):
                into[etype].add(eid)
            if stream == "households":  # a household is its number in the registry
                into["household"].update(connection.execute(select(Household.id).where(
                    Household.household_no.in_(batch))).scalars())


def linked_entities(session: Any, etype: str, refs: list[tuple[str, str, str]]) -> set[str]:
    """The entities of one type the records ``(source, stream, key)`` are linked to."""
    out: set[str] = set()
    by_stream: dict[tuple[str, str], list[str]] = {}
    for source, stream, key in refs:
        by_stream.setdefault((source, stream), []).append(key)
    for (source, stream), keys in by_stream.items():
        for batch in chunks(sorted(set(keys)), 500):
            out.update(session.connection().execute(select(EntityLink.entity_id).where(
                EntityLink.source == source, EntityLink.stream == stream, EntityLink.source_key.in_(batch),
                EntityLink.entity_type == etype)).scalars())
    return out
