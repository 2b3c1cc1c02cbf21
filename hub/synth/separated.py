"""人户分离: people of the county registered in one village and living in another.

Public security records them where they live (a floating-persons record with that grid's
``gridCode`` and the address), and the population registry sometimes knows the address too
(``xzz``, 现住址); their household registration stays where it was. On a county exported by other
hands about a third of the floating-population records were such people: with migrants at 8% of
residents, 5.5% of the registered working-age residents gives that share.

Also writes ``truth/record_places.csv``: for every record that says where its entity is, the
level-3 grid it says (registration for the registry and the rosters, residence for floating-persons).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from hub.synth.days import DAY0
from hub.synth.truth import Truth
from hub.synth.world import Building, Person, World

SHARE = 0.055
XZZ_SHARE = 0.4  # of them, how many the population registry has a 现住址 for
SAME_TOWNSHIP = 0.8  # most move within their township


def _working_age(p: Person, day: dt.date) -> bool:
    return 16 <= p.age_on(day) <= 70


def separate(world: World, rng: random.Random, share: float = SHARE) -> list[Person]:
    """Give a share of registered residents a home in another village (``Person.residence``)."""
    homes: dict[str, list[Building]] = {}
    for h in world.households:
        homes.setdefault(world.village_of[h.group.code].code, []).append(h.building)
    homes = {v: list(dict.fromkeys(bs)) for v, bs in homes.items()}  # each building once, in first-seen order
    if len(homes) < 2:
        return []
    candidates = [p for p in world.persons if p.ryid is not None and p.household is not None
                  and p.status == "active" and not p.floating and _working_age(p, DAY0)]
    chosen = rng.sample(candidates, round(len(candidates) * share))
    for p in chosen:
        own = world.village_of[p.household.group.code]
        town = world.township_of[own.code]
        near = [v.code for v in town.children if v is not own and v.code in homes]
        far = [v for v in homes if v != own.code]
        village = rng.choice(near if near and rng.random() < SAME_TOWNSHIP else far)
        p.residence = rng.choice(homes[village])
        if rng.random() < XZZ_SHARE:
            p.xzz = f"{p.residence.address}{rng.randrange(1, 30)}室"
    return chosen


RECORD_PLACE = {  # (source, stream) -> which of the entity's places the record states
    ("population", "persons"): "registered", ("population", "households"): "household",
    ("public-security", "floating-persons"): "residence", ("public-security", "special-persons"): "registered",
    ("fire-safety", "units"): "organisation",
    **{("civil-affairs", sheet): "registered" for sheet in ("低保对象", "特困供养", "残疾人", "高龄老人")},
}


def write_record_places(out: Path, world: World, truth: Truth) -> int:
    """``truth/record_places.csv``: source, stream, source_key, entity_type, entity_uid, says, grid_code."""
    persons = {p.uid: p for p in world.persons}
    households = {h.uid: h for h in world.households}
    orgs = {o.uid: o for o in world.organisations}
    rows = []
    for (source, stream, key), (etype, uid) in sorted(truth.entities.items()):
        says = RECORD_PLACE.get((source, stream))
        if says is None or "#" in key:
            continue  # a mention inside another record (#责任人, #employer, a case party) says nowhere
        if etype == "person" and uid in persons:
            p = persons[uid]
            home = p.household.group.code if p.household is not None else p.building.grid.code
            grid = (p.residence or p.building).grid.code if says == "residence" else home
        elif etype == "household" and uid in households:
            grid = households[uid].group.code
        elif etype == "organization" and uid in orgs:
            grid = orgs[uid].building.grid.code
        else:
            continue
        rows.append((source, stream, key, etype, uid, says, grid))
    path = out / "truth" / "record_places.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["source", "stream", "source_key", "entity_type", "entity_uid", "says", "grid_code"])
        w.writerows(rows)
    return len(rows)
