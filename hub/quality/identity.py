"""Normalisers for identity values: citizen IDs, credit codes, phones, names, gender.

Hard rules (length, characters, check character, birth date) raise ``Invalid`` and quarantine
the row; nothing is repaired by guessing. A 15-digit first-generation ID is upgraded to 18
digits (century 19 and a computed check character): that is the standard's own rule, not a guess.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from stdnum.cn import ric, uscc

from hub.quality.invalid import Invalid
from hub.quality.simplified import to_simplified

_NUMERIC_CELL = re.compile(r"^\d+(\.\d+)?[eE][+-]?\d+$|^\d+\.\d+$")
_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def _fold(value: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value)))


def citizen_id(value: Any) -> str | None:
    """Canonical 18-character ID, upper-case X; raises Invalid with the quarantine reason."""
    if value is None:
        return None
    if isinstance(value, float):
        raise Invalid("id_numeric_cell", "ID stored as a number: digits lost")
    s = _fold(value).upper()
    if not s:
        return None
    if _NUMERIC_CELL.match(s):
        raise Invalid("id_numeric_cell", "ID stored as a number: digits lost")
    if _ID15.match(s):
        body = s[:6] + "19" + s[6:]
        s = body + ric.calc_check_digit(body + "0")  # stdnum wants a placeholder check character
    if not _ID18.match(s):
        raise Invalid("id_format", f"{len(s)} characters, expected 18 (or 15) digits")
    try:
        dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        raise Invalid("id_birth_date", "impossible birth date inside the ID") from None
    if ric.calc_check_digit(s) != s[17]:
        raise Invalid("id_checksum", "check character does not match")
    return s


def id_birth_date(value: str) -> dt.date:
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def credit_code(value: Any) -> str | None:
    """Unified social credit code (GB 32100-2015): format then check character."""
    if value is None:
        return None
    s = _fold(value).upper()
    if not s:
        return None
    if not _USCC.match(s):
        raise Invalid("credit_code_format", f"{len(s)} characters")
    if uscc.calc_check_digit(s[:17]) != s[17]:
        raise Invalid("credit_code_checksum", "check character does not match")
    return s


def phone(value: Any) -> str | None:
    """Digits only; +86/0086 dropped; an 11-digit mobile or a 7-12 digit landline."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", str(value)))
    if not s:
        return None
    s = re.sub(r"^(\+86|0086)", "", s)
    if re.fullmatch(r"1[3-9]\d{9}", s) or re.fullmatch(r"0\d{9,11}|\d{7,8}", s):
        return s
    raise Invalid("phone_format", f"{len(s)} characters")


def name(value: Any) -> str | None:
    """Person names: NFKC, no spaces (``张 三`` is 张三), traditional to simplified, ``·`` kept."""
    if value is None:
        return None
    s = _fold(value).replace("•", "·").replace(".", "·")
    return to_simplified(s) if s else None


_GENDER = {"1": "M", "男": "M", "M": "M", "MALE": "M", "2": "F", "女": "F", "F": "F", "FEMALE": "F",
           "9": "U", "0": "U", "未知": "U", "U": "U", "UNKNOWN": "U"}


def gender(value: Any) -> str | None:
    if value is None:
        return None
    s = _fold(value).upper()
    if not s:
        return None
    if isinstance(value, float) and value.is_integer():
        s = str(int(value))
    try:
        return _GENDER[s]
    except KeyError:
        raise Invalid("enum", f"unknown gender code {s[:8]!r}") from None


#: 与户主关系 as the population registry codes it (legacy-systems.md: 02 head, 10 spouse, 20 child, 30 grandchild,
#: 50 parent, 99 other), and as rosters and clerks write it in words.
_RELATION_WORDS = {
    "02": ("户主", "本人"),
    "10": ("配偶", "夫", "妻", "丈夫", "妻子", "夫妻"),
    "20": ("子女", "子", "女", "儿子", "女儿", "长子", "次子", "长女", "次女", "养子", "养女", "继子", "继女"),
    "30": ("孙子女", "孙子", "孙女", "外孙子女", "外孙子", "外孙女", "孙"),
    "50": ("父母", "父亲", "母亲", "父", "母", "公婆", "岳父母"),
    "99": ("其他", "其它", "其他亲属", "非亲属"),
}
#: each code's name as a register prints it (户主, 配偶, 子女, 孙子女, 父母, 其他)
RELATION_NAMES = {code: words[0] for code, words in _RELATION_WORDS.items()}
_RELATION = {code: code for code in _RELATION_WORDS} | {
    word: code for code, words in _RELATION_WORDS.items() for word in words}


def relation(value: Any) -> str | None:
    """The registry's two-digit code, from the code (``2`` or ``02``) or the word a roster uses (``孙子女``):
    one column type for every source, and nothing longer than the code reaches the store."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = _fold(value)
    if not s:
        return None
    found = _RELATION.get(s.zfill(2) if s.isdigit() else s)
    if found is None:
        raise Invalid("enum", f"unknown relation to the household head {s[:8]!r}")
    return found


_TRUE = {"是", "Y", "YES", "TRUE", "1", "T", "√", "✓", "✔"}  # a tick in a 是否 column is a yes
_FALSE = {"否", "N", "NO", "FALSE", "0", "F", "×", "✗", "✘"}


def boolean(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    s = _fold(value).upper()
    if not s:
        return None
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise Invalid("enum", f"not a yes/no value: {s[:8]!r}")
