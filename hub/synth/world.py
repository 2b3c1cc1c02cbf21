"""The true world: people in households, households in buildings, buildings in grids.

Every source is a (noisy, partial) view of this world; truth/ is read off it directly.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from itertools import accumulate

from hub.synth import identity, names
from hub.synth.days import DAY0, history_stamp
from hub.synth.grids import Grid
from hub.synth.noise import NoiseProfile

ETHNICITIES = ["01"] * 95 + ["03", "03", "11", "11", "02"]

# (kind, weight) of household compositions; see _composition for the ages
HOUSEHOLD_KINDS = [("elderly_alone", 9), ("elderly_couple", 11), ("single", 8), ("couple", 10),
                   ("nuclear", 35), ("three_gen", 27)]


@dataclass(slots=True, eq=False)
class Building:
    uid: str
    grid: Grid
    lon: float
    lat: float
    address: str
    capacity: int


@dataclass(slots=True, eq=False)
class Person:
    uid: str
    name: str
    sex: str
    birth: dt.date
    ethnicity: str
    id18: str
    phone: str | None
    building: Building = field(repr=False)
    household: Household | None = field(default=None, repr=False)
    relation: str = "02"
    status: str = "active"  # active | dead | moved
    ryid: int | None = None
    floating: bool = False
    native: str = ""
    changed: dt.datetime = dt.datetime(2015, 1, 1)
    xzz: str | None = None
    residence: Building | None = field(default=None, repr=False)  # 人户分离: living away from the registered home

    def age_on(self, d: dt.date) -> int:
        return d.year - self.birth.year - ((d.month, d.day) < (self.birth.month, self.birth.day))


@dataclass(slots=True, eq=False)
class Household:
    uid: str
    hh: str
    building: Building = field(repr=False)
    village: Grid = field(repr=False)
    group: Grid = field(repr=False)
    members: list[Person] = field(default_factory=list, repr=False)
    status: str = "0"
    changed: dt.datetime = dt.datetime(2015, 1, 1)

    @property
    def head(self) -> Person:
        return next((m for m in self.members if m.relation == "02"), self.members[0])


@dataclass(slots=True, eq=False)
class Organisation:
    uid: str
    unit_no: str
    name: str
    credit: str
    category: str
    authority: str
    building: Building
    legal_rep: Person
    responsible: Person
    phone: str


class World:
    """Builds the day-0 world; changes.py moves it forward day by day."""

    def __init__(self, rng: random.Random, grids: list[Grid], residents: int, noise: NoiseProfile,
                 county: str | None = None) -> None:
        # county: one of a province's counties (hub.synth.province): its own ID region and 户号 range
        self.rng, self.grids, self.noise, self.county = rng, grids, noise, county
        self.ids = identity.IdRegistry()
        self.townships = [g for g in grids if g.level == 1]
        self.villages = [g for g in grids if g.level == 2]
        self.groups = [g for g in grids if g.level == 3]
        self.township_of = {v.code: t for t in self.townships for v in t.children}
        self.village_of = {g.code: v for v in self.villages for g in v.children}
        self.persons: list[Person] = []
        self.households: list[Household] = []
        self.buildings: list[Building] = []
        self.organisations: list[Organisation] = []
        self._open_building: dict[str, Building] = {}
        self._house_numbers: dict[str, int] = {}
        self._next_ryid = 10_000_001
        self._hh_seq: dict[str, int] = {}
        self._group_cum = list(accumulate(2.5 if g.is_community else 1.0 for g in self.groups))
        while len(self.persons) < residents:
            self.new_household(history_stamp(rng))

    # -- people ------------------------------------------------------------
    def new_person(self, sex: str, birth: dt.date, building: Building, region: str, surname: str | None = None,
                   changed: dt.datetime | None = None) -> Person:
        rng = self.rng
        given = names.rare_given_name(rng) if rng.random() < self.noise.rare_name else names.given_name(rng, sex)
        age = DAY0.year - birth.year
        person = Person(
            uid=f"P{len(self.persons) + 1:07d}", name=(surname or names.surname(rng)) + given, sex=sex,
            birth=birth, ethnicity=rng.choice(ETHNICITIES), id18=self.ids.issue(rng, region, birth, sex),
            phone=names.phone(rng) if age >= 16 and rng.random() < 0.9 else None, building=building,
            native=region, changed=changed or history_stamp(rng, max(birth, dt.date(2015, 1, 1))))
        self.persons.append(person)
        return person

    def birth_for_age(self, age: int) -> dt.date:
        return DAY0 - dt.timedelta(days=int(age * 365.25) + self.rng.randrange(365))

    def local_region(self) -> str:
        rng = self.rng
        if rng.random() < 0.85:
            return self.county or identity.LOCAL_COUNTY
        return rng.choice(identity.HEBEI_COUNTIES) if rng.random() < 0.8 else rng.choice(identity.OTHER_PROVINCES)[0]

    def register(self, person: Person, household: Household, relation: str) -> None:
        person.household, person.relation = household, relation
        person.ryid = self._next_ryid
        self._next_ryid += self.rng.randrange(1, 4)
        household.members.append(person)

    # -- places --------------------------------------------------------------
    def pick_group(self) -> Grid:
        return self.rng.choices(self.groups, cum_weights=self._group_cum)[0]

    def building_in(self, group: Grid, *, residential: bool = True) -> Building:
        rng = self.rng
        b = self._open_building.get(group.code) if residential else None
        if b is not None and b.capacity > 0:
            b.capacity -= 1
            return b
        village = self.village_of[group.code]
        town = self.township_of[village.code]
        n = len(self.buildings) + 1
        lon, lat = group.random_point(rng)
        # house numbers count per community / per group, so one written address is one building
        scope = village.code if group.is_community else group.code
        number = self._house_numbers[scope] = self._house_numbers.get(scope, 0) + 1
        if group.is_community:
            address = f"{town.name}{village.name}{number}号楼"
            capacity = rng.randrange(12, 37)
        else:
            address = f"{town.name}{village.name}{int(group.code[-3:])}组{number}号"
            capacity = rng.choice([1, 1, 1, 2])
        b = Building(f"B{n:07d}", group, lon, lat, address, capacity - 1 if residential else 0)
        self.buildings.append(b)
        if residential:
            self._open_building[group.code] = b
        return b

    def unit_address(self, person: Person) -> str:
        b = person.building
        if b.grid.is_community and person.household is not None:
            return f"{b.address}{int(person.household.hh[-3:]) % 6 + 1}单元{int(person.household.hh[-2:]) + 101}室"
        return b.address

    # -- households ------------------------------------------------------------
    def new_household(self, changed: dt.datetime, group: Grid | None = None, kind: str | None = None,
                      *, history: bool = True) -> Household:
        """A household of a realistic composition; history ones get scattered past update stamps."""
        rng = self.rng
        group = group or self.pick_group()
        village = self.village_of[group.code]
        building = self.building_in(group)
        seq = self._hh_seq.get(village.code, 0) + 1
        self._hh_seq[village.code] = seq
        prefix = village.code if self.county else village.code[6:]  # 户号 unique across a province's counties
        hh = Household(f"H{len(self.households) + 1:07d}", f"{prefix}{seq:05d}", building, village,
                       group, changed=changed)
        self.households.append(hh)
        kind = kind or rng.choices([k for k, _ in HOUSEHOLD_KINDS], [w for _, w in HOUSEHOLD_KINDS])[0]
        family = names.surname(rng)
        for age, sex, relation, own_surname in _composition(rng, kind):
            p = self.new_person(sex, self.birth_for_age(age), building, self.local_region(),
                                None if own_surname else family, changed=None if history else changed)
            self.register(p, hh, relation)
        hh.changed = max(m.changed for m in hh.members)
        return hh


def _composition(rng: random.Random, kind: str) -> list[tuple[int, str, str, bool]]:
    """(age, sex, relation to head, has own surname) for each member, head first."""
    r = rng.randrange
    head_sex = "1" if rng.random() < 0.8 else "2"
    other = "2" if head_sex == "1" else "1"
    if kind == "elderly_alone":
        return [(r(70, 96), rng.choice("12"), "02", False)]
    if kind == "elderly_couple":
        a = r(65, 91)
        return [(a, head_sex, "02", False), (max(60, a - r(0, 6)), other, "10", True)]
    if kind == "single":
        return [(r(22, 61), head_sex, "02", False)]
    if kind == "couple":
        a = r(23, 61)
        return [(a, head_sex, "02", False), (max(20, a - r(-2, 5)), other, "10", True)]
    parent = r(25, 51)
    members = [(parent, head_sex, "02", False), (max(21, parent - r(-2, 5)), other, "10", True)]
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        if parent - 20 >= 0:
            members.append((max(0, parent - r(20, min(38, parent) + 1)), rng.choice("12"), "20", head_sex == "2"))
    if kind == "three_gen":
        grand = parent + r(22, 32)
        members.append((grand, "1", "50", False))
        if rng.random() < 0.7:
            members.append((grand - r(0, 5), "2", "50", True))
        if rng.random() < 0.05:
            members.append((parent - r(-8, 8), rng.choice("12"), "99", False))
        if rng.random() < 0.4:  # the grandfather is the head: children become 20, grandchildren 30
            promote = {"50": "02", "02": "20", "10": "99", "20": "30", "99": "99"}
            members = [(a, s, promote[rel], own) for a, s, rel, own in members]
            first = next(i for i, m in enumerate(members) if m[2] == "02")
            members.insert(0, members.pop(first))
            members = [(a, s, "10" if rel == "02" and i else rel, own) for i, (a, s, rel, own) in enumerate(members)]
    return members
