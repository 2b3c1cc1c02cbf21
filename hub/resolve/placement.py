"""Placement rules: which grid the evidence about one building (or record) points to.

Pure functions over a :class:`GridIndex`, in the order of :mod:`hub.resolve.places`: an explicit
code, then a point in a polygon (swapped coordinates detected), then the village and group named
in the address; what none of them places stays unplaced.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hub.resolve.address import group_number
from hub.resolve.gridindex import GridIndex


def building_id(key: str) -> str:
    """Stable: the digest of the normalised address, so re-running never renumbers a building."""
    return "B-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


@dataclass
class Evidence:
    """Everything the sources say about where one building is."""

    key: str
    codes: Counter[str] = field(default_factory=Counter)
    villages: Counter[str] = field(default_factory=Counter)
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


def household_code(index: GridIndex, data: dict[str, Any]) -> str | None:
    village, group = data.get("village_code"), data.get("group_no")
    if village and group not in (None, ""):
        try:
            return explicit_code(index, f"{village}{int(str(group)):03d}")
        except ValueError:
            return None
    return None


def place_building(index: GridIndex, ev: Evidence) -> Placement:
    if ev.codes:
        code = sorted(ev.codes.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        return Placement(code, "code")
    for lon, lat in ev.points:
        hit = index.locate(lon, lat)
        if hit is not None:
            return Placement(hit.code, hit.method, hit.lon, hit.lat)
    return place_by_address(index, ev.key, ev.villages)


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
