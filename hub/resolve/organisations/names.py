"""Organisation names as departments write them, reduced to a comparable core.

Departments write one firm as ``石家庄市藁城区华泰机械制造有限公司``, ``藁城区华泰机械制造``,
``廉州镇华泰机械制造有限公司（城东店）`` or ``华泰机械制造 有限公司``. The canonical form keeps the
core (``华泰机械制造``) and sets aside what varies: the administrative divisions in front, the legal
form at the end, bracketed branch or location notes, spaces, full-width and traditional characters.

Division names come from data, never from a pattern (``超市`` ends in 市 too): every province and
prefecture-level city from the GB/T 2260 table python-stdnum ships (``stdnum/cn/loc.dat``), the
counties of the county's own province (full names; short forms such as ``藁城`` only for the
county itself), and the county's townships from the grid registry.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

_BRACKETS = re.compile(r"[(\[【〔（][^()\[\]【】〔〕（）]*[)\]】〕）]")
_PUNCT = re.compile(r"[\s\W_]+")
LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "个体工商户", "个人独资企业", "个体户", "公司")
_PROVINCE_TAILS = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市")
_CITY_TAILS = ("自治州", "地区", "市", "盟")
_COUNTY_TAILS = ("自治县", "区", "县", "市", "旗")
_TOWNSHIP_TAILS = ("街道办事处", "街道", "镇", "乡")
# public bodies every township has: the core alone does not say which, so divisions must agree
GENERIC = frozenset({"人民政府", "派出所", "中心卫生院", "卫生院", "中心小学", "小学", "初级中学", "中学", "敬老院",
                     "老年人协会", "民兵训练基地", "加油站", "财政所", "司法所", "供电所", "邮政所", "农业服务中心",
                     "综合文化站", "便民服务中心", "社会事务办公室"})
LEVELS = ("province", "city", "county", "township")


def fold(text: str | None) -> str:
    """NFKC (full-width to half-width), traditional to simplified, upper-case Latin."""
    if not text:
        return ""
    from hub.quality.simplified import to_simplified

    return to_simplified(unicodedata.normalize("NFKC", str(text))).upper()


@cache
def _gbt2260() -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """(province code 2 → name, city code 4 → name, county code 6 → names, newest first) from stdnum."""
    import stdnum.cn

    provinces: dict[str, str] = {}
    cities: dict[str, str] = {}
    counties: dict[str, list[str]] = {}
    prefix = ""
    for line in (Path(stdnum.cn.__file__).parent / "loc.dat").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, _, rest = line.strip().partition(" ")
        value = re.sub(r"^\[[^]]*\]", "", rest.partition('="')[2].rstrip('"'))
        if not line.startswith(" "):
            prefix, provinces[code] = code, value
        elif code.endswith("0000"):
            continue
        elif code.endswith("00"):
            cities[prefix + code[:2]] = value
        elif value and value != "市辖区":
            counties.setdefault(prefix + code, []).append(value)
    return provinces, cities, counties


def _short(name: str, tails: tuple[str, ...]) -> str | None:
    for tail in tails:
        if name.endswith(tail) and len(name) - len(tail) >= 2:
            return name[: -len(tail)]
    return None


@dataclass
class Divisions:
    """The division names that may lead an organisation's name, each → its (level, short name) options."""

    names: dict[str, set[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def of_county(cls, townships: Iterable[tuple[str, str]] = ()) -> Divisions:
        """From the grid registry's townships (code, name); their codes name the county and province.
        A division is known by its level and short name, so former names (藁城市 → 藁城区) agree."""
        provinces, cities, counties = _gbt2260()
        towns = [(c, fold(n)) for c, n in townships if c and n]
        own = {c[:6] for c, _ in towns}
        home = {c[:2] for c in own}
        out = cls()
        for name in provinces.values():
            out.add(name, "province", _short(name, _PROVINCE_TAILS), short_too=True)
        for code, name in cities.items():  # a city's short name (金华) is a common firm word elsewhere
            out.add(name, "city", _short(name, _CITY_TAILS), short_too=code[:2] in home)
        own_short = {_short(n, _COUNTY_TAILS) for c in own for n in counties.get(c, ())} - {None}
        for code, names in counties.items():
            if code[:2] in home:
                for name in names:
                    short = _short(name, _COUNTY_TAILS)
                    out.add(name, "county", short, short_too=code in own or short in own_short)
        for _code, name in towns:
            out.add(name, "township", _short(name, _TOWNSHIP_TAILS), short_too=True)
        return out

    def add(self, name: str, level: str, short: str | None, short_too: bool) -> None:
        self.__dict__.pop("longest", None)  # measured again after a name is added
        for n in (name, short if short_too else None):
            if n:
                self.names.setdefault(n, set()).add((level, short or name))

    @cached_property
    def longest(self) -> int:
        """Measured once, not at each of the county's names canonical() reads (hundreds of divisions)."""
        return max(map(len, self.names), default=0)


@dataclass(frozen=True)
class OrgName:
    text: str  # the whole name, folded, without spaces or punctuation
    core: str  # without divisions in front, legal form, bracket notes
    places: tuple[tuple[str, str], ...] = ()  # (level, short name) of each division the name began with, if certain
    form: str | None = None
    note: str | None = None

    @property
    def generic(self) -> bool:
        return self.core in GENERIC or len(self.core) < 2

    def compatible(self, other: OrgName) -> bool:
        """No level named differently by the two (唐山镇人民政府 is not 新城镇人民政府); a generic core
        (a public body every township has) needs the same divisions on both."""
        mine, theirs = dict(self.places), dict(other.places)
        if any(theirs.get(level, code) != code for level, code in mine.items()):
            return False
        if not (self.generic or other.generic):
            return True
        return mine == theirs or ("township" in mine and "township" in theirs)  # 廉州镇人民政府, 藁城区廉州镇人民政府


def canonical(name: str | None, divisions: Divisions | None = None) -> OrgName | None:
    """The comparable form of a name; None when nothing is left of it."""
    s = fold(name)
    notes = _BRACKETS.findall(s)
    s = _PUNCT.sub("", _BRACKETS.sub("", s))
    if not s:
        return None
    text, core = s, s
    places: list[tuple[str, str]] = []
    names = divisions.names if divisions else {}
    longest = divisions.longest if divisions else 0
    stripped = True
    while stripped and names:
        stripped = False
        for size in range(min(longest, len(core) - 2), 1, -1):  # at least two characters stay
            options = names.get(core[:size])
            if options:
                core = core[size:]
                if len(options) == 1:
                    places.append(next(iter(options)))
                stripped = True
                break
    form = None
    for legal in LEGAL_FORMS:
        if core.endswith(legal) and len(core) > len(legal) + 1:
            core, form = core[: -len(legal)], legal
            break
    note = _PUNCT.sub("", "".join(notes)) or None
    if note and note in LEGAL_FORMS:
        form, note = form or note, None
    return OrgName(text, core, tuple(sorted(set(places))), form, note)


@cache
def _sounds(ch: str) -> frozenset[str]:
    """Every reading of a character (heteronyms included: 曾 is ceng and zeng), tones ignored."""
    from hub.resolve.persons.probabilistic import _reader

    _reader()  # pypinyin imported without its phrase dictionary: a single character never consults it
    from pypinyin import Style, pinyin

    return frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


def _alike(x: str, y: str) -> int | None:
    """0 for the same character, 1 for another of the same sound, None otherwise."""
    if x == y:
        return 0
    han = "\u4e00" <= x <= "\u9fff" and "\u4e00" <= y <= "\u9fff"
    return 1 if han and _sounds(x) & _sounds(y) else None


def same_sound_slip(a: str, b: str) -> bool:
    """One character slipped to another of the same sound (宏运/鸿运), names otherwise equal."""
    if len(a) != len(b) or len(a) < 3 or a == b:
        return False
    # equal characters cost nothing: exactly one position may differ, and its pair must sound alike
    differ = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(differ) == 1 and _alike(*differ[0]) == 1


def _embedding(short: str, long: str) -> int | None:
    """Fewest same-sound slips with which ``short`` is ``long`` with characters left out, its first two
    characters (the firm's own word: 恒通, 王记) kept in place; None when it is not."""
    if len(short) < 2 or len(long) < 2 or _alike(short[0], long[0]) is None or _alike(short[1], long[1]) is None:
        return None
    inf = len(short) + 1
    best = [0] + [inf] * len(short)  # best[k]: slips to embed short[:k] in the prefix of long seen so far
    for j, ch in enumerate(long):
        for k in range(min(len(short), j + 1), 0, -1):
            cost = _alike(short[k - 1], ch)
            if cost is not None and best[k - 1] + cost < best[k] and (k > 2 or k - 1 == j):
                best[k] = best[k - 1] + cost
    return best[len(short)] if best[len(short)] < inf else None


def abbreviation(a: str, b: str) -> str | None:
    """The name people use: one core is the other with characters left out (康乐足浴 for 康乐足浴中心,
    腾飞汽配 for 腾飞汽车配件), long enough to name a firm rather than a trade. ``abbreviation``, or
    ``abbreviation_sound`` when one character of it also slipped to one of the same sound."""
    short, long = sorted((a, b), key=len)
    if len(short) == len(long) or len(short) < 3:
        return None
    if len(short) == 3 and not (long.startswith(short) and len(long) - len(short) <= 2):
        return None
    # a character of the short name found nowhere in the long one can only be placed by a slip, and more
    # than one slip is never the name people use: most pairs a search meets end here, without the embedding
    if sum(ch not in long for ch in short) > 1:
        return None
    slips = _embedding(short, long)
    return None if slips is None or slips > 1 or (slips and len(short) < 4) else (
        "abbreviation" if slips == 0 else "abbreviation_sound")


def sound_key(core: str) -> list[str]:
    """Blocking keys: the readings of the first two characters, so look-alike names meet."""
    if len(core) < 2:
        return []
    return [f"{x}|{y}" for x in sorted(_sounds(core[0]) or {core[0]}) for y in sorted(_sounds(core[1]) or {core[1]})]


def relation(a: OrgName, b: OrgName) -> str | None:
    """How two canonical names compare: ``same_text``, ``same_core``, ``abbreviation``,
    ``abbreviation_sound``, ``same_sound`` or None (not the same name as far as the name can tell)."""
    if not a.compatible(b):
        return None
    if a.text == b.text:
        return "same_text"
    if a.core == b.core:
        return "same_core"
    if a.generic or b.generic:
        return None
    if same_sound_slip(a.core, b.core):
        return "same_sound"
    return abbreviation(a.core, b.core)
