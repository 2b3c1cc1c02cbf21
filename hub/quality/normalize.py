"""Value normalisers named by a contract column's ``normalize`` key.

Each takes the raw value (str/number/None) and returns the canonical value, or raises
``Invalid(reason, detail)`` when the value cannot be read at all.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from hub.quality.invalid import Invalid  # its home; still importable from here


def text(value: Any) -> str | None:
    """Trimmed, full-width folded to half-width (NFKC), inner runs of spaces collapsed."""
    if value is None:
        return None
    s = unicodedata.normalize("NFKC", str(value)).strip()
    s = re.sub(r"\s+", " ", s)
    return s or None


def code(value: Any) -> str | None:
    """Identifiers: no spaces at all; an integer-looking float (``12.0``) loses its ``.0``."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = unicodedata.normalize("NFKC", str(value))
    s = re.sub(r"\s+", "", s)
    return s or None


def integer(value: Any) -> int | None:
    s = text(value)
    if s is None:
        return None
    try:
        f = float(s.replace(",", ""))
    except ValueError:
        raise Invalid("number_format", s) from None
    if not f.is_integer():
        raise Invalid("number_format", s)
    return int(f)


def number(value: Any) -> float | None:
    s = text(value)
    if s is None:
        return None
    try:
        return float(s.replace(",", ""))
    except ValueError:
        raise Invalid("number_format", s) from None


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4}) ?年 ?(\d{1,2}) ?月 ?(\d{1,2}) ?日?$"),  # a clerk may space it: 2026 年 3 月 5 日
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
EXCEL_EPOCH = dt.date(1899, 12, 30)


def date(value: Any) -> dt.date | None:
    """``2026-03-05``, ``2026/3/5``, ``2026.3.5``, ``2026年3月5日``, ``20260305``, Excel serials.

    A serial with a fraction (``46086.5``: a date-time cell shown as General) is its day.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise Invalid("date_format", str(value))
    s = text(value)
    if s is None:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(s)
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise Invalid("date_format", s) from None
    if re.fullmatch(r"\d{5}(\.\d+)?", s):
        return EXCEL_EPOCH + dt.timedelta(days=int(float(s)))
    raise Invalid("date_format", s)


#: the departments' clock: their systems keep Beijing time without a zone (population gxsj, fire-safety
#: 更新时间, mediation ts), so a zoned stamp (public-security's updatedAt, ``…+08:00`` or ``…Z``) is read
#: on that clock too; times of all five then compare ("the most recent phone"), and a deadline counted
#: in working days starts on the local day, not on a UTC date eight hours behind
SOURCE_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


def on_source_clock(value: dt.datetime) -> dt.datetime:
    """Naive, on the departments' clock (a zoned value converted, a naive one taken as already on it)."""
    return value if value.tzinfo is None else value.astimezone(SOURCE_TZ).replace(tzinfo=None)


def datetime(value: Any) -> dt.datetime | None:
    """A naive timestamp on the departments' clock (Beijing time); zoned input is converted to it."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return on_source_clock(value)
    s = text(value)
    if s is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        # `2026/3/5 08:00:00`, `2026/03/05 08:00:00.0` (JDBC), `20260305080000`: vendor layouts keep their time
        m = _DATETIME.match(s) or _DATETIME_COMPACT.match(s)
        if m:
            *parts, fraction = m.groups()
            try:
                return dt.datetime(*(int(g or 0) for g in parts), int((fraction or "0").ljust(6, "0")))
            except ValueError:
                raise Invalid("date_format", s) from None
        d = date(s)
        return dt.datetime(d.year, d.month, d.day) if d else None
    return on_source_clock(parsed)


_DATETIME = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")
_DATETIME_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})()$")


def keep(value: Any) -> Any:
    """Pass through untouched (e.g. a GeoJSON geometry serialised by the connector)."""
    return value


NORMALIZERS: dict[str, Callable[[Any], Any]] = {
    "keep": keep,
    "text": text,
    "code": code,
    "integer": integer,
    "number": number,
    "date": date,
    "datetime": datetime,
}


def normalizer(kind: str | None) -> Callable[[Any], Any]:
    if kind is None:
        return text
    if not _IDENTITY_LOADED:
        _load_identity()
    try:
        return NORMALIZERS[kind]
    except KeyError:
        raise KeyError(f"unknown normalizer {kind!r}") from None


_IDENTITY_LOADED = False


def _load_identity() -> None:
    """Identity and geometry normalisers live in their own modules (they need stdnum, OpenCC, shapely)."""
    global _IDENTITY_LOADED
    from hub.quality import identity
    from hub.quality.geometry import geometry

    NORMALIZERS.update({"citizen_id": identity.citizen_id, "credit_code": identity.credit_code,
                        "phone": identity.phone, "name": identity.name, "gender": identity.gender, "relation": identity.relation,
                        "bool": identity.boolean, "geometry": geometry})
    _IDENTITY_LOADED = True
