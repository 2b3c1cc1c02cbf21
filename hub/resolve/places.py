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
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import delete, select, update

from hub.context import HubContext
from hub.db.models import Building, EntityLink, GridCell, Household, Organization, Person, SourceRecord
from hub.db.session import transaction
from hub.resolve.gridindex import GridIndex
from hub.resolve.placement import (
    UNPLACED,
    Evidence,
    Placement,
    building_id,
    display_address,
    explicit_code,
    finer,
    household_code,
    locus,
    nearest_registered,
    place_building,
)
from hub.resolve.residents import Residents
from hub.resolve.upsert import (
    ChangeWriter,
    chunks,
    fetch,
    fingerprint,
    linked,
    records,
    remember,
    sources_of,
    unchanged_since,
)


class Placer(Residents):
    """One pass over the store: collect evidence, decide every placement, write only what changed."""

    def __init__(self, ctx: HubContext, session: Any, index: GridIndex) -> None:
        self.ctx, self.session, self.index = ctx, session, index
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

    def _ev(self, address: Any, hint: Any = None, defining: bool = True) -> str | None:
        """The building key an address names (created as evidence when ``defining``)."""
        found = locus(self.index, address, hint)
        key = found.key if found else None
        if found is None or key is None:
            return None
        ev = self.evidence.get(key)
        if ev is None:
            if not defining:
                return key
            ev = self.evidence[key] = Evidence(key, found.village, found.house)
            if found.village is None:
                self.unknown[key] = found.candidates
        ev.defining = ev.defining or defining
        return key

    def _point(self, key: str | None, data: dict[str, Any]) -> None:
        if key in self.evidence and data.get("lon") is not None and data.get("lat") is not None:
            self.evidence[key].points.append((data["lon"], data["lat"]))

    def _hint(self, data: dict[str, Any]) -> str | None:
        """The village a record's own code or point says it is in."""
        code = explicit_code(self.index, data.get("grid_code"))
        if code is None and (hit := self.index.locate(data.get("lon"), data.get("lat"))) is not None:
            code = hit.code
        return self.index.village_of(code)

    def collect(self) -> None:
        ctx, s, index = self.ctx, self.session, self.index
        for _, key, data in records(s, sources_of(ctx, "population"), "households"):
            self.households[key] = data
            bkey = self.keys[("hh", key)] = self._ev(data.get("address"), data.get("village_code"))
            if bkey is not None and (code := household_code(index, data)):
                self.evidence[bkey].codes[code] += 1
                if key.isdigit():
                    self.evidence[bkey].numbered.append((int(key), code))
        for source, key, data in records(s, sources_of(ctx, "fire-safety"), "units"):
            self.units[(source, key)] = data
            bkey = self.keys[("unit", source, key)] = self._ev(data.get("address"), self._hint(data))
            if bkey is not None and (code := explicit_code(index, data.get("grid_code"))):
                self.evidence[bkey].codes[code] += 1
            self._point(bkey, data)
        ps = sources_of(ctx, "public-security")
        for stream in ("floating-persons", "special-persons"):
            for source, key, data in records(s, ps, stream):
                self.ps[(source, stream, key)] = data
                if stream == "floating-persons":
                    bkey = self.keys[("ps", source, stream, key)] = self._ev(data.get("address"),
                                                                              data.get("grid_code"))
                    if bkey is not None and (code := explicit_code(index, data.get("grid_code"))):
                        self.evidence[bkey].codes[code] += 1
        for address, in s.execute(select(Person.address).where(Person.address.is_not(None))):
            self._ev(address)
        for address, in s.execute(select(Organization.address).where(Organization.address.is_not(None))):
            self._ev(address)
        for _, _, data in records(s, ps, "incidents"):  # events confirm buildings, they do not make them
            bkey = self._ev(data.get("address"), self._hint(data), defining=False)
            if bkey in self.evidence and (code := explicit_code(index, data.get("grid_code"))):
                self.evidence[bkey].codes[code] += 1
            self._point(bkey, data)
        self._join_unknown()

    def _join_unknown(self) -> None:
        """An address naming no village joins the one village with that house; else it stays apart."""
        villages: dict[str, set[str]] = {}
        for ev in self.evidence.values():
            if ev.village is not None:
                villages.setdefault(ev.house, set()).add(ev.village)
        for key, candidates in self.unknown.items():
            ev = self.evidence[key]
            found = villages.get(ev.house, set())
            if candidates:
                found = found & set(candidates)
            if len(found) != 1:
                continue
            target = self.alias[key] = f"{next(iter(found))}|{ev.house}"
            into = self.evidence[target]
            into.codes.update(ev.codes)
            into.points.extend(ev.points)
            into.numbered.extend(ev.numbered)
            into.defining = into.defining or ev.defining
            del self.evidence[key]

    def _key(self, key: str | None) -> str | None:
        return self.alias.get(key, key) if key is not None else None

    def _count(self, entity: str, method: str | None) -> None:
        self.methods[f"{entity}_by_{method or 'unassigned'}"] += 1

    def buildings(self) -> None:
        existing = fetch(self.session, [Building.id, Building.address, Building.address_key, Building.village_code,
                                        Building.grid_code, Building.grid_method, Building.lon, Building.lat])
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

    def _building(self, key: str | None) -> tuple[str | None, Placement]:
        key = self._key(key)
        if key is None or key not in self.places:
            return None, UNPLACED
        return building_id(key), self.places[key]

    def _address(self, address: Any) -> tuple[str | None, Placement]:
        """The building a free-text address names, and the village when it names no house."""
        found = locus(self.index, address)
        if found is None:
            return None, UNPLACED
        if found.key is None:
            return None, Placement(found.village, "village_name") if found.village else UNPLACED
        return self._building(found.key)

    def households_(self) -> dict[str, tuple[str | None, str | None]]:
        existing = fetch(self.session, [Household.id, Household.household_no, Household.address,
                                        Household.building_id, Household.grid_code])
        desired, out = {}, {}
        index = self.index
        for hid, row in existing.items():
            number = row["household_no"] or ""
            data = self.households.get(number)
            if data is None:
                data = {}
                bid, bplace = self._address(row["address"])
                key = None
            else:
                key = self._key(self.keys.get(("hh", number)))
                bid, bplace = self._building(key)
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
        return out

    def organisations(self) -> None:
        s, index = self.session, self.index
        existing = fetch(s, [Organization.id, Organization.address, Organization.lon, Organization.lat,
                             Organization.building_id, Organization.grid_code])
        units_of: dict[str, list[dict[str, Any]]] = {}
        unit_keys: dict[str, list[str | None]] = {}
        for source, _, key, oid in linked(s, "organization", sources_of(self.ctx, "fire-safety"), ["units"]):
            if (data := self.units.get((source, key))) is not None:
                units_of.setdefault(oid, []).append(data)
                unit_keys.setdefault(oid, []).append(self.keys.get(("unit", source, key)))
        desired = {}
        for oid, row in existing.items():
            units = units_of.get(oid, [])
            code, method = explicit_code(index, *(u.get("grid_code") for u in units)), "code"
            if code is None or index.level(code) != 3:  # none, or only the village: a point may say the group
                for lon, lat in [(u.get("lon"), u.get("lat")) for u in units] + [(row["lon"], row["lat"])]:
                    if (hit := index.locate(lon, lat)) is not None and finer(index, code, hit.code) == hit.code:
                        code, method = hit.code, hit.method
                        break
            bid: str | None = None
            found = [self._building(k) for k in unit_keys.get(oid, [])] + [self._address(row["address"])]
            for abid, place in found:
                bid = bid or abid
                if place.grid_code and place.grid_code != code and finer(index, code, place.grid_code) == place.grid_code:
                    code, method = place.grid_code, "building"
            if code is None and bid is None:
                self._count("organization", "kept" if row["grid_code"] else None)
                continue
            self._count("organization", method if code else None)
            desired[oid] = {"building_id": bid, "grid_code": code}
        self.writer.sync(Organization, "organization", existing, desired, create=False)

    def building_links(self) -> None:
        desired: dict[tuple[str, str, str], str] = {}
        population = sources_of(self.ctx, "population")
        scope = [(src, "households") for src in population]
        scope += [(src, "units") for src in sources_of(self.ctx, "fire-safety")]
        for src in population:
            for hh in self.households:
                if (bid := self._building(self.keys.get(("hh", hh)))[0]) is not None:
                    desired[(src, "households", hh)] = bid
        for src, key in self.units:
            if (bid := self._building(self.keys.get(("unit", src, key)))[0]) is not None:
                desired[(src, "units", key)] = bid
        self.writer.links("building", desired, "address", scope)

    def run(self) -> dict[str, int]:
        self.collect()
        self.buildings()
        households = self.households_()
        self.persons(households)
        self.organisations()
        self.building_links()
        self.writer.flush_feed()
        return dict(sorted((self.writer.counts + self.methods).items()))


INPUTS = [SourceRecord, (EntityLink, EntityLink.entity_type != "event"), GridCell, Building, Household, Person,
          Organization]


def place_entities(ctx: HubContext, *, full: bool = False) -> dict[str, int]:
    """Buildings, then households, persons and organisations into grids; idempotent.

    Skipped (``{"unchanged": 1}``) when no input table changed since the last run, unless ``full``.
    """
    ctx.ensure_store()
    with transaction(ctx.db_url) as session:
        if not full and unchanged_since(session, "places", fingerprint(session, INPUTS)):
            return {"unchanged": 1}
        index = GridIndex.load(session)
        if index.empty:
            return {"skipped_no_grids": 1}
        counts = Placer(ctx, session, index).run()
        session.flush()
        remember(session, "places", fingerprint(session, INPUTS))
        return counts


def unassigned(ctx: HubContext, limit: int = 1000) -> dict[str, list[str]]:
    """The entities no rule could place, for the steward's report (ids only: no personal data)."""
    out: dict[str, list[str]] = {}
    with transaction(ctx.db_url) as session:
        for name, model in (("building", Building), ("household", Household), ("person", Person),
                            ("organization", Organization)):
            ids = session.scalars(select(model.id).where(model.grid_code.is_(None)).order_by(model.id).limit(limit))
            out[name] = list(ids)
    return out
