"""The incremental places pass: re-decide the touched houses, then place again what they reach.

A mixin of :class:`hub.resolve.places.Placer`, run with a :class:`hub.resolve.placescope.PlaceScope`:

1. the houses to re-collect: those the changes touched, the houses of the households placed again
   (a household may take its group from its neighbours' numbers: it needs its house's evidence), and,
   for a house also written without a village (``?|12号``), that house in every village (which one it
   joins depends on them all);
2. their evidence, from the records and entities the address book says name them;
3. their buildings; the houses whose building came, went or moved are *moved*;
4. the entities to place again: those the change reached directly, the households at a touched or moved
   house, persons and organisations naming a moved house (their address, a floating-persons record, a
   unit), the members of a household whose placement changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from hub.db.models import EntityLink, Household, Person, SourceRecord
from hub.resolve.addressbook import AddressBook, Ref, join_key, split_key
from hub.resolve.placeread import links_of
from hub.resolve.placescope import PlaceScope, linked_entities
from hub.resolve.upsert import chunks, sources_of

Want = dict[str, set[tuple[str, str]]]


def _wanted(naming: list[tuple[Ref, str]]) -> Want:
    """The records and entities to collect evidence from, of the address-book rows ``naming``."""
    want: Want = {}
    for (kind, source, ref), _ in naming:
        if kind in ("households", "units", "floating-persons", "incidents", "person", "organization"):
            want.setdefault(kind, set()).add((source, ref))
    return want


class Follower:
    """Needs from the placer: its scope, address book, collect/buildings/households_/persons/... steps."""

    scope: PlaceScope
    book: AddressBook
    session: Any
    ctx: Any
    houses: set[str] | None
    households: dict[str, dict[str, Any]]
    book_rows: dict[Ref, str | None]
    joins: dict[str, str | None]
    moved_households: set[str]
    known: dict[str, set[str]]
    pending: set[str]
    joined_before: dict[str, str | None]
    collect: Callable[..., None]
    buildings: Callable[[], set[str]]
    households_: Callable[[set[str] | None], dict[str, tuple[str | None, str | None]]]
    persons: Callable[[dict[str, tuple[str | None, str | None]], set[str] | None], None]
    organisations: Callable[[set[str] | None], None]
    building_links: Callable[[dict[str, set[tuple[str, str]]] | None], None]

    def _expand(self, houses: set[str], joined: dict[str, str | None]) -> set[str]:
        """The touched houses, and for a house also written without a village (``?|12号``) that copy and
        the village it joined at the last pass (``joined``, read before the book was rewritten): its join
        may move, taking its evidence from one village's building to another's. The village it joins now
        is collected when the join is decided (``pending``); the other villages' copies are not touched
        by it (taking the house in every village made a day's scope grow with the county's villages)."""
        names = {split_key(key)[1] for key in houses}
        # which villages have a house matters only for a house also written without a village
        mixed = {house for house in names if join_key(None, house) in houses} | self.book.unplaced(names)
        found = self.book.villages(mixed)
        self.known = {house: {v for v in villages if v is not None} for house, villages in found.items()}
        out = set(houses)
        joined = {**self.book.joined_of(mixed - set(joined)), **joined}
        for house in sorted(mixed):
            out.add(join_key(None, house))
            village = self.joined_before[house] = joined[house]
            if village is not None:
                out.add(join_key(village, house))
        return out

    def _numbers(self, ids: set[str]) -> dict[str, str]:
        """household id -> its number in the registry (its records' key)."""
        out: dict[str, str] = {}
        for batch in chunks(sorted(ids), 500):
            out.update((hid, no) for hid, no in self.session.connection().execute(
                select(Household.id, Household.household_no).where(Household.id.in_(batch))) if no)
        return out

    def follow(self) -> dict[str, int]:
        scope, book = self.scope, self.book
        joined = book.joined_of({split_key(k)[1] for k in scope.touched})
        book.put(scope.book)
        population = sources_of(self.ctx, "population")
        direct = self._numbers(scope.households)
        refs = [("households", src, no) for src in population for no in direct.values()]
        refs += [("household", "", hid) for hid in scope.households]
        self.houses = houses = self._expand(scope.touched | set(book.keys_of(refs).values()), joined)
        naming = book.naming(houses)
        self.collect(_wanted(naming))
        while self.pending - houses:  # a house of no village joined one whose copy is not collected yet
            extra, self.pending = self.pending - houses, set()
            houses |= extra
            more = book.naming(extra)
            naming += more
            self.collect(_wanted(more))
        moved = self.buildings()

        touched = moved | scope.touched
        mixed = {split_key(k)[1] for k in houses if split_key(k)[0] is None} & {split_key(k)[1] for k in touched}
        touched |= {k for k in houses if split_key(k)[1] in mixed}  # a join moved: the whole house's evidence
        households = set(scope.households) | {ref for (kind, _, ref), key in naming
                                              if kind == "household" and key in touched}
        numbers = {ref for (kind, _, ref), key in naming if kind == "households" and key in touched}
        persons = set(scope.persons) | {ref for (kind, _, ref), key in naming if kind == "person" and key in moved}
        persons |= linked_entities(self.session, "person", [
            (source, kind.removeprefix("ps:"), ref) for (kind, source, ref), key in naming
            if kind in ("floating-persons", "ps:floating-persons", "ps:special-persons") and key in moved])
        organisations = set(scope.organisations) | {ref for (kind, _, ref), key in naming
                                                    if kind == "organization" and key in moved}
        organisations |= linked_entities(self.session, "organization", [
            (source, kind, ref) for (kind, source, ref), key in naming if kind == "units" and key in moved])
        links: Want = {"households": set(), "units": set()}
        for (kind, source, ref), key in naming:
            if kind in links and key in moved:
                links[kind].add((source, ref))
        for source, stream, key in scope.records:
            if stream in links:
                links[stream].add((source, key))
        for batch in chunks(sorted(numbers), 500):
            households.update(self.session.connection().execute(select(Household.id).where(
                Household.household_no.in_(batch))).scalars())
        numbers |= set(self._numbers(households).values())

        units = {(s, k) for s, st, k, _ in self._linked_records("organization", organisations, ["units"])}
        self.collect({"households": {(s, no) for s in population for no in numbers} | links["households"],
                      "units": units | links["units"]}, addresses=False)
        placed = self.households_(households)
        if self.moved_households:
            persons |= self._members(self.moved_households)
        ps = self._linked_records("person", persons, ["floating-persons", "special-persons"])
        self.collect({"floating-persons": {(s, k) for s, st, k, _ in ps if st == "floating-persons"},
                      "special-persons": {(s, k) for s, st, k, _ in ps if st == "special-persons"}},
                     addresses=False)
        self.persons(placed, persons)
        self.organisations(organisations)
        self.building_links(links)
        book.put(self.book_rows)
        book.set_joined(self.joins)
        counts = {"houses_rechecked": len(houses), "houses_moved": len(moved), "households_rechecked": len(households),
                  "persons_rechecked": len(persons), "organizations_rechecked": len(organisations),
                  "records_changed": len(scope.records)}
        return counts

    def _linked_records(self, etype: str, ids: set[str], streams: list[str]) -> list[tuple[str, str, str, str]]:
        connector = "fire-safety" if etype == "organization" else "public-security"
        return list(links_of(self.session, etype, sources_of(self.ctx, connector), streams, ids))

    def _members(self, households: set[str]) -> set[str]:
        """The persons of these households: members, and those the linker left without a household whose
        registry record names one of them (placed by it, see ``Residents._fallback_households``)."""
        connection = self.session.connection()
        out: set[str] = set()
        for batch in chunks(sorted(households), 500):
            out.update(connection.execute(select(Person.id).where(Person.household_id.in_(batch))).scalars())
        numbers = set(self._numbers(households).values())
        population = sources_of(self.ctx, "population")
        if not numbers or not population:
            return out
        # the persons without a household, as a subquery probed link by link: read into Python, they were
        # the county's floating population (41,087 ids at 500,000 residents, 83 queries) on every day
        loose = select(Person.id).where(Person.household_id.is_(None))
        keys = list(connection.execute(select(EntityLink.source, EntityLink.source_key, EntityLink.entity_id).where(
            EntityLink.entity_type == "person", EntityLink.entity_id.in_(loose), EntityLink.source.in_(population),
            EntityLink.stream == "persons")).tuples())
        for source in population:
            mine = {k: pid for s, k, pid in keys if s == source}
            for batch in chunks(sorted(mine), 500):
                for key, data in connection.execute(select(SourceRecord.source_key, SourceRecord.data).where(
                        SourceRecord.source == source, SourceRecord.stream == "persons",
                        SourceRecord.source_key.in_(batch))):
                    if str((data or {}).get("household_no") or "") in numbers:
                        out.add(mine[key])
        return out

