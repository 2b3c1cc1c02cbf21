"""Houses into grids (户进房、房进网格): buildings by village and house, then a grid for every entity.

Runs after entity linking and reads what it wrote (Person, Household, Organization, EntityLink)
plus the source records. A building is a house within its village (:mod:`hub.resolve.placement`):
house numbers repeat in every village, so two villages' ``12号`` are two buildings, and an address
that names no village joins the one village that has such a house, or stays a building of its own.
The grid of a building, household, person or organisation is decided by the first rule that
answers, in this order, and the rule is kept (``grid_method``):

1. ``code``: an explicit grid code written by a department (a household's 村居代码 + 组号, a unit's
   所属网格, a floating person's gridCode), majority when several records disagree;
2. ``point``: the coordinates fall in a level-3 polygon (shapely STRtree); ``point_swapped`` when
   they only do once longitude and latitude are swapped (a clerk's classic);
3. ``address``: the group the address names within the building's village; ``village_name`` when
   only the village is known (level 2);
4. nothing: left unassigned and reported (:func:`unassigned`).

A person is registered where their household is (人进户) and lives where the newest trustworthy
sighting says (:mod:`hub.resolve.residence`): ``Person.grid_code`` is where they live,
``registered_grid_code`` where they are registered. An organisation sits in its building unless its
own records say better.

The first pass places the county; later ones follow the change (:mod:`hub.resolve.placescope`,
:mod:`hub.resolve.placefollow`): the houses the records loaded since name (now or before, as the
address book :mod:`hub.resolve.addressbook` remembers) are re-decided, and only what they and the
entity step's changes reach is placed again. Its result equals the full pass (``full=True``), which a
new grid registry or a large share of the county changed still runs.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, select, update

from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.models import (
    Building,
    EntityLink,
    GridCell,
    Household,
    Organization,
    Person,
    SourceRecord,
    StreamState,
)
from hub.db.session import transaction
from hub.resolve.addressbook import AddressBook, Ref
from hub.resolve.evidence import Collector
from hub.resolve.gridindex import GridIndex
from hub.resolve.placefollow import Follower
from hub.resolve.placement import (
    UNKNOWN_VILLAGE,
    UNPLACED,
    Evidence,
    Placement,
    address_key,
    building_id,
    display_address,
    household_code,
    locus,
    nearest_registered,
    place_building,
)
from hub.resolve.placeread import fetch_in
from hub.resolve.placescope import PlaceScope, changes, marks, previous
from hub.resolve.residents import Residents
from hub.resolve.sites import Sites
from hub.resolve.upsert import ChangeWriter, chunks, fingerprint


class Placer(Collector, Residents, Sites, Follower):
    """One pass: collect evidence, decide placements, write only what changed.

    With a :class:`PlaceScope` (an incremental pass) only the houses it touched are re-collected and
    re-decided, and only the entities a change reaches are placed again; every other building and
    household is read as the last pass left it (which is what a full pass would decide again)."""

    def __init__(self, ctx: HubContext, session: Any, index: GridIndex, scope: PlaceScope | None = None) -> None:
        self.ctx, self.session, self.index, self.scope = ctx, session, index, scope
        self.evidence: dict[str, Evidence] = {}
        self.unknown: dict[str, tuple[str, ...]] = {}  # "?|house" key -> the villages its name could be
        self.alias: dict[str, str] = {}
        self.writer = ChangeWriter(session)
        self.methods: Counter[str] = Counter()
        self.households: dict[str, dict[str, Any]] = {}
        self.units: dict[tuple[str, str], dict[str, Any]] = {}
        self.ps: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.keys: dict[tuple[str, ...], str | None] = {}  # (kind, source, ..., key) -> its building key
        self.places: dict[str, Placement] = {}
        self.book = AddressBook(session)
        self.rows: dict[Ref, str] = {}  # the full pass: every address-book row it met
        self.houses: set[str] | None = None  # an incremental pass: the houses re-collected and re-decided
        self.seen: set[tuple[str, str, str]] = set()
        self.stored: dict[str, tuple[str | None, Placement]] = {}
        self.book_rows: dict[Ref, str | None] = {}  # an incremental pass: households' address rows to rewrite
        self.joins: dict[str, str | None] = {}  # house of no known village -> the village it joined
        self.moved_households: set[str] = set()
        self.known: dict[str, set[str]] = {}  # an incremental pass: house -> the villages the book says have it
        self.pending: set[str] = set()  # an incremental pass: a joined village's copy still to collect
        self.joined_before: dict[str, str | None] = {}  # an incremental pass: house -> the village it joined last

    def _count(self, entity: str, method: str | None) -> None:
        self.methods[f"{entity}_by_{method or 'unassigned'}"] += 1

    def buildings(self) -> set[str]:
        """Decide the buildings (an incremental pass: of its houses); returns the houses whose building
        came, went or moved (a house of no village: also when its join, or the house it joined, moved)."""
        only = None if self.houses is None else [building_id(k) for k in self.houses]
        existing = fetch_in(self.session, [Building.id, Building.address, Building.address_key, Building.village_code,
                                           Building.grid_code, Building.grid_method, Building.lon, Building.lat],
                            Building.id, only)
        desired = {}
        for key, ev in self.evidence.items():
            if not ev.defining:
                continue
            place = self.places[key] = place_building(self.index, ev)
            self._count("building", place.method)
            desired[building_id(key)] = {"address": display_address(self.index, ev.village, ev.house)[:200],
                                         "address_key": key, "village_code": ev.village,
                                         "grid_code": place.grid_code, "grid_method": place.method,
                                         "lon": place.lon, "lat": place.lat}
        self.writer.sync(Building, "building", existing, desired)
        gone = sorted(set(existing) - set(desired))
        if gone:  # addresses no record names any more (or keyed the old way): nothing may point at them
            for model in (Household, Person, Organization):
                for batch in chunks(gone, 500):
                    self.session.execute(update(model).where(model.building_id.in_(batch)).values(building_id=None))
            for batch in chunks(gone, 500):
                self.session.execute(delete(Building).where(Building.id.in_(batch)))
            for bid in gone:
                self.writer.feed("building", bid, "deleted")
            self.writer.counts["building_removed"] += len(gone)
        view = ("grid_code", "grid_method", "lon", "lat")
        moved = {key for key in self.houses or ()
                 if [existing.get(building_id(key), {}).get(c) for c in view]
                 != [desired.get(building_id(key), {}).get(c) for c in view]
                 or (building_id(key) in existing) != (building_id(key) in desired)}
        for key in self.houses or ():  # a house of no village moves with its join, or with the house it joined
            if key.startswith(UNKNOWN_VILLAGE + "|"):
                house = key.split("|", 1)[1]
                now = self.joins.get(house)
                if now != self.joined_before.get(house) or (now is not None and f"{now}|{house}" in moved):
                    moved.add(key)
        return moved

    def _building(self, key: str | None) -> tuple[str | None, Placement]:
        key = self._key(key)
        if key is None:
            return None, UNPLACED
        if key in self.places:
            return building_id(key), self.places[key]
        if self.houses is None or key in self.houses:
            return None, UNPLACED
        if key not in self.stored:  # a house this pass left alone: as the last pass placed it
            row = self.session.connection().execute(select(Building.grid_code, Building.grid_method, Building.lon,
                                                           Building.lat).where(Building.id == building_id(key))).first()
            self.stored[key] = (building_id(key), Placement(*row)) if row else (None, UNPLACED)
        return self.stored[key]

    def _stored_buildings(self, keys: Iterable[str | None]) -> None:
        """Read the stored placements of the houses among ``keys`` this pass left alone, 500 to a query:
        :meth:`_building` asked one query a house (a day at 200k: 3,738 of them, a quarter of the pass)."""
        if self.houses is None:
            return
        wanted: dict[str, str] = {}
        for key in keys:
            key = self._key(key)
            if key is not None and key not in self.places and key not in self.houses and key not in self.stored:
                wanted[building_id(key)] = key
        self.stored.update({key: (None, UNPLACED) for key in wanted.values()})
        for batch in chunks(sorted(wanted), 500):
            for bid, *row in self.session.connection().execute(select(
                    Building.id, Building.grid_code, Building.grid_method, Building.lon, Building.lat)
                    .where(Building.id.in_(batch))):
                self.stored[wanted[bid]] = (bid, Placement(*row))

    def _address(self, address: Any) -> tuple[str | None, Placement]:
        """The building a free-text address names, and the village when it names no house."""
        found = locus(self.index, address)
        if found is None:
            return None, UNPLACED
        if found.key is None:
            return None, Placement(found.village, "village_name") if found.village else UNPLACED
        return self._building(found.key)

    def households_(self, only: set[str] | None = None) -> dict[str, tuple[str | None, str | None]]:
        existing = fetch_in(self.session, [Household.id, Household.household_no, Household.address,
                                           Household.building_id, Household.grid_code], Household.id, only)
        desired, out = {}, {}
        index = self.index
        for hid, row in existing.items():
            number = row["household_no"] or ""
            data = self.households.get(number)
            if data is None:
                data = {}
                bid, bplace = self._address(row["address"])
                if (found := address_key(index, row["address"])) is not None:
                    self.rows[("household", "", hid)] = found
                self.book_rows[("household", "", hid)] = found
                key = None
            else:
                key = self._key(self.keys.get(("hh", number)))
                bid, bplace = self._building(key)
                self.book_rows[("household", "", hid)] = None
            village = index.village_of(str(data.get("village_code") or ""))
            code, method = household_code(index, data), "code"
            if code is None and bplace.grid_code and (village is None or index.village_of(bplace.grid_code) == village):
                code, method = bplace.grid_code, "building"
                ev = self.evidence.get(key or "")
                if ev is not None and len(ev.codes) > 1 and number.isdigit():
                    code, method = nearest_registered(ev, int(number), data.get("village_code")) or code, "neighbour"
            if code is None and village is not None:
                code, method = village, "village_code"
            if code is None and bid is None:  # nothing said where (e.g. a cancelled household's tombstone)
                self._count("household", "kept" if row["grid_code"] else None)
                out[hid] = (row["building_id"], row["grid_code"])
                continue
            self._count("household", method if code else None)
            desired[hid] = {"building_id": bid, "grid_code": code}
            out[hid] = (bid, code)
        self.writer.sync(Household, "household", existing, desired, create=False)
        self.moved_households = {hid for hid, place in out.items()
                                 if place != (existing[hid]["building_id"], existing[hid]["grid_code"])}
        return out

    def run_scoped(self) -> dict[str, int]:
        counts = self.follow()
        self.writer.flush_feed()
        return dict(sorted((self.writer.counts + self.methods + Counter(counts)).items()))

    def run(self) -> dict[str, int]:
        self.collect()
        self.buildings()
        households = self.households_()
        self.persons(households)
        self.organisations()
        self.building_links()
        self.book.replace(self.rows, self.joins)
        self.book.set_joined(self.joins)
        self.writer.flush_feed()
        return dict(sorted((self.writer.counts + self.methods).items()))


#: the columns a full pass sets on most rows of the tables the entity step fills (``resolve`` defers
#: their indexes from the entity step's insert to this step's update: hub.db.bulk.indexes_deferred)
PLACED_COLUMNS = {"person": ("grid_code", "building_id", "registered_grid_code"),
                  "household": ("grid_code", "building_id"), "organization": ("grid_code", "building_id")}

INPUTS = [SourceRecord, (EntityLink, EntityLink.entity_type != "event"), GridCell, Building, Household, Person,
          Organization]


@contextmanager
def gc_paused() -> Iterator[None]:
    """The pass builds millions of short-lived rows and dicts but no garbage cycles worth collecting:
    the cyclic collector re-scanning them was a quarter of the full pass's CPU (20k county, 1.2 s -> 0.85 s)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def place_entities(ctx: HubContext, *, full: bool = False) -> dict[str, int]:
    """Buildings, then households, persons and organisations into grids; idempotent.

    Skipped (``{"unchanged": 1}``) when no input table changed since the last run, unless ``full``.
    After a first pass, only what the changes since the last one reach is placed again
    (:mod:`hub.resolve.placescope`); ``full`` (or a new grid registry, or a large share changed)
    places the whole county, and is the reference the incremental pass must equal.
    """
    ctx.ensure_store()
    with transaction(ctx.db_url) as session, gc_paused():
        started = utcnow()
        grids: list[GridIndex] = []

        def index() -> GridIndex:  # built only when something is to be placed (thousands of polygons)
            if not grids:
                grids.append(GridIndex.load(session))
            return grids[0]

        state = previous(session)
        scope = None if full else changes(ctx, session, index, AddressBook(session), state)
        if not full and (scope is not None and scope.empty() or scope is None and state.get("fingerprint")):
            # nothing came through a load or the entity step: a table changed another way (a steward's
            # edit, a test) is still seen by the inputs' fingerprint, and placed by a full pass
            current = fingerprint(session, INPUTS)
            if state.get("fingerprint") in (None, current):  # None: unknown since an incremental pass
                _remember(session, {**state, "fingerprint": current})
                return {"unchanged": 1}
            scope = None
        if index().empty:
            return {"skipped_no_grids": 1}
        placer = Placer(ctx, session, index(), scope)
        counts = placer.run() if scope is None else placer.run_scoped()
        session.flush()
        # after an incremental pass the fingerprint is left unknown (None): taking it scans every
        # input table, the county-wide cost this pass exists to avoid; the next quiet pass takes it
        _remember(session, {"fingerprint": fingerprint(session, INPUTS) if scope is None else None,
                            **marks(session, started)})
        return counts


def _remember(session: Any, value: dict[str, Any]) -> None:
    state = session.get(StreamState, ("resolve", "places"))
    if state is None:
        session.add(StreamState(source="resolve", stream="places", state=value))
    else:
        state.state = value


def unassigned(ctx: HubContext, limit: int = 1000) -> dict[str, list[str]]:
    """The entities no rule could place, for the steward's report (ids only: no personal data)."""
    out: dict[str, list[str]] = {}
    with transaction(ctx.db_url) as session:
        for name, model in (("building", Building), ("household", Household), ("person", Person),
                            ("organization", Organization)):
            ids = session.scalars(select(model.id).where(model.grid_code.is_(None)).order_by(model.id).limit(limit))
            out[name] = list(ids)
    return out
