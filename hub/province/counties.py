"""County division codes: which county a source (and so every row it loads) belongs to."""

from __future__ import annotations

import re

#: a county-qualified source name: ``130182.population``
_QUALIFIED = re.compile(r"^(\d{6})\.(.+)$")
#: the county code of rows from a source that names no county (the single-county default)
NO_COUNTY = ""


def county_of(source: str) -> str:
    """The 6-digit division code in front of a county-qualified source name, else ``NO_COUNTY``."""
    match = _QUALIFIED.match(source)
    return match.group(1) if match else NO_COUNTY


def qualified(county: str, source: str) -> str:
    """The store-wide name of a county's source."""
    return f"{county}.{source}"


def valid_code(code: str) -> bool:
    """A county-level division code: six digits, not a province or prefecture (``..00``)."""
    return bool(re.fullmatch(r"\d{6}", code)) and not code.endswith("00")
