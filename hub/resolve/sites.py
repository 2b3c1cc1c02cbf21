"""Organisations into their buildings and grids, and household and unit records linked to buildings.

A mixin of :class:`hub.resolve.places.Placer`, run once buildings are decided. An organisation sits
where its fire-safety units' explicit code says, else the point they (or it) give, refined by the
building its units or its own address name; the crosswalk gets a ``building`` row for every household
and unit record whose address names a building. ``only`` narrows both to what an incremental pass
places again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.db.models import Organization
from hub.resolve.gridindex import GridIndex
from hub.resolve.placement import Placement, explicit_code, finer
from hub.resolve.placeread import fetch_in, links_of, write_links_of
from hub.resolve.upsert import ChangeWriter, sources_of


class Sites:
    """Needs from the placer: its store, index, writer, the records it read and the buildings it decided."""

    ctx: Any
    session: Any
    index: GridIndex
    writer: ChangeWriter
    households: dict[str, dict[str, Any]]
    units: dict[tuple[str, str], dict[str, Any]]
    keys: dict[tuple[str, ...], str | None]
    _building: Callable[[str | None], tuple[str | None, Placement]]
    _address: Callable[[Any], tuple[str | None, Placement]]
    _count: Callable[[str, str | None], None]

    def organisations(self, only: set[str] | None = None) -> None:
        s, index = self.session, self.index
        existing = fetch_in(s, [Organization.id, Organization.address, Organization.lon, Organization.lat,
                                Organization.building_id, Organization.grid_code], Organization.id, only)
        units_of: dict[str, list[dict[str, Any]]] = {}
        unit_keys: dict[str, list[str | None]] = {}
        for source, _, key, oid in links_of(s, "organization", sources_of(self.ctx, "fire-safety"), ["units"], only):
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

    def building_links(self, only: dict[str, set[tuple[str, str]]] | None = None) -> None:
        """The crosswalk of household and unit records to their building (``only``: of these records)."""
        desired: dict[tuple[str, str, str], str] = {}
        population = sources_of(self.ctx, "population")
        scope = [(src, "households") for src in population]
        scope += [(src, "units") for src in sources_of(self.ctx, "fire-safety")]
        for src in population:
            for hh in self.households:
                if only is not None and (src, hh) not in only.get("households", ()):
                    continue
                if (bid := self._building(self.keys.get(("hh", hh)))[0]) is not None:
                    desired[(src, "households", hh)] = bid
        for src, key in self.units:
            if only is not None and (src, key) not in only.get("units", ()):
                continue
            if (bid := self._building(self.keys.get(("unit", src, key)))[0]) is not None:
                desired[(src, "units", key)] = bid
        if only is None:
            self.writer.links("building", desired, "address", scope)
        else:
            write_links_of(self.writer, desired, {(src, stream, key) for stream in ("households", "units")
                                                  for src, key in only.get(stream, ()) if (src, stream) in scope})
