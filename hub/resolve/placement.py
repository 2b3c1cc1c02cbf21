"""Placement rules: which building an address names, and which grid the evidence about it points to.

A house is its village and its number (house numbers repeat in every village): a building's key is
``<village code>|<house within the village>`` (``130203101201|3组12号``), the village taken from the
record's own grid code when it gives one, else from the name in the address; ``?|…`` when neither
says. Pure functions over a :class:`GridIndex`, in the order of :mod:`hub.resolve.places`: an explicit
code, then a point in a polygon (swapped coordinates detected), then the group named in the address;
evidence from another village than the building's own is not counted; what none of them places stays
unplaced.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hub.resolve.address import building_key, group_number, normalize_address
from hub.resolve.gridindex import GridIndex

UNKNOWN_VILLAGE = "?"


@lru_cache(maxsize=262_144)
def building_id(key: str) -> str:
    """Stable: the digest of the normalised address, so re-running never renumbers a building.

    Remembered: a pass asks it of each house several times (200k county, full pass: 202k calls, 53k houses)."""
    return "B-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Locus:
    """Where an address is: its village (None when unknown), the house within it, the building key."""

    village: str | None
    house: str
    candidates: tuple[str, ...] = ()  # the villages an ambiguous name could be (empty: any)

    @property
    def key(self) -> str | None:
        """None when the address names no house (only a village or township): no building then."""
        return f"{self.village or UNKNOWN_VILLAGE}|{self.house}" if self.house else None


def _building_key(index: GridIndex, address: Any) -> str | None:
    """``building_key``, remembered by the index for the pass: the full pass normalised each address once
    per record and entity naming it (77k calls, about a ninth of the pass at 200k), most of them repeats."""
    if not address or not isinstance(address, str):
        return building_key(address) if address else None
    cache = index.building_keys
    if address in cache:
        return cache[address]
    key = building_key(address)
    if len(cache) < 500_000:
        cache[address] = key
    return key


def locus(index: GridIndex, address: Any, village_hint: Any = None) -> Locus | None:
    """The record's own grid code decides the village when it gives one; else the name in the address."""
    key = _building_key(index, address)
    if key is None or len(key) > 180:
        return None
    village, house, candidates = index.locality(key)
    hint = index.village_of(str(village_hint)) if village_hint else None
    return Locus(hint or village, house, () if hint or village else candidates)


def address_key(index: GridIndex, address: Any, village_hint: Any = None) -> str | None:
    """The building key of an address (see :func:`locus`), as stored in ``Building.address_key``."""
    found = locus(index, address, village_hint)
    return found.key if found else None


def display_address(index: GridIndex, village: str | None, house: str) -> str:
    """``唐山镇东村3组12号``: the township and village by their registry names, then the house."""
    if village is None:
        return house
    town = index.cells.get(village, ("", 0, None))[2]
    town_name = index.name_of(town) if town else None
    return f"{town_name or ''}{index.name_of(village) or ''}{house}"


@dataclass
class Evidence:
    """Everything the sources say about where one building is."""

    key: str
    village: str | None = None
    house: str = ""
    codes: Counter[str] = field(default_factory=Counter)
    points: list[tuple[Any, Any]] = field(default_factory=list)
    numbered: list[tuple[int, str]] = field(default_factory=list)  # (户号, its explicit group) at this address
    defining: bool = False  # named by a household, unit or person record (not only by an event)


@dataclass(frozen=True)
class Placement:
    grid_code: str | None
    method: str | None
    lon: float | None = None
    lat: float | None = None


UNPLACED = Placement(None, None)


def explicit_code(index: GridIndex, *codes: Any) -> str | None:
    for code in codes:
        if code and index.known(str(code)):
            return str(code)
    return None


def record_hint(index: GridIndex, data: dict[str, Any]) -> str | None:
    """The village a record's own code or point says it is in (a unit's, an incident's)."""
    code = explicit_code(index, data.get("grid_code"))
    if code is None and (hit := index.locate(data.get("lon"), data.get("lat"))) is not None:
        code = hit.code
    return index.village_of(code)


def household_code(index: GridIndex, data: dict[str, Any]) -> str | None:
    """村居代码 + 组号; the 组号 as clerks type it: ``3``, ``003``, ``三``, ``3组``, ``第三村民小组``."""
    village, group = data.get("village_code"), data.get("group_no")
    if village and len(str(village)) == 15 and index.level(str(village)) == 3:  # a vendor storing the group's code
        return str(village)
    if not village or group in (None, ""):
        return None
    number = group_number(normalize_address(f"{group}组") or "")
    return explicit_code(index, f"{village}{number:03d}") if number is not None and number < 1000 else None


def finer(index: GridIndex, code: str | None, other: str | None) -> str | None:
    """``other`` when it is a group inside the village or township ``code`` names (or ``code`` is None)."""
    if code is None:
        return other
    if other and index.level(other) == 3 and (index.level(code) or 3) < 3 \
            and other.startswith(code[:9] if index.level(code) == 1 else code):
        return other
    return code


def place_building(index: GridIndex, ev: Evidence) -> Placement:
    """Codes and points from another village than the building's own are a clerk's slip: not counted."""
    codes = [(code, n) for code, n in ev.codes.items() if ev.village is None or index.village_of(code) == ev.village
             or (index.level(code) == 1 and ev.village.startswith(code[:9]))]
    groups = [(code, n) for code, n in codes if index.level(code) == 3]
    if groups:
        return Placement(sorted(groups, key=lambda kv: (-kv[1], kv[0]))[0][0], "code")
    coarse = sorted(codes, key=lambda kv: (-index.level(kv[0]), -kv[1], kv[0]))[0][0] if codes else None
    village = ev.village or index.village_of(coarse)

    def fits(group: str) -> bool:
        return (village is None or index.village_of(group) == village) and finer(index, coarse, group) == group

    for lon, lat in ev.points:  # a code naming only the village (or township): the point says the group
        hit = index.locate(lon, lat)
        if hit is not None and fits(hit.code):
            return Placement(hit.code, hit.method, hit.lon, hit.lat)
    group = index.group(village, group_number(ev.house)) if village else None
    if group and fits(group):
        return Placement(group, "address")
    if coarse:
        return Placement(coarse, "code")
    return Placement(village, "village_name") if village else UNPLACED


def place_by_address(index: GridIndex, key: str | None, villages: Counter[str] | None = None) -> Placement:
    village = index.village_in_address(key) if key else None
    if village is None and villages:
        village = sorted(villages.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    if village is None:
        return UNPLACED
    number = group_number(key, after=index.name_of(village)) if key else None
    if number is None and key:
        number = group_number(key)
    group = index.group(village, number) if number is not None else None
    return Placement(group, "address") if group else Placement(village, "village_name")


def nearest_registered(ev: Evidence, number: int, village: Any) -> str | None:
    """One address, households naming different groups: blocks numbered per group, not per community.

    A household that names no group takes that of the household registered nearest to it (户号 are
    issued in sequence, and a block's households register together), within its own village.
    """
    pool = [(abs(n - number), n, code) for n, code in ev.numbered if not village or code.startswith(str(village))]
    return min(pool)[2] if pool else None
