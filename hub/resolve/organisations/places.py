"""Where an organisation mention sits: the evidence that tells two namesakes apart.

A unit's own grid and address; an employer's employee's home; a dispute party's case. Finest
level first: grid, village code, village named in the address, township (from the grid code through
the registry, from the address, or from the division the organisation's name began with).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from hub.resolve.address import building_key
from hub.resolve.organisations.names import OrgName, fold
from hub.resolve.persons.records import Mention

PLACE_LEVELS = ("grid", "village_code", "village", "township")  # finest first
NEAR = ("grid", "village_code", "village")  # a place this fine ties a look-alike name to its firm
Places = dict[str, set[str]]
_PUNCT = re.compile(r"[\s\W_]+")
_VILLAGE = re.compile(r"(?:^.*?(?:镇|乡|街道办事处|街道))?(.+?(?:村|社区|居委会))")
_TOWNSHIP = re.compile(r"^(.{1,12}?(?:镇|乡|街道))")


def _plain(name: str | None) -> str | None:
    return _PUNCT.sub("", fold(name)) or None


def township_key(name: str) -> str:
    """唐山镇 and 唐山镇街道办事处-style spellings compare equal; a registry name goes through the same."""
    return _plain(name.replace("街道办事处", "街道")) or name


def township_names(registry: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The grid registry's townships: 9-digit code part → normalised name."""
    return {code[:9]: township_key(name) for code, name in registry if code and name}


def places(m: Mention, townships: Mapping[str, str] | None = None, canon: OrgName | None = None) -> Places:
    """Where a mention sits, per level. ``townships`` names a grid code's 9-digit township part."""
    prefix = "home_" if m.link_key.endswith("#employer") else "case_" if m.attrs.get("party_kind") else ""
    out: Places = {level: set() for level in PLACE_LEVELS}
    code = re.sub(r"\D", "", str(m.attrs.get(prefix + "grid_code") or ""))
    if len(code) >= 12:
        out["grid"].add(code)
        out["village_code"].add(code[:12])
        if townships and (town := townships.get(code[:9])):
            out["township"].add(town)
    key = building_key(m.attrs.get(prefix + "address"))
    if key and (hit := _VILLAGE.match(key)):
        out["village"].add(hit.group(1))
    if key and (hit := _TOWNSHIP.match(key)):
        out["township"].add(township_key(hit.group(1)))
    village = _plain(m.attrs.get(prefix + "village"))
    if village and village.endswith(("村", "社区", "居委会")):
        out["village"].add(village)
    if canon is not None and townships:  # 廉州镇华泰机械: the name itself says which township
        known = {_short(t): t for t in townships.values()}
        out["township"] |= {known[name] for level, name in canon.places if level == "township" and name in known}
    return out


def _short(town: str) -> str:
    for tail in ("街道", "镇", "乡"):
        if town.endswith(tail) and len(town) - len(tail) >= 2:
            return town[: -len(tail)]
    return town


def merge(into: Places, more: Places) -> None:
    for level, keys in more.items():
        into.setdefault(level, set()).update(keys)


def near(mine: Places, theirs: Places) -> str | None:
    """The finest level at which two places are the same village or closer, if any."""
    return next((level for level in NEAR if mine.get(level, set()) & theirs.get(level, set())), None)


def placed(mine: Places, cands: dict[int, Places]) -> int | None:
    """The one candidate whose place fits the mention's at the finest level where any fits."""
    left = dict(cands)
    for level in PLACE_LEVELS:
        if level == "village" and mine["township"]:  # a 东村 in another township is another 东村
            left = {r: p for r, p in left.items() if not p["township"] or mine["township"] & p["township"]}
        fit = [r for r, p in left.items() if mine[level] & p[level]]
        if len(fit) == 1:
            return fit[0]
        if fit:
            return None  # two fit equally well: do not guess
        if level == "village_code":  # a unit in another village by code is not made one by its address
            left = {r: p for r, p in left.items() if not (mine[level] and p[level])}
    return None
