"""People who moved between a province's counties: registered in one, living (and recorded) in another.

A mover keeps their citizen ID: the departments of the county they left still hold them (their
household registration follows months later), and the county they came to records them again, so
the province's store holds one citizen ID in two counties. The hub must link them as one person.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from hub.synth.world import World


@dataclass(frozen=True)
class Identity:
    id18: str
    name: str
    sex: str
    birth: dt.date


def leaving(world: World, count: int, rng: random.Random, arrived: Sequence[Identity] = ()) -> list[Identity]:
    """``count`` registered, living adults of ``world`` who will also appear in the next county (not
    those who have just arrived: each mover is in exactly two counties)."""
    just_came = {a.id18 for a in arrived}
    adults = [p for p in world.persons if p.household is not None and p.status == "active" and not p.floating
              and p.age_on(dt.date(2026, 1, 1)) >= 18 and p.id18 not in just_came]
    chosen = rng.sample(adults, min(count, len(adults)))
    return [Identity(p.id18, p.name, p.sex, p.birth) for p in sorted(chosen, key=lambda p: p.uid)]


def settle(world: World, arrivals: Sequence[Identity], rng: random.Random) -> None:
    """Give ``arrivals`` the places of as many adults of ``world`` (same sex): their records here carry
    the mover's name, birth date and citizen ID."""
    if not arrivals:
        return
    by_sex: dict[str, list] = {"1": [], "2": []}
    for p in world.persons:
        if p.household is not None and p.status == "active" and not p.floating and p.age_on(dt.date(2026, 1, 1)) >= 18:
            by_sex.setdefault(p.sex, []).append(p)
    for pool in by_sex.values():
        rng.shuffle(pool)
    for who in arrivals:
        pool = by_sex.get(who.sex) or []
        if not pool:
            continue
        person = pool.pop()
        person.id18, person.name, person.birth = who.id18, who.name, who.birth
