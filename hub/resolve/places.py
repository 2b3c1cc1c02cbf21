"""Houses into grids (户进房、房进网格): buildings by normalised address, then a grid for every entity.

Runs after entity linking and reads what it wrote (Person, Household, Organization, EntityLink)
plus the source records. The grid of a building, household, person or organisation is decided
by the first rule that answers, in this order, and the rule is kept (``grid_method``):

1. ``code``: an explicit grid code written by a department (a household's 村居代码 + 组号, a unit's
   所属网格, a floating person's gridCode), majority when several records disagree;
2. ``point``: the coordinates fall in a level-3 polygon (shapely STRtree); ``point_swapped`` when
   they only do once longitude and latitude are swapped (a clerk's classic);
3. ``address``: the village/community named in the address (with or without 村/社区), then its
   group when the address says ``N组``; ``village_name`` when only the village is known (level 2);
4. nothing: left unassigned and reported (:func:`unassigned`).

A person inherits the grid of their household (人进户), an organisation that of its building
unless its own records say better.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Text, select, type_coerce

from hub.context import HubContext
from hub.db.models import Building, EntityLink, GridCell, Household, Organization, Person, SourceRecord
from hub.db.session import transaction
from hub.resolve.address import building_key
from hub.resolve.gridindex import GridIndex
from hub.resolve.placement import (
    UNPLACED,
    Evidence,
    Placement,
    building_id,
    explicit_code,
    household_code,
    nearest_registered,
    place_building,
)
from hub.resolve.store import decode_json
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


class Placer:
    """One pass over the store: collect evidence, decide every placement, write only what changed."""

    def __init__(self, ctx: HubContext, session: Any, index: GridIndex) -> None:
        self.ctx, self.session, self.index = ctx, session, index
        self.evidence: dict[str, Evidence] = {}
        self.writer = ChangeWriter(session)
        self.methods: Counter[str] = Counter()
        self.households: dict[str, dict[str, Any]] = {}
        self.units: dict[tuple[str, str], dict[str, Any]] = {}
        self.ps: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.places: dict[str, Placement] = {}

    def _ev(self, address: Any, defining: bool = True) -> Evidence | None:
        key = building_key(address) if address else None
        if key is None or len(key) > 200:
            return None
        ev = self.evidence.get(key)
        if ev is None:
            if not defining:
                return None
            ev = self.evidence[key] = Evidence(key)
        ev.defining = ev.defining or defining
        return ev

    def _point(self, ev: Evidence | None, data: dict[str, Any]) -> None:
        if ev is not None and data.get("lon") is not None and data.get("lat") is not None:
            ev.points.append((data["lon"], data["lat"]))

    def collect(self) -> None:
        ctx, s, index = self.ctx, self.session, self.index
        for _, key, data in records(s, sources_of(ctx, "population"), "households"):
            self.households[key] = data
            ev = self._ev(data.get("address"))
            if ev is not None:
                if code := household_code(index, data):
                    ev.codes[code] += 1
                    if key.isdigit():
                        ev.numbered.append((int(key), code))
                if index.level(str(data.get("village_code"))) == 2:
                    ev.villages[str(data["village_code"])] += 1
        for source, key, data in records(s, sources_of(ctx, "fire-safety"), "units"):
            self.units[(source, key)] = data
            ev = self._ev(data.get("address"))
            if ev is not None and (code := explicit_code(index, data.get("grid_code"))):
                ev.codes[code] += 1
            self._point(ev, data)
        ps = sources_of(ctx, "public-security")
        for stream in ("floating-persons", "special-persons"):
            for source, key, data in records(s, ps, stream):
                self.ps[(source, stream, key)] = data
                if stream == "floating-persons":
                    ev = self._ev(data.get("address"))
                    if ev is not None and (code := explicit_code(index, data.get("grid_code"))):
                        ev.codes[code] += 1
        for address, in s.execute(select(Person.address).where(Person.address.is_not(None))):
            self._ev(address)
        for address, in s.execute(select(Organization.address).where(Organization.address.is_not(None))):
            self._ev(address)
        for _, _, data in records(s, ps, "incidents"):  # events confirm buildings, they do not make them
            ev = self._ev(data.get("address"), defining=False)
            if ev is not None and (code := explicit_code(index, data.get("grid_code"))):
                ev.codes[code] += 1
            self._point(ev, data)

    def _count(self, entity: str, method: str | None) -> None:
        self.methods[f"{entity}_by_{method or 'unassigned'}"] += 1

    def buildings(self) -> None:
        existing = fetch(self.session, [Building.id, Building.address, Building.address_key, Building.grid_code,
                                        Building.grid_method, Building.lon, Building.lat])
        desired = {}
        for key, ev in self.evidence.items():
            place = self.places[key] = place_building(self.index, ev)
            self._count("building", place.method)
            desired[building_id(key)] = {"address": key, "address_key": key, "grid_code": place.grid_code,
                                         "grid_method": place.method, "lon": place.lon, "lat": place.lat}
        self.writer.sync(Building, "building", existing, desired)

    def _building(self, address: Any) -> tuple[str | None, Placement]:
        key = building_key(address) if address else None
        if key is None or key not in self.places:
            return None, UNPLACED
        return building_id(key), self.places[key]

    def households_(self) -> dict[str, tuple[str | None, str | None]]:
        existing = fetch(self.session, [Household.id, Household.household_no, Household.address,
                                        Household.building_id, Household.grid_code])
        desired, out = {}, {}
        for hid, row in existing.items():
            number = row["household_no"] or ""
            data = self.households.get(number, {})
            bid, bplace = self._building(data.get("address") or row["address"])
            code, method = household_code(self.index, data), "code"
            if code is None and bplace.grid_code:
                code, method = bplace.grid_code, "building"
                ev = self.evidence[building_key(data.get("address") or row["address"])]
                if len(ev.codes) > 1 and number.isdigit():
                    code, method = nearest_registered(ev, int(number), data.get("village_code")) or code, "neighbour"
            if code is None and self.index.level(str(data.get("village_code"))) == 2:
                code, method = str(data["village_code"]), "village_code"
            if code is None and bid is None:  # nothing said where (e.g. a cancelled household's tombstone)
                self._count("household", "kept" if row["grid_code"] else None)
                out[hid] = (row["building_id"], row["grid_code"])
                continue
            self._count("household", method if code else None)
            desired[hid] = {"building_id": bid, "grid_code": code}
            out[hid] = (bid, code)
        self.writer.sync(Household, "household", existing, desired, create=False)
        return out

    def persons(self, households: dict[str, tuple[str | None, str | None]]) -> None:
        s, ctx, index = self.session, self.ctx, self.index
        existing = fetch(s, [Person.id, Person.household_id, Person.address, Person.building_id, Person.grid_code])
        ps_of: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for source, stream, key, pid in linked(s, "person", sources_of(ctx, "public-security"),
                                               ["floating-persons", "special-persons"]):
            if (data := self.ps.get((source, stream, key))) is not None:
                ps_of.setdefault(pid, []).append((stream, data))
        village_of = self._civil_villages()
        household_of = self._fallback_households({p for p, r in existing.items() if not r["household_id"]})
        desired = {}
        for pid, row in existing.items():
            bid, code, method = None, None, None
            hh = row["household_id"] or household_of.get(pid)
            if hh in households:
                bid, code = households[hh]
                method = "household" if code else None
            recs = sorted(ps_of.get(pid, []), key=lambda r: r[0])  # floating-persons before special-persons
            if code is None and (found := explicit_code(index, *(d.get("grid_code") for _, d in recs))):
                code, method = found, "code"
            addresses = [d.get("address") for _, d in recs] + [row["address"]]
            for address in addresses:
                abid, place = self._building(address)
                bid = bid or abid
                if code is None and place.grid_code:
                    code, method = place.grid_code, "building"
            if code is None and (village := village_of.get(pid)):
                code, method = village, "village_name"
            if code is None and bid is None:
                self._count("person", "kept" if row["grid_code"] else None)
                continue
            self._count("person", method)
            desired[pid] = {"building_id": bid, "grid_code": code}
        self.writer.sync(Person, "person", existing, desired, create=False)

    def _civil_villages(self) -> dict[str, str]:
        """person id -> the village a civil-affairs roster names for them (level 2)."""
        sources = sources_of(self.ctx, "civil-affairs")
        if not sources:
            return {}
        villages: dict[tuple[str, str, str], str] = {}
        rows = self.session.connection().execute(
            select(SourceRecord.source, SourceRecord.stream, SourceRecord.source_key,
                   type_coerce(SourceRecord.data, Text))
            .where(SourceRecord.source.in_(sources), SourceRecord.deleted.is_(False)))
        for source, stream, key, text in rows:
            data = decode_json(text)
            code = self.index.village_named((data or {}).get("village"), (data or {}).get("township"))
            if code:
                villages[(source, stream, key)] = code
        out: dict[str, str] = {}
        for link in self.session.connection().execute(select(EntityLink.source, EntityLink.stream, EntityLink.source_key,
                                                EntityLink.entity_id)
                                         .where(EntityLink.entity_type == "person", EntityLink.source.in_(sources))):
            if (code := villages.get(tuple(link[:3]))) is not None:
                out.setdefault(link[3], code)
        return out

    def _fallback_households(self, persons: set[str]) -> dict[str, str]:
        """For persons the linker left without a household: the household their population record names."""
        if not persons:
            return {}
        sources = sources_of(self.ctx, "population")
        wanted = {(src, key): pid for src, _, key, pid in linked(self.session, "person", sources, ["persons"])
                  if pid in persons}
        if not wanted:
            return {}
        by_no = {no: hid for hid, no in self.session.connection().execute(select(Household.id, Household.household_no))}
        out: dict[str, str] = {}
        for source in sources:
            keys = sorted(k for s, k in wanted if s == source)
            for batch in chunks(keys, 500):
                rows = self.session.connection().execute(
                    select(SourceRecord.source_key, SourceRecord.data).where(
                        SourceRecord.source == source, SourceRecord.stream == "persons",
                        SourceRecord.source_key.in_(batch), SourceRecord.deleted.is_(False)))
                for key, data in rows:
                    hid = by_no.get((data or {}).get("household_no") or "")
                    if hid and data.get("relation_to_head") != "99":
                        out.setdefault(wanted[(source, key)], hid)
        return out

    def organisations(self) -> None:
        s, index = self.session, self.index
        existing = fetch(s, [Organization.id, Organization.address, Organization.lon, Organization.lat,
                             Organization.building_id, Organization.grid_code])
        units_of: dict[str, list[dict[str, Any]]] = {}
        for source, _, key, oid in linked(s, "organization", sources_of(self.ctx, "fire-safety"), ["units"]):
            if (data := self.units.get((source, key))) is not None:
                units_of.setdefault(oid, []).append(data)
        desired = {}
        for oid, row in existing.items():
            units = units_of.get(oid, [])
            code, method = explicit_code(index, *(u.get("grid_code") for u in units)), "code"
            if code is None:
                for lon, lat in [(u.get("lon"), u.get("lat")) for u in units] + [(row["lon"], row["lat"])]:
                    if (hit := index.locate(lon, lat)) is not None:
                        code, method = hit.code, hit.method
                        break
            bid: str | None = None
            for address in [u.get("address") for u in units] + [row["address"]]:
                abid, place = self._building(address)
                bid = bid or abid
                if code is None and place.grid_code:
                    code, method = place.grid_code, "building"
            if code is None and bid is None:
                self._count("organization", "kept" if row["grid_code"] else None)
                continue
            self._count("organization", method if code else None)
            desired[oid] = {"building_id": bid, "grid_code": code}
        self.writer.sync(Organization, "organization", existing, desired, create=False)

    def building_links(self) -> None:
        desired: dict[tuple[str, str, str], str] = {}
        scope = [(src, "households") for src in sources_of(self.ctx, "population")]
        scope += [(src, "units") for src in sources_of(self.ctx, "fire-safety")]
        for src, _ in scope[: len(sources_of(self.ctx, "population"))]:
            for hh, data in self.households.items():
                if (bid := self._building(data.get("address"))[0]) is not None:
                    desired[(src, "households", hh)] = bid
        for (src, key), data in self.units.items():
            if (bid := self._building(data.get("address"))[0]) is not None:
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
