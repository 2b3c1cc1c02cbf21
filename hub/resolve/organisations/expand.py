"""Which stored organisations an incremental run must re-read for the names it sees: those whose
golden name relates to one of them as the register compares names (same core, the name people use,
one character of the same sound), not only those spelt exactly alike."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import GridCell, Organization
from hub.resolve.organisations.names import Divisions, OrgName, canonical, relation, sound_key


def county_divisions(session: Session) -> tuple[list[tuple[str, str]], Divisions]:
    """The registry's townships (code, name) and the division names they imply."""
    towns = list(session.execute(select(GridCell.code, GridCell.name).where(GridCell.level == 1)).tuples())
    return towns, Divisions.of_county(towns)


def alike(session: Session, names: Iterable[str]) -> set[str]:
    """Ids of organisations whose name relates to any of ``names`` (see :class:`Lookalikes`)."""
    return Lookalikes(session)(session, names)


class Lookalikes:
    """``alike`` for one resolve pass: the stored names are read and made canonical once, and each name
    is looked up once however often the pass asks (an incremental day that pulls in a matched person
    expands twice, the second time with every name of the first).

    Each stored name is compared only with the wanted names it shares a blocking key with (its core or
    the readings of its first two characters): every relation (same core, the name people use, one
    same-sound slip) keeps the first two characters or their sound, so no related pair is skipped, and a
    day's few hundred names no longer meet each of the county's organisations (at 500,000 residents that
    product was most of an incremental resolve). The answer for several names is the union of each
    name's, so names asked before are answered from memory. Valid while the organisation table is
    unchanged: :func:`forget` drops it from the session before resolve writes organisations."""

    KEY = "hub.resolve.lookalikes"

    def __init__(self, session: Session) -> None:
        self.towns, self.divisions = county_divisions(session)
        self._stored: list[tuple[str, OrgName, tuple[str, ...]]] | None = None
        self._found: dict[str, set[str]] = {}  # name asked -> ids of the organisations it relates to

    @classmethod
    def of(cls, session: Session) -> Lookalikes:
        """The pass's instance, kept in ``session.info``."""
        memo = session.info.get(cls.KEY)
        if memo is None:
            memo = session.info[cls.KEY] = cls(session)
        return memo

    @classmethod
    def forget(cls, session: Session) -> None:
        session.info.pop(cls.KEY, None)

    def __call__(self, session: Session, names: Iterable[str]) -> set[str]:
        asked = sorted(set(names))
        new = [(n, c) for n in asked if n not in self._found and (c := canonical(n, self.divisions)) is not None]
        for n in asked:
            self._found.setdefault(n, set())
        if new:
            by_key: dict[str, list[tuple[str, OrgName]]] = defaultdict(list)
            for n, w in new:
                for k in dict.fromkeys((w.core, *sound_key(w.core))):
                    by_key[k].append((n, w))
            for oid, c, keys in self._stored_names(session):
                near = {n: w for k in keys for n, w in by_key.get(k, ())}
                for n, w in near.items():
                    if relation(w, c):
                        self._found[n].add(oid)
        out: set[str] = set()
        for n in asked:
            out |= self._found[n]
        return out

    def _stored_names(self, session: Session) -> list[tuple[str, OrgName, tuple[str, ...]]]:
        if self._stored is None:
            self._stored = []
            for oid, name in session.execute(select(Organization.id, Organization.name)).tuples():
                c = canonical(name, self.divisions)
                if c is not None:
                    self._stored.append((oid, c, (c.core, *sound_key(c.core))))
        return self._stored
