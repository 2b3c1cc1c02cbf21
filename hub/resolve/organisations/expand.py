"""Which stored organisations an incremental run must re-read for the names it sees: those whose
golden name relates to one of them as the register compares names (same core, the name people use,
one character of the same sound), not only those spelt exactly alike."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import GridCell, Organization
from hub.resolve.organisations.names import Divisions, canonical, relation, sound_key


def county_divisions(session: Session) -> tuple[list[tuple[str, str]], Divisions]:
    """The registry's townships (code, name) and the division names they imply."""
    towns = list(session.execute(select(GridCell.code, GridCell.name).where(GridCell.level == 1)).tuples())
    return towns, Divisions.of_county(towns)


def alike(session: Session, names: Iterable[str]) -> set[str]:
    """Ids of organisations whose name relates to any of ``names``."""
    _, divisions = county_divisions(session)
    wanted = [c for n in set(names) if (c := canonical(n, divisions)) is not None]
    if not wanted:
        return set()
    keys = {k for c in wanted for k in (c.core, *sound_key(c.core))}
    out: set[str] = set()
    for oid, name in session.execute(select(Organization.id, Organization.name)).tuples():
        c = canonical(name, divisions)
        if c is None:
            continue
        near = c.core in keys or any(k in keys for k in sound_key(c.core))
        if near and any(relation(w, c) for w in wanted):
            out.add(oid)
    return out
