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
    """Ids of organisations whose name relates to any of ``names``.

    Each stored name is compared only with the wanted names it shares a blocking key with (its core or
    the readings of its first two characters): every relation (same core, the name people use, one
    same-sound slip) keeps the first two characters or their sound, so no related pair is skipped, and a
    day's few hundred names no longer meet each of the county's organisations (at 500,000 residents that
    product was most of an incremental resolve)."""
    _, divisions = county_divisions(session)
    wanted = [c for n in sorted(set(names)) if (c := canonical(n, divisions)) is not None]
    if not wanted:
        return set()
    by_key: dict[str, list[OrgName]] = defaultdict(list)
    for w in wanted:
        for k in dict.fromkeys((w.core, *sound_key(w.core))):
            by_key[k].append(w)
    out: set[str] = set()
    for oid, name in session.execute(select(Organization.id, Organization.name)).tuples():
        c = canonical(name, divisions)
        if c is None:
            continue
        near = {id(w): w for k in (c.core, *sound_key(c.core)) for w in by_key.get(k, ())}
        if any(relation(w, c) for w in near.values()):
            out.add(oid)
    return out
