"""Address normalisation: the same house written by five clerks gets one key.

The rules, applied in this order, each because a real export does it:

1. NFKC (full-width digits and letters become half-width) and traditional → simplified.
2. ``3-2-101`` (block-entrance-room shorthand) becomes ``3号楼2单元101室``; ``3#`` becomes ``3号楼``.
3. Spaces and punctuation go (``，。、·-—()（）`` …): they carry nothing in a Chinese address.
4. Chinese numerals before a unit word become Arabic (``三组`` → ``3组``, ``十二号`` → ``12号``), ``第`` goes,
   leading zeros go (``007号`` → ``7号``).
5. Unit words are unified: 村民小组/居民小组/小组 → 组; 栋/幢/座/号栋/号幢/号座 → 号楼; 号房/房 → 室.

``building_key`` then drops what names a dwelling inside a building (单元, 层, 室, 户) and the
administrative prefix above the township (省, 市, 区/县), which some systems write and others omit,
and writes a house number one way: ``12号``, ``12号楼``, ``12号院`` and ``十二号`` are one number.
The key names a house only within its village: :mod:`hub.resolve.placement` adds the village.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from hub.quality.simplified import to_simplified

_PUNCT = re.compile(r"[\s,，.。、;；:：·・•'\"“”‘’()（）\[\]【】<>《》{}_~～/\\|—–\-]+")
_SHORTHAND = re.compile(r"(\d+)\s*[-—–]\s*(\d+)\s*[-—–]\s*(\d+)(?:室|号)?$")
_HASH_BLOCK = re.compile(r"(\d+)\s*#\s*(?:楼)?")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT_WORDS = "村民小组|居民小组|小组|组|号楼|号栋|号幢|号座|号院|号房|号|栋|幢|座|单元|室|层|楼|户|房"
_CN_NUMBER = re.compile(rf"第?([零〇一二两三四五六七八九十百]+)(?={_UNIT_WORDS})")
_ORDINAL = re.compile(rf"第(\d+)(?={_UNIT_WORDS})")
_LEADING_ZEROS = re.compile(r"(?<!\d)0+(?=\d)")
# (characters one of which a match needs, pattern, replacement): most addresses need none of them, and
# a regex scan that cannot match is the bulk of normalising (each guard is implied by its pattern)
_UNIFY = (
    (frozenset("小"), re.compile(r"(\d+)(?:村民小组|居民小组|小组)"), r"\1组"),
    (frozenset("栋幢座"), re.compile(r"(\d+)(?:号栋|号幢|号座|栋|幢|座)"), r"\1号楼"),
    (frozenset("房"), re.compile(r"(\d+)(?:号房|房)(?!屋)"), r"\1室"),
)
_CN_CHARS = frozenset("零〇一二两三四五六七八九十百")
_DASHES = frozenset("-—–")
_DWELLING_CHARS = frozenset("单层室户")
# above the township: 河北省 / 唐山市 / 路北区 (but never a 社区, 小区, 园区 or 开发区 in the address itself)
_ADMIN_PREFIX = re.compile(
    r"^(?:[^省市]{1,7}?(?:省|自治区))?(?:[^省市县]{1,7}?市)?(?:[^省市县区]{1,7}?(?<![社小园发景])(?:区|县|旗))?")
_DWELLING = re.compile(r"(?:\d+单元.*|\d+层.*|\d+室|\d+户)$")
_GROUP = re.compile(r"(\d+)组")
_HOUSE_NUMBER = re.compile(r"(\d+)号(?:楼|院)")
# how clerks write the village's committee after its name: 东村村委会, 幸福里居委会, 东村村民委员会
VILLAGE_SUFFIX = re.compile(r"^(?:社区居委会|社区居民委员会|村民委员会|居民委员会|村委会|居委会|社区|村)")


def chinese_number(text: str) -> int:
    """十二 → 12, 二十 → 20, 一百零五 → 105, 三 → 3; digit strings like 一〇五 read positionally."""
    if "十" not in text and "百" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, current = 0, 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _CN_DIGITS[ch]
    return total + current


@lru_cache(maxsize=200_000)
def normalize_address(value: str | None) -> str | None:
    """The canonical full form of an address (dwelling included), or None when nothing is left."""
    if value is None:
        return None
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if not s:
        return None
    s = to_simplified(s).upper()
    # each step runs only when the text holds a character its pattern needs (same result, a third the time)
    if not _DASHES.isdisjoint(s):
        s = _SHORTHAND.sub(r"\1号楼\2单元\3室", s)
    if "#" in s:
        s = _HASH_BLOCK.sub(r"\1号楼", s)
    s = _PUNCT.sub("", s)
    if not _CN_CHARS.isdisjoint(s):
        s = _CN_NUMBER.sub(lambda m: str(chinese_number(m.group(1))), s)
    if "第" in s:
        s = _ORDINAL.sub(r"\1", s)
    if "0" in s:
        s = _LEADING_ZEROS.sub("", s)
    for needs, pattern, repl in _UNIFY:
        if not needs.isdisjoint(s):
            s = pattern.sub(repl, s)
    return s or None


def strip_admin_prefix(normalized: str) -> str:
    """Drop 省/市/区县 in front of the township; keep the address if nothing would remain."""
    rest = _ADMIN_PREFIX.sub("", normalized, count=1)
    return rest or normalized


@lru_cache(maxsize=200_000)
def building_key(value: str | None) -> str | None:
    """The building an address is in: normalised, no administrative prefix, no 单元/层/室/户."""
    s = normalize_address(value)
    if s is None:
        return None
    s = strip_admin_prefix(s)
    if not _DWELLING_CHARS.isdisjoint(s):
        s = _DWELLING.sub("", s)
    if "号楼" in s or "号院" in s:
        s = _HOUSE_NUMBER.sub(r"\1号", s)
    return s or None


def group_number(key: str, after: str | None = None) -> int | None:
    """The 组 number written in an address (``…东村3组17号`` → 3), looked for after ``after`` when given."""
    if after:
        at = key.find(after)
        if at < 0:
            return None
        key = key[at + len(after):]
    m = _GROUP.search(key)
    return int(m.group(1)) if m else None


def village_stem(name: str) -> str:
    """东村 → 东, 幸福里社区 → 幸福里: how clerks often write a village."""
    for suffix in ("社区", "村委会", "居委会", "村"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
