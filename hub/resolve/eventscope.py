"""Which events can have changed since the last events pass: the rest keep theirs untouched.

An event rests on its own source records, the crosswalk of its parties and its fire unit, the
organisation a hazard belongs to, the buildings its address may fall in, the grid registry, and the
calendar. So an incremental pass re-projects:

- the disputes whose folded ``cases`` record or any ``case-parties`` line was loaded since (a case is
  re-projected whole, with all its parties), and those whose party crosswalk (``case_no#N``) moved;
- the incidents and hazards whose record was loaded since; the hazards of an inspection loaded since,
  of a unit whose organisation link moved, or of an organisation changed since (grid, address);
- the disputes and incidents whose address names a building created, re-placed or removed since;
- and, when the Beijing date moved on, the deadlines of the open events (what ``mark_overdue`` does).

A first pass, a grid-registry change, a crosswalk row deleted (what pointed at it is not known any
more), an earlier day than the last pass's, or a large share of the county changed: the
full pass (``project_events(full=True)``), which stays the reference.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select

from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.models import (
    Building,
    ChangeFeed,
    EntityLink,
    Event,
    GridCell,
    Inspection,
    SourceRecord,
    StreamState,
)
from hub.resolve.eventrows import PARTY_STREAMS, Key
from hub.resolve.placement import building_id
from hub.resolve.upsert import chunks, fingerprint, sources_of

#: above this share of the county's events changed, the full pass is the cheaper one
FULL_SHARE = 0.25
STEP = "events"


@dataclass
class EventScope:
    """The source keys to re-project; ``daily``: re-assess the open events' deadlines for a new day."""

    cases: set[Key] = field(default_factory=set)
    incidents: set[Key] = field(default_factory=set)
    hazards: set[Key] = field(default_factory=set)
    inspections: set[Key] = field(default_factory=set)
    daily: bool = False

    def size(self) -> int:
        return len(self.cases) + len(self.incidents) + len(self.hazards) + len(self.inspections)


@dataclass
class Marks:
    """Where the next pass starts from (kept in stream_state ``resolve``/``events``)."""

    since: str
    day: str
    grids: list[Any]
    links: list[int]
    feed: int
    #: event id -> the building key its grid was looked up by (those without a usable code or point)
    addressed: dict[str, str] = field(default_factory=dict)

    def as_state(self) -> dict[str, Any]:
        return {"since": self.since, "day": self.day, "grids": self.grids, "links": self.links, "feed": self.feed,
                "addressed": self.addressed}


def _link_filter(ctx: HubContext) -> Any:
    """The crosswalk rows events read: party mentions of disputes, fire units' organisations."""
    parts = [and_(EntityLink.source.in_(sources_of(ctx, "dispute-mediation")), EntityLink.stream.in_(PARTY_STREAMS),
                  EntityLink.entity_type.in_(["person", "organization"]))]
    parts.append(and_(EntityLink.source.in_(sources_of(ctx, "fire-safety")), EntityLink.stream == "units",
                      EntityLink.entity_type == "organization"))
    return or_(*parts)


def marks(ctx: HubContext, session: Any, today: dt.date) -> Marks:
    """Taken before a pass reads anything: changes committed meanwhile are seen by the next pass."""
    connection = session.connection()
    count, newest = connection.execute(select(func.count(), func.max(EntityLink.id)).where(_link_filter(ctx))).one()
    seq = connection.execute(select(func.max(ChangeFeed.seq))).scalar() or 0
    return Marks(since=utcnow().isoformat(), day=today.isoformat(),
                 grids=fingerprint(session, [GridCell])[1:], links=[int(count), int(newest or 0)], feed=int(seq))


def remember_marks(session: Any, current: Marks) -> None:
    state = session.get(StreamState, ("resolve", STEP))
    if state is None:
        session.add(StreamState(source="resolve", stream=STEP, state=current.as_state()))
    else:
        state.state = current.as_state()


def _changed_records(connection: Any, sources: list[str], stream: str, since: dt.datetime) -> set[Key]:
    """(source, key) of the records of one stream written (loaded, tombstoned, edited) since: the
    ``(source, stream, …)`` index narrows the scan to the stream's rows."""
    out: set[Key] = set()
    for source in sources:
        out.update(connection.execute(select(SourceRecord.source, SourceRecord.source_key).where(
            SourceRecord.source == source, SourceRecord.stream == stream,
            SourceRecord.updated_at >= since)).tuples())
    return out


def find_scope(ctx: HubContext, session: Any, today: dt.date, current: Marks) -> tuple[EventScope | None, str]:
    """The events to re-project, or None and the reason the full pass is needed."""
    seen = session.get(StreamState, ("resolve", STEP))
    state = (seen.state or {}) if seen is not None else {}
    if not state.get("since") or not state.get("day") or not isinstance(state.get("addressed"), dict):
        return None, "first pass"
    current.addressed = dict(state["addressed"])  # carried over; the projector updates what it re-projects
    if dt.date.fromisoformat(state["day"]) > today:
        return None, "an earlier day than the last pass"
    if state.get("grids") != current.grids:
        return None, "the grid registry changed"
    connection = session.connection()
    since = dt.datetime.fromisoformat(state["since"])
    old_count, old_max = state.get("links") or [0, 0]
    created = connection.execute(select(func.count()).where(_link_filter(ctx), EntityLink.id > old_max)).scalar()
    if current.links[0] != old_count + created:
        return None, "crosswalk rows the events read were removed"
    feed = list(connection.execute(select(ChangeFeed.entity_type, ChangeFeed.entity_id, ChangeFeed.change).where(
        ChangeFeed.seq > int(state.get("feed") or 0), ChangeFeed.entity_type.in_(["building", "organization"]))))

    scope = EventScope(daily=state["day"] != current.day)
    disputes, ps, fire = (sources_of(ctx, c) for c in ("dispute-mediation", "public-security", "fire-safety"))
    scope.cases = _changed_records(connection, disputes, "cases", since)
    scope.cases |= {(s, k.split("#")[0]) for s, k in _changed_records(connection, disputes, "case-parties", since)}
    scope.incidents = _changed_records(connection, ps, "incidents", since)
    scope.hazards = _changed_records(connection, fire, "hazards", since)
    scope.inspections = _changed_records(connection, fire, "inspections", since)
    moved = connection.execute(select(EntityLink.source, EntityLink.stream, EntityLink.source_key).where(
        _link_filter(ctx), EntityLink.updated_at >= since)).tuples().all()
    scope.cases |= {(s, k.split("#")[0]) for s, st, k in moved if st in PARTY_STREAMS}
    units = {(s, k) for s, st, k in moved if st == "units"}
    if units:  # the inspections of those units, then (below) their hazards
        by_unit = {k for _, k in units}
        for iid, unit in connection.execute(select(Inspection.id, Inspection.unit_no)):
            if unit in by_unit:
                scope.inspections.update((s, iid) for s in fire)
    _hazards_of(connection, scope, fire, [i for _, i in scope.inspections],
                {eid for etype, eid, _ in feed if etype == "organization"})
    _addressed(connection, scope, {eid for etype, eid, _ in feed if etype == "building"}, current.addressed)
    total = connection.execute(select(func.count()).select_from(Event)).scalar() or 0
    if scope.size() > FULL_SHARE * max(total, 1) and scope.size() > 1000:
        return None, f"{scope.size()} of {total} events changed"
    return scope, "incremental"


def _hazards_of(connection: Any, scope: EventScope, fire: list[str], inspections: list[str],
                organisations: set[str]) -> None:
    """Hazards whose inspection or organisation changed (their grid and location are the unit's)."""
    for batch in chunks(sorted(set(inspections))):
        scope.hazards.update(connection.execute(select(Event.source, Event.source_key).where(
            Event.kind == "hazard", Event.inspection_id.in_(batch))).tuples())
    for batch in chunks(sorted(organisations)):
        scope.hazards.update(connection.execute(select(Event.source, Event.source_key).where(
            Event.kind == "hazard", Event.organization_id.in_(batch))).tuples())
    scope.hazards = {(s, k) for s, k in scope.hazards if s in fire}


def _addressed(connection: Any, scope: EventScope, buildings: set[str], addressed: dict[str, str]) -> None:
    """Disputes and incidents whose grid was looked up by the address of a building created, re-placed
    or removed since (``addressed``: kept from the passes that projected them, so no address is parsed).

    A building's id is the digest of its address key (:func:`hub.resolve.placement.building_id`), so a
    removed building, whose row is gone, is matched too: a day's places pass removes a few buildings no
    record names any more, and taking the full pass for that re-projected every event of the county."""
    if not buildings:
        return
    keys: set[str] = set()
    found: set[str] = set()
    for batch in chunks(sorted(buildings)):
        for bid, key in connection.execute(select(Building.id, Building.address_key).where(Building.id.in_(batch))):
            found.add(bid)
            keys.add(key)
    removed = buildings - found
    wanted = sorted(eid for eid, key in addressed.items() if key in keys or (removed and building_id(key) in removed))
    for batch in chunks(wanted):
        for kind, source, key in connection.execute(select(Event.kind, Event.source, Event.source_key).where(
                Event.id.in_(batch))):
            (scope.cases if kind == "dispute" else scope.incidents).add((source, key))
