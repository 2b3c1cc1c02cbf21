"""Evidence: everything the records say about where each house is, read once per pass.

A mixin of :class:`hub.resolve.places.Placer`. Households, units, floating-persons records, the
addresses of persons and organisations make a building exist (they are *defining*); incidents only
add their codes and points to one that exists. An address of no known village (``?|12号``) joins the
one village with such a house, or stays a building of its own. In an incremental pass only the houses
in ``houses`` gather evidence: other records read then only give their entity's building key.
"""

from __future__ import annotations

from typing import Any

from hub.db.models import Organization, Person
from hub.resolve.addressbook import AddressBook, Ref
from hub.resolve.gridindex import GridIndex
from hub.resolve.placement import (
    UNKNOWN_VILLAGE,
    Evidence,
    address_key,
    explicit_code,
    household_code,
    locus,
    record_hint,
)
from hub.resolve.placeread import entity_addresses
from hub.resolve.upsert import records, records_by_key, sources_of


class Collector:
    """Needs from the placer: its store, index and address book, and where to put what it reads."""

    ctx: Any
    session: Any
    index: GridIndex
    book: AddressBook
    evidence: dict[str, Evidence]
    unknown: dict[str, tuple[str, ...]]
    alias: dict[str, str]
    households: dict[str, dict[str, Any]]
    units: dict[tuple[str, str], dict[str, Any]]
    ps: dict[tuple[str, str, str], dict[str, Any]]
    keys: dict[tuple[str, ...], str | None]
    rows: dict[Ref, str]
    houses: set[str] | None
    seen: set[tuple[str, str, str]]
    joins: dict[str, str | None]
    known: dict[str, set[str]]
    pending: set[str]

    def _ev(self, address: Any, hint: Any = None, defining: bool = True, ref: Ref | None = None) -> str | None:
        """The building key an address names (created as evidence when ``defining``)."""
        found = locus(self.index, address, hint)
        key = found.key if found else None
        if found is None or key is None:
            return None
        if ref is not None and self.houses is None:
            self.rows[ref] = key
        if self.houses is not None and key not in self.houses:
            return key
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

    def _code(self, key: str | None, code: str | None) -> None:
        if key in self.evidence and code:
            self.evidence[key].codes[code] += 1

    def _read(self, connector: str, stream: str, want: dict[str, set[tuple[str, str]]] | None
              ) -> list[tuple[str, str, dict[str, Any]]]:
        """The live records of a stream (an incremental pass: those in ``want``, once each)."""
        sources = sources_of(self.ctx, connector)
        if want is None:
            return list(records(self.session, sources, stream))
        keys = {(src, key) for src, key in want.get(stream, ()) if (stream, src, key) not in self.seen}
        self.seen.update((stream, src, key) for src, key in keys)
        return records_by_key(self.session, [(s, k) for s, k in keys if s in sources], stream)

    def collect(self, want: dict[str, set[tuple[str, str]]] | None = None, addresses: bool = True) -> None:
        """Evidence from every record naming a house (an incremental pass: the records in ``want``)."""
        index = self.index
        for source, key, data in self._read("population", "households", want):
            self.households[key] = data
            bkey = self.keys[("hh", key)] = self._ev(data.get("address"), data.get("village_code"),
                                                     ref=("households", source, key))
            if bkey in self.evidence and (code := household_code(index, data)):
                self._code(bkey, code)
                if key.isdigit():
                    self.evidence[bkey].numbered.append((int(key), code))
        for source, key, data in self._read("fire-safety", "units", want):
            self.units[(source, key)] = data
            bkey = self.keys[("unit", source, key)] = self._ev(data.get("address"), record_hint(index, data),
                                                               ref=("units", source, key))
            self._code(bkey, explicit_code(index, data.get("grid_code")))
            self._point(bkey, data)
        for stream in ("floating-persons", "special-persons"):
            for source, key, data in self._read("public-security", stream, want):
                self.ps[(source, stream, key)] = data
                if self.houses is None and (found := address_key(index, data.get("address"))):
                    self.rows[(f"ps:{stream}", source, key)] = found
                if stream == "floating-persons":
                    bkey = self.keys[("ps", source, stream, key)] = self._ev(
                        data.get("address"), data.get("grid_code"), ref=(stream, source, key))
                    self._code(bkey, explicit_code(index, data.get("grid_code")))
        if addresses:
            for model, kind in ((Person, "person"), (Organization, "organization")):
                only = None if want is None else sorted(ref for _, ref in want.get(kind, ()))
                for eid, address in entity_addresses(self.session, model, only):
                    self._ev(address, ref=(kind, "", eid))
            for source, key, data in self._read("public-security", "incidents", want):
                # events confirm buildings, they do not make them
                bkey = self._ev(data.get("address"), record_hint(index, data), defining=False,
                                ref=("incidents", source, key))
                if bkey in self.evidence:
                    self._code(bkey, explicit_code(index, data.get("grid_code")))
                self._point(bkey, data)
            self._join_unknown()

    def _join_unknown(self) -> None:
        """An address naming no village joins the one village with that house; else it stays apart.

        An incremental pass collects only some villages' copies of a house, so which villages have it
        is read from the address book (``known``) for the copies it did not collect; a village it joins
        whose copy was not collected is left ``pending``: the follower collects it, then joins again."""
        villages: dict[str, set[str]] = {}
        for ev in self.evidence.values():
            if ev.village is not None:
                villages.setdefault(ev.house, set()).add(ev.village)
        for key, candidates in self.unknown.items():
            ev = self.evidence.get(key)
            if ev is None:  # joined in an earlier round of this pass
                continue
            found = villages.get(ev.house, set())
            if self.houses is not None:
                found = found | {v for v in self.known.get(ev.house, ()) if f"{v}|{ev.house}" not in self.houses}
            if candidates:
                found = found & set(candidates)
            self.joins[ev.house] = None
            if len(found) != 1:
                continue
            target = f"{next(iter(found))}|{ev.house}"
            if target not in self.evidence:
                self.pending.add(target)
                continue
            self.alias[key] = target
            self.joins[ev.house] = next(iter(found))
            into = self.evidence[target]
            into.codes.update(ev.codes)
            into.points.extend(ev.points)
            into.numbered.extend(ev.numbered)
            into.defining = into.defining or ev.defining
            del self.evidence[key]

    def _key(self, key: str | None) -> str | None:
        if key is None:
            return None
        if self.houses is None or key in self.houses or not key.startswith(UNKNOWN_VILLAGE + "|"):
            return self.alias.get(key, key)
        house = key.split("|", 1)[1]  # a house of no known village the pass did not re-collect: as last joined
        joined = self.book.joined(house)
        return f"{joined}|{house}" if joined else key

