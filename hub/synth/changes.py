"""One day of life in the township: births, deaths, moves, new arrivals, edits.

Each change stamps the touched records with a time on that day, so a source's
incremental read of day k sees exactly these.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hub.synth.days import day_date, office_second, stamp
from hub.synth.organisations import add_floating
from hub.synth.world import Household, Person, World


@dataclass
class DayChanges:
    day: int
    births: list[Person] = field(default_factory=list)
    deaths: list[Person] = field(default_factory=list)
    moved_out: list[Person] = field(default_factory=list)
    new_households: list[Household] = field(default_factory=list)
    updated: list[Person] = field(default_factory=list)
    arrivals: list[Person] = field(default_factory=list)
    departures: list[Person] = field(default_factory=list)


def _sample(rng: random.Random, people: list[Person], want: int, ok) -> list[Person]:
    """Up to `want` distinct people satisfying ok(), by rejection sampling (fast at any scale)."""
    chosen: dict[str, Person] = {}
    for _ in range(want * 200):
        if len(chosen) >= want:
            break
        p = rng.choice(people)
        if p.uid not in chosen and ok(p):
            chosen[p.uid] = p
    return list(chosen.values())


def advance(world: World, day: int, rng: random.Random, residents: int, floating: int) -> DayChanges:
    today = day_date(day)
    ch = DayChanges(day)

    def when():
        return stamp(day, office_second(rng))

    def registered(p: Person) -> bool:
        return p.status == "active" and p.household is not None and p.household.status == "0"

    for mother in _sample(rng, world.persons, max(1, round(residents * 0.0004)),
                          lambda p: registered(p) and p.sex == "2" and 22 <= p.age_on(today) <= 40
                          and p.relation in ("02", "10", "20", "99")):
        hh = mother.household
        father = next((m for m in hh.members if m.sex == "1" and m.relation in ("02", "10", "20")), mother)
        surname = father.name[0]
        birth = today.fromordinal(today.toordinal() - rng.randrange(1, 40))
        child = world.new_person(rng.choice("12"), birth, hh.building, world.local_region(), surname, when())
        world.register(child, hh, "20" if mother.relation in ("02", "10") else "30")
        ch.births.append(child)

    for p in _sample(rng, world.persons, max(1, round(residents * 0.0003)),
                     lambda p: registered(p) and p.age_on(today) >= 70):
        p.status, p.changed = "dead", when()
        ch.deaths.append(p)

    for p in _sample(rng, world.persons, max(1, round(residents * 0.0003)),
                     lambda p: registered(p) and 18 <= p.age_on(today) <= 40):
        hh = p.household
        t = when()
        if rng.random() < 0.3:  # the whole household leaves
            for m in hh.members:
                if m.status == "active":
                    m.status, m.changed = "moved", t
                    ch.moved_out.append(m)
            hh.status, hh.changed = "1", t
        else:
            p.status, p.changed = "moved", t
            ch.moved_out.append(p)

    for _ in range(max(1, round(residents * 0.0001))):
        ch.new_households.append(world.new_household(when(), history=False))

    for p in _sample(rng, world.persons, max(2, round(residents * 0.002)),
                     lambda p: registered(p) and p.age_on(today) >= 16):
        p.phone = p.phone[:3] + f"{rng.randrange(10**8):08d}" if p.phone else f"139{rng.randrange(10**8):08d}"
        p.changed = when()
        ch.updated.append(p)

    for hh in {id(p.household): p.household for p in ch.deaths + ch.moved_out}.values():
        if hh.status == "0" and all(m.status != "active" for m in hh.members):
            hh.status, hh.changed = "1", max(m.changed for m in hh.members)

    ch.arrivals = add_floating(world, rng, max(1, round(floating * 0.005)), changed=when())
    for p in _sample(rng, world.persons, max(1, round(floating * 0.004)),
                     lambda p: p.floating and p.status == "active" and p not in ch.arrivals):
        p.status, p.changed = "moved", when()
        ch.departures.append(p)
    return ch
