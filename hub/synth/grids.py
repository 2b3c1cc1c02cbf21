"""The three-level grid tree (township → village/community → group) and its polygons.

Grids are axis-aligned cells that tile their parent exactly, so every group nests in
its village and every village in its township, and a random point in a group's cell
is inside that group and no other.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from hub.synth import names

COUNTY_PREFIX = "130203"
TOWNSHIP_NAMES = ["唐山镇", "果园镇", "机场镇", "韩城镇", "女织寨镇", "钱营镇", "大里镇", "新军屯镇"]
VILLAGE_STEMS = ["东", "西", "南", "北", "前", "后", "大王庄", "小李庄", "杨家", "刘家营", "孙家坨", "河头",
                 "新立庄", "高各庄", "马家沟", "邢家洼", "龙王庙", "石桥", "双庙", "三里屯"]
COMMUNITY_NAMES = ["幸福里", "建设路", "新华", "光明", "和平"]
GROUP_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
ORIGIN = (118.12, 39.60)
TOWNSHIP_SIZE = (0.12, 0.08)


@dataclass(slots=True)
class Grid:
    code: str
    name: str
    level: int
    parent: str | None
    box: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat
    manager: str | None = None
    phone: str | None = None
    is_community: bool = False
    children: list[Grid] = field(default_factory=list)

    @property
    def short_name(self) -> str:
        """The village name without its 村/社区 suffix, as clerks often type it."""
        for suffix in ("社区", "村"):
            if self.name.endswith(suffix):
                return self.name[: -len(suffix)]
        return self.name

    def random_point(self, rng: random.Random) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        mx, my = (x1 - x0) * 0.05, (y1 - y0) * 0.05
        return round(rng.uniform(x0 + mx, x1 - mx), 6), round(rng.uniform(y0 + my, y1 - my), 6)


def _tile(box: tuple[float, float, float, float], n: int) -> list[tuple[float, float, float, float]]:
    """Cut a box into n cells in rows of near-equal length, row by row from the north-west."""
    rows = max(1, round(math.sqrt(n)))
    per_row = [n // rows + (1 if r < n % rows else 0) for r in range(rows)]
    x0, y0, x1, y1 = box
    h = (y1 - y0) / rows
    cells = []
    for r, count in enumerate(per_row):
        top = y1 - r * h
        w = (x1 - x0) / count
        for c in range(count):
            cells.append((round(x0 + c * w, 6), round(top - h, 6), round(x0 + (c + 1) * w, 6), round(top, 6)))
    return cells


def _group_counts(villages: int, groups: int) -> list[int]:
    return [groups // villages + (1 if i < groups % villages else 0) for i in range(villages)]


def build_grids(rng: random.Random, townships: int = 1, villages: int = 12, communities: int = 1,
                groups: int = 115, county: str = COUNTY_PREFIX, county_index: int = 0) -> list[Grid]:
    """The default plan: per township 12 villages + 1 community, 115 groups in all (codes under ``county``).

    The ``county_index``-th county of a province lies north of the ones before and names its
    townships after theirs, so no two counties share a polygon or a township name.
    """
    out: list[Grid] = []
    y0 = ORIGIN[1] + county_index * TOWNSHIP_SIZE[1]
    for t in range(townships):
        tcode = f"{county}{101 + t:03d}000"
        x0 = ORIGIN[0] + t * TOWNSHIP_SIZE[0]
        tbox = (round(x0, 6), y0, round(x0 + TOWNSHIP_SIZE[0], 6), y0 + TOWNSHIP_SIZE[1])
        k = t + county_index * townships
        tname = TOWNSHIP_NAMES[k % len(TOWNSHIP_NAMES)] + ("" if k < len(TOWNSHIP_NAMES) else str(k))
        town = Grid(tcode, tname, 1, None, tbox, *_manager(rng))
        out.append(town)
        n = villages + communities
        for i, (vbox, ngroups) in enumerate(zip(_tile(tbox, n), _group_counts(n, groups), strict=True)):
            community = i >= villages
            if community:
                vcode = f"{tcode[:9]}{1 + i - villages:03d}"
                vname = COMMUNITY_NAMES[(i - villages) % len(COMMUNITY_NAMES)] + "社区"
            else:
                vcode = f"{tcode[:9]}{201 + i:03d}"
                vname = VILLAGE_STEMS[i % len(VILLAGE_STEMS)] + "村"
            village = Grid(vcode, vname, 2, tcode, vbox, *_manager(rng), is_community=community)
            town.children.append(village)
            out.append(village)
            kind = "居民小组" if community else "村民小组"
            for g, gbox in enumerate(_tile(vbox, ngroups)):
                numeral = GROUP_NUMERALS[g] if g < len(GROUP_NUMERALS) else str(g + 1)
                group = Grid(f"{vcode}{g + 1:03d}", f"{vname}第{numeral}{kind}", 3, vcode, gbox,
                             *_manager(rng), is_community=community)
                village.children.append(group)
                out.append(group)
    return out


def _manager(rng: random.Random) -> tuple[str | None, str | None]:
    if rng.random() < 0.1:
        return None, None
    sex = rng.choice("12")
    return names.surname(rng) + names.given_name(rng, sex), (names.phone(rng) if rng.random() < 0.9 else None)


def write_geojson(grids: list[Grid], path: Path) -> None:
    features = []
    for g in grids:
        x0, y0, x1, y1 = g.box
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        features.append({
            "type": "Feature",
            "properties": {"code": g.code, "name": g.name, "level": g.level, "parent": g.parent,
                           "manager": g.manager, "phone": g.phone},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        })
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
