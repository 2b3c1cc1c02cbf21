"""The people pass of placement: where each person is registered and where they live (人户分离).

A mixin of :class:`hub.resolve.places.Placer`, which has placed buildings and households by the
time it runs: a person is registered where their household is, and lives where the newest
sighting says (:mod:`hub.resolve.residence`); people with neither are placed by whatever else their
records say (a grid code, an address, the village a civil-affairs roster names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Text, select, type_coerce

from hub.context import HubContext
from hub.db.models import EntityLink, Household, Person, SourceRecord
from hub.resolve.gridindex import GridIndex
from hub.resolve.placement import Placement, explicit_code, finer
from hub.resolve.placeread import fetch_in, links_of
from hub.resolve.residence import CURRENT_ADDRESS, FLOATING, REGISTERED, Sighting, residence_of, stamp
from hub.resolve.store import decode_json
from hub.resolve.upsert import ChangeWriter, chunks, sources_of


def _by_stream(refs: set[tuple[str, str, str]]) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for source, stream, key in sorted(refs):
        out.setdefault((source, stream), []).append(key)
    return out


class Residents:
    """Needs from the placer: its store, index and writer, the public-security records and record keys
    it collected, and the building an address or key names."""

    ctx: HubContext
    session: Any
    index: GridIndex
    writer: ChangeWriter
    ps: dict[tuple[str, str, str], dict[str, Any]]
    keys: dict[tuple[str, ...], str | None]
    _building: Callable[[str | None], tuple[str | None, Placement]]
    _stored_buildings: Callable[[Any], None]
    _address: Callable[[Any], tuple[str | None, Placement]]
    _count: Callable[[str, str | None], None]

    def _current_addresses(self, only: set[str] | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
        """person id -> (现住址, its provenance) where the golden address comes from the population registry."""
        population = set(sources_of(self.ctx, "population"))
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        stmt = select(Person.id, Person.address, Person.provenance).where(Person.address.is_not(None))
        rows = self.session.connection().execute(stmt) if only is None else [
            r for batch in chunks(sorted(only), 500) for r in self.session.connection().execute(
                stmt.where(Person.id.in_(batch)))]
        for pid, address, prov in rows:
            entry = (prov or {}).get("address")
            if isinstance(entry, dict) and entry.get("source") in population and entry.get("stream") == "persons":
                out[pid] = (address, entry)
        return out

    def _sightings(self, pid: str, recs: list[tuple[str, str, str, dict[str, Any]]],
                   current: tuple[str, dict[str, Any]] | None) -> list[Sighting]:
        out = []
        for source, stream, key, data in recs:
            if stream != "floating-persons" or str(data.get("status") or "active") != "active":
                continue
            bid, place = self._building(self.keys.get(("ps", source, stream, key)))
            grid = finer(self.index, explicit_code(self.index, data.get("grid_code")), place.grid_code)
            if grid:
                out.append(Sighting(stamp(data.get("updated_at")), grid, bid, FLOATING, source, stream, key))
        if current is not None:
            address, entry = current
            bid, place = self._address(address)
            if place.grid_code:
                out.append(Sighting(stamp(entry.get("at")), place.grid_code, bid, CURRENT_ADDRESS,
                                    str(entry.get("source")), "persons", str(entry.get("source_key"))))
        return out

    def persons(self, households: dict[str, tuple[str | None, str | None]], only: set[str] | None = None) -> None:
        """Place every person (``only``: these; the households not in ``households`` as they are stored)."""
        s, ctx, index = self.session, self.ctx, self.index
        existing = fetch_in(s, [Person.id, Person.household_id, Person.address, Person.building_id, Person.grid_code,
                                Person.registered_grid_code, Person.residence_basis], Person.id, only)
        ps_of: dict[str, list[tuple[str, str, str, dict[str, Any]]]] = {}
        for source, stream, key, pid in links_of(s, "person", sources_of(ctx, "public-security"),
                                                 ["floating-persons", "special-persons"], only):
            if (data := self.ps.get((source, stream, key))) is not None:
                ps_of.setdefault(pid, []).append((source, stream, key, data))
        self._stored_buildings(self.keys.get(("ps", source, stream, key))
                               for recs in ps_of.values() for source, stream, key, _ in recs)
        village_of = self._civil_villages(only)
        household_of = self._fallback_households({p for p, r in existing.items() if not r["household_id"]}, only)
        current = self._current_addresses(only)
        if only is not None:  # the households this pass did not place: as stored
            wanted = {r["household_id"] for r in existing.values() if r["household_id"]} | set(household_of.values())
            households = {**fetch_in(s, [Household.id, Household.building_id, Household.grid_code], Household.id,
                                     wanted - set(households)), **households}
            households = {h: ((v["building_id"], v["grid_code"]) if isinstance(v, dict) else v)
                          for h, v in households.items()}
        desired = {}
        for pid, row in existing.items():
            hh = row["household_id"] or household_of.get(pid)
            home = households.get(hh, (None, None)) if hh else (None, None)
            recs = ps_of.get(pid)
            here = current.get(pid)
            if recs is None and here is None:  # most people: no sighting, they live where they are registered
                recs, sightings = [], []
            else:
                recs = sorted(recs or [], key=lambda r: r[1])  # floating-persons before special-persons
                sightings = self._sightings(pid, recs, here)
            lives = residence_of((home[1], home[0]), sightings)
            if lives is not None and lives.grid_code is not None:
                method = "household" if lives.basis == {"rule": REGISTERED} else lives.basis["rule"]
                bid, code, basis = lives.building_id, lives.grid_code, lives.basis
            else:  # no household and no sighting: whatever else the records say
                bid, code, method, basis = home[0], None, None, None
                if (found := explicit_code(index, *(d.get("grid_code") for _, _, _, d in recs))):
                    code, method = found, "code"
                for address in [d.get("address") for _, _, _, d in recs] + [row["address"]]:
                    abid, place = self._address(address)
                    bid = bid or abid
                    if code is None and place.grid_code:
                        code, method = place.grid_code, "building" if abid else "village_name"
                if code is None and (village := village_of.get(pid)):
                    code, method = village, "village_name"
                if code is not None:
                    basis = {"rule": method}
            # nothing places them (e.g. every record that did is gone): unplaced, whatever an earlier pass said,
            # so a store resolved day by day ends as one resolved once (tests/perf/test_output_identity.py)
            self._count("person", method if code is not None else None)
            desired[pid] = {"building_id": bid, "grid_code": code, "registered_grid_code": home[1],
                            "residence_basis": basis}
        self.writer.sync(Person, "person", existing, desired, create=False)

    def _roster_person_links(self, sources: list[str]) -> list[tuple[str, str, str, str]]:
        """(source, stream, source_key, person id) of the rosters' person links, read through the crosswalk's
        (source, stream, source_key) key: with the entity type in SQL, SQLite (no planner statistics) takes
        the (entity_type, entity_id) index and reads every person link of the county (200k county: 0.43 ->
        0.02 CPU s). Given in that index's order (person, then link id), the order the first village a
        person's rosters name was taken in."""
        rows = [(eid, link_id, source, stream, key) for link_id, source, stream, key, etype, eid
                in self.session.connection().execute(select(
                    EntityLink.id, EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_type,
                    EntityLink.entity_id).where(EntityLink.source.in_(sources))) if etype == "person"]
        rows.sort()
        return [(source, stream, key, eid) for eid, _, source, stream, key in rows]

    def _civil_villages(self, only: set[str] | None = None) -> dict[str, str]:
        """person id -> the village a civil-affairs roster names for them (level 2)."""
        sources = sources_of(self.ctx, "civil-affairs")
        if not sources:
            return {}
        villages: dict[tuple[str, str, str], str] = {}
        stmt = select(SourceRecord.source, SourceRecord.stream, SourceRecord.source_key,
                      type_coerce(SourceRecord.data, Text)).where(SourceRecord.source.in_(sources),
                                                                  SourceRecord.deleted.is_(False))
        if only is None:
            rows: Any = self.session.connection().execute(stmt)
        else:  # the rosters' records linked to these persons
            mine = {(a, b, c) for a, b, c, _ in links_of(self.session, "person", sources, None, only)}
            rows = [r for (a, b), keys in _by_stream(mine).items() for batch in chunks(keys, 500)
                    for r in self.session.connection().execute(stmt.where(
                        SourceRecord.source == a, SourceRecord.stream == b, SourceRecord.source_key.in_(batch)))]
        for source, stream, key, text in rows:
            data = decode_json(text)
            code = self.index.village_named((data or {}).get("village"), (data or {}).get("township"))
            if code:
                villages[(source, stream, key)] = code
        out: dict[str, str] = {}
        links = self._roster_person_links(sources) if only is None else \
            links_of(self.session, "person", sources, None, only)
        for link in links:
            if (code := villages.get(tuple(link[:3]))) is not None:
                out.setdefault(link[3], code)
        return out

    def _fallback_households(self, persons: set[str], only: set[str] | None = None) -> dict[str, str]:
        """For persons the linker left without a household: the household their population record names."""
        if not persons:
            return {}
        sources = sources_of(self.ctx, "population")
        # the links of these persons only (read by entity), not every person's: the full pass has ~8% of them
        wanted = {(src, key): pid for src, _, key, pid in links_of(self.session, "person", sources, ["persons"], persons)}
        if not wanted:
            return {}
        named: list[tuple[str, str, Any]] = []
        for source in sources:
            keys = sorted(k for s, k in wanted if s == source)
            for batch in chunks(keys, 500):
                rows = self.session.connection().execute(
                    select(SourceRecord.source_key, SourceRecord.data).where(
                        SourceRecord.source == source, SourceRecord.stream == "persons",
                        SourceRecord.source_key.in_(batch), SourceRecord.deleted.is_(False)))
                named += [(source, key, data or {}) for key, data in rows]
        numbers = sorted({str(d.get("household_no")) for _, _, d in named if d.get("household_no")})
        by_no = {no: hid for batch in chunks(numbers, 500) for hid, no in self.session.connection().execute(
            select(Household.id, Household.household_no).where(Household.household_no.in_(batch)))}
        out: dict[str, str] = {}
        for source, key, data in named:
            hid = by_no.get(data.get("household_no") or "")
            if hid and data.get("relation_to_head") != "99":
                out.setdefault(wanted[(source, key)], hid)
        return out
