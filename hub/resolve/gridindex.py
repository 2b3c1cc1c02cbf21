"""The grid registry as a lookup: point in polygon (shapely 2 STRtree) and village names.

Only level-3 cells (groups) go into the tree: every entity belongs in a group, and groups tile
their village, so a point inside a village but in no group means a hole in the registry.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import select

from hub.db.models import GridCell
from hub.resolve.address import VILLAGE_SUFFIX, village_stem


@dataclass(frozen=True)
class Hit:
    code: str
    method: str  # point | point_swapped
    lon: float
    lat: float


def _number(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _in_range(lon: float, lat: float) -> bool:
    return -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0


class GridIndex:
    def __init__(self, cells: list[tuple[str, str, int, str | None, dict[str, Any] | None]]) -> None:
        self.cells = {code: (name, level, parent) for code, name, level, parent, _ in cells}
        groups = [(code, geom) for code, _, level, _, geom in cells if level == 3 and geom]
        self._codes = [code for code, _ in groups]
        self._geometries: list[dict[str, Any]] | None = [geom for _, geom in groups] if groups else None
        self._built: shapely.STRtree | None = None
        self._groups_of: dict[tuple[str, int], str] = {}
        for code, (_, level, parent) in self.cells.items():
            if level == 3 and parent:
                self._groups_of[(parent, int(code[-3:]))] = code
        self._villages: dict[str, list[str]] = {}  # name or stem -> village codes
        full: dict[str, list[str]] = {}
        for code, (name, level, _parent) in self.cells.items():
            if level != 2 or not name:
                continue
            full.setdefault(name, []).append(code)
            for alias in {name, village_stem(name)}:
                self._villages.setdefault(alias, []).append(code)
        self._town_of = {code: self.cells.get(parent or "", ("", 0, None))[0] for code, (_, lvl, parent)
                         in self.cells.items() if lvl == 2}
        # longest names first, so 大王庄村 is found before a shorter name inside it
        names = sorted(full, key=len, reverse=True)
        self._full = full
        self._pattern = re.compile("|".join(re.escape(n) for n in names)) if names else None
        stems = sorted({village_stem(n) for n in names}, key=len, reverse=True)
        self._stem_pattern = re.compile(r"(" + "|".join(re.escape(s) for s in stems) + r")(?=\d+组)") \
            if stems else None
        # a stem that opens the address (after the township): 东12号, 东村委会3组, 幸福里居委会5号
        self._lead_stem = re.compile(r"(" + "|".join(re.escape(s) for s in stems) + r")(?=村|社区|居委会|\d)") \
            if stems else None
        self._localities: dict[str, tuple[str | None, str, tuple[str, ...]]] = {}
        # address -> its building key (hub.resolve.placement.locus): a household's address is its members' too
        self.building_keys: dict[str, str | None] = {}
        towns = sorted({name for name, level, _ in self.cells.values() if level == 1 and name}, key=len, reverse=True)
        self._town_pattern = re.compile("|".join(re.escape(t) for t in towns)) if towns else None

    @classmethod
    def load(cls, session: Any) -> GridIndex:
        rows = session.execute(select(GridCell.code, GridCell.name, GridCell.level, GridCell.parent_code,
                                      GridCell.geometry).where(GridCell.retired.is_(False)))
        return cls([tuple(r) for r in rows])

    @property
    def _tree(self) -> shapely.STRtree | None:
        """Built at the first point looked up: a pass that places no point (one changed phone) skips it."""
        if self._built is None and self._geometries is not None:
            self._built = shapely.STRtree([shape(geom) for geom in self._geometries])
            self._geometries = None
        return self._built

    @property
    def empty(self) -> bool:
        return not self.cells

    def known(self, code: str | None) -> bool:
        return bool(code) and code in self.cells

    def level(self, code: str) -> int | None:
        cell = self.cells.get(code)
        return cell[1] if cell else None

    def name_of(self, code: str) -> str | None:
        cell = self.cells.get(code)
        return cell[0] if cell else None

    def group(self, village: str, number: int | None) -> str | None:
        return self._groups_of.get((village, number)) if number is not None else None

    def locate(self, lon: Any, lat: Any) -> Hit | None:
        """The group containing the point; tries the swapped reading when the written one fails."""
        x, y = _number(lon), _number(lat)
        if x is None or y is None or self._tree is None:
            return None
        for method, (px, py) in (("point", (x, y)), ("point_swapped", (y, x))):
            if not _in_range(px, py):
                continue
            found = self._tree.query(shapely.Point(px, py), predicate="intersects")
            if len(found):
                return Hit(self._codes[int(min(found))], method, px, py)
        return None

    def _pick(self, codes: list[str], context: str) -> str | None:
        if len(codes) == 1:
            return codes[0]
        named = [c for c in codes if self._town_of.get(c) and self._town_of[c] in context]
        return named[0] if len(named) == 1 else None

    def village_in_address(self, key: str) -> str | None:
        """The village a normalised address names: its full name, or its stem right before ``N组``."""
        if self._pattern is not None:
            for m in self._pattern.finditer(key):
                code = self._pick(self._full[m.group(0)], key[: m.start()])
                if code:
                    return code
        if self._stem_pattern is not None:
            for m in self._stem_pattern.finditer(key):
                code = self._pick(self._villages.get(m.group(1), []), key[: m.start()])
                if code:
                    return code
        return None

    def locality(self, key: str) -> tuple[str | None, str, tuple[str, ...]]:
        """(village, the rest, the villages the name could be) of a building key.

        The rest is the house within its village (``3组12号``): what follows the village's name
        and its committee word (村委会, 居委会), or what follows the township when no village is
        named. The village is None when no name is found, or when the name is shared by villages
        of several townships and the address does not say which (then the candidates list them).
        """
        if (known := self._localities.get(key)) is not None:
            return known
        answer = self._locality(key)
        if len(self._localities) < 500_000:
            self._localities[key] = answer
        return answer

    def _locality(self, key: str) -> tuple[str | None, str, tuple[str, ...]]:
        cut = 0
        if self._town_pattern is not None and (m := self._town_pattern.search(key)):
            cut = m.end()
        found: list[tuple[int, int, list[str]]] = []
        if self._pattern is not None and (m := self._pattern.search(key, cut)):
            found.append((m.start(), m.end(), self._full[m.group(0)]))
        stem = self._lead_stem.match(key, cut) if self._lead_stem is not None else None
        if stem is None and self._stem_pattern is not None:
            stem = self._stem_pattern.search(key, cut)
        if stem is not None:
            found.append((stem.start(), stem.end(), self._villages.get(stem.group(1), [])))
        if not found:
            return None, key[cut:], ()
        start, end, codes = min(found, key=lambda f: (f[0], -f[1]))  # the earliest, then the longest
        codes = list(dict.fromkeys(codes))
        rest = VILLAGE_SUFFIX.sub("", key[end:], count=1)
        return self._pick(codes, key[:start]), rest, tuple(codes)

    def village_of(self, code: str | None) -> str | None:
        """The level-2 grid a known code is or lies in."""
        if not code or code not in self.cells:
            return None
        level = self.cells[code][1]
        if level == 2:
            return code
        if level == 3:
            return self.cells[code][2] or code[:12]
        return None

    def village_named(self, name: str | None, township: str | None = None) -> str | None:
        """A roster's 所属村(社区): ``东村``, ``东``, ``幸福里社区``, ``幸福里居委会`` or ``唐山镇东村``;
        None when ambiguous."""
        if not name:
            return None
        text = re.sub(r"\s+", "", name)
        codes = self._villages.get(text) or self._villages.get(village_stem(text)) or []
        if not codes:  # the township written in front, or the committee after the name
            village, _, candidates = self.locality(text)
            if village is not None or not candidates:
                return village
            codes = list(candidates)
        return self._pick(list(dict.fromkeys(codes)), township or "")
