"""Which records and entities name which house, kept between places passes (``address_evidence``).

A changed record's old data is gone once it is loaded, so the house it used to name (whose building
may now lose its evidence, or its last record) is read here; and the evidence of one house is
re-collected from the rows naming it, not from the whole county. The full places pass writes every
row; an incremental one rewrites the rows of what changed (:mod:`hub.resolve.placescope`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, tuple_, update

from hub.db.bulk import executemany
from hub.db.models import AddressEvidence
from hub.resolve.placement import UNKNOWN_VILLAGE
from hub.resolve.upsert import chunks

#: (kind, source, ref): a record (kind = its stream, ref = its stored key) or an entity (source "", ref = id)
Ref = tuple[str, str, str]
#: rows whose address makes a building exist (incidents only confirm one; ``ps:*`` and ``household`` are
#: addresses read when nothing better places an entity)
DEFINING = ("households", "units", "floating-persons", "person", "organization")
#: the order the full pass reads evidence in (the first of an unknown village's rows gives its candidates)
ORDER = {kind: n for n, kind in enumerate((*DEFINING, "incidents", "ps:floating-persons", "ps:special-persons",
                                            "household"))}


def split_key(key: str) -> tuple[str | None, str]:
    village, house = key.split("|", 1)
    return (None if village == UNKNOWN_VILLAGE else village), house


def join_key(village: str | None, house: str) -> str:
    return f"{village or UNKNOWN_VILLAGE}|{house}"


class AddressBook:
    """Reads and writes ``address_evidence`` inside the places step's transaction."""

    def __init__(self, session: Any) -> None:
        self.connection = session.connection()
        self.table = AddressEvidence.__table__

    def empty(self) -> bool:
        return self.connection.execute(select(AddressEvidence.kind).limit(1)).first() is None

    def keys_of(self, refs: Iterable[Ref]) -> dict[Ref, str]:
        """The house each of ``refs`` named at the last pass (absent: none)."""
        out: dict[Ref, str] = {}
        by_kind: dict[tuple[str, str], list[str]] = {}
        for kind, source, ref in refs:
            by_kind.setdefault((kind, source), []).append(ref)
        t = AddressEvidence
        for (kind, source), ids in by_kind.items():
            for batch in chunks(sorted(set(ids)), 500):
                rows = self.connection.execute(select(t.ref, t.village, t.house).where(
                    t.kind == kind, t.source == source, t.ref.in_(batch)))
                out.update({(kind, source, r): join_key(v, h) for r, v, h in rows})
        return out

    def naming(self, keys: Iterable[str]) -> list[tuple[Ref, str]]:
        """Every row naming one of ``keys``, in the order the full pass reads them.

        Read village by village (the index is (house, village)): reading every village's rows of a house
        and keeping the wanted ones fetched ~15x the rows on a day at 200k (``8组9号`` is in every village)."""
        by_village: dict[str | None, set[str]] = {}
        for key in keys:
            village, house = split_key(key)
            by_village.setdefault(village, set()).add(house)
        out = []
        t = AddressEvidence
        for village in sorted(by_village, key=lambda v: (v is not None, v or "")):
            where = t.village.is_(None) if village is None else t.village == village
            for batch in chunks(sorted(by_village[village]), 500):
                rows = self.connection.execute(select(t.kind, t.source, t.ref, t.village, t.house).where(
                    t.house.in_(batch), where))
                out += [((k, s, r), join_key(v, h)) for k, s, r, v, h in rows]
        return sorted(out, key=lambda row: (ORDER.get(row[0][0], 99), row[0][1], row[0][2]))

    def villages(self, houses: Iterable[str]) -> dict[str, set[str | None]]:
        """house -> the villages (None: unknown) with a defining row naming it."""
        out: dict[str, set[str | None]] = {}
        t = AddressEvidence
        for batch in chunks(sorted(set(houses)), 500):
            for village, house in self.connection.execute(select(t.village, t.house).distinct().where(
                    t.house.in_(batch), t.kind.in_(DEFINING))):
                out.setdefault(house, set()).add(village)
        return out

    def unplaced(self, houses: Iterable[str]) -> set[str]:
        """Those of ``houses`` a defining row names without a village (``?|house``)."""
        t = AddressEvidence
        out: set[str] = set()
        for batch in chunks(sorted(set(houses)), 500):
            out.update(self.connection.execute(select(t.house).distinct().where(
                t.house.in_(batch), t.village.is_(None), t.kind.in_(DEFINING))).scalars())
        return out

    def joined(self, house: str) -> str | None:
        """The village an unknown village's house joined at the last pass."""
        t = AddressEvidence
        return self.connection.execute(select(t.joined).where(
            t.house == house, t.village.is_(None), t.joined.is_not(None)).limit(1)).scalar()

    def joined_of(self, houses: Iterable[str]) -> dict[str, str | None]:
        """:meth:`joined` of many houses, 500 to a query (a day at 200k asked ~200 queries, one a house)."""
        t = AddressEvidence
        out: dict[str, str | None] = {}
        wanted = sorted(set(houses))
        for batch in chunks(wanted, 500):
            for house, village in self.connection.execute(select(t.house, t.joined).where(
                    t.house.in_(batch), t.village.is_(None), t.joined.is_not(None))):
                out.setdefault(house, village)  # the first, as joined()'s LIMIT 1 (a house's rows agree)
        return {house: out.get(house) for house in wanted}

    def set_joined(self, joins: dict[str, str | None]) -> None:
        """Each house of no village: the village it joined (one statement for all; rows already right stay)."""
        if not joins:
            return
        t = self.table
        stmt = update(t).where(t.c.house == bindparam("_house"), t.c.village.is_(None),
                               t.c.joined.is_distinct_from(bindparam("_joined"))).values(joined=bindparam("_joined"))
        self.connection.execute(stmt, [{"_house": house, "_joined": village} for house, village in joins.items()])

    def put(self, rows: dict[Ref, str | None]) -> None:
        """Write these refs' houses (None: the ref names none, or is gone)."""
        t = self.table
        keys = sorted(rows)
        for kind in sorted({k for k, _, _ in keys}):
            mine = [(s, r) for k, s, r in keys if k == kind]
            for batch in chunks(mine, 400):
                self.connection.execute(delete(t).where(t.c.kind == kind,
                                                        tuple_(t.c.source, t.c.ref).in_(batch)))
        self._insert((ref, key) for ref, key in rows.items() if key is not None)

    def replace(self, rows: dict[Ref, str], joins: dict[str, str | None] | None = None) -> None:
        """The full pass: the table becomes exactly ``rows`` (only differences are written); rows it
        inserts of a house of no village carry its join (``joins``) already."""
        t = AddressEvidence
        have = {(k, s, r): (join_key(v, h), j) for k, s, r, v, h, j in self.connection.execute(
            select(t.kind, t.source, t.ref, t.village, t.house, t.joined))}
        stale = {ref: None for ref, (key, _) in have.items() if rows.get(ref) != key}
        if stale:
            self.put(stale)
        self._insert(((ref, key) for ref, key in rows.items() if ref not in have or ref in stale), joins)

    def _insert(self, rows: Iterable[tuple[Ref, str]], joins: dict[str, str | None] | None = None) -> None:
        out = []
        for (kind, source, ref), key in sorted(rows):
            village, house = split_key(key)
            out.append({"kind": kind, "source": source, "ref": ref, "village": village, "house": house,
                        "joined": joins.get(house) if joins and village is None else None})
        for batch in chunks(out):
            executemany(self.connection, insert(self.table), batch)
