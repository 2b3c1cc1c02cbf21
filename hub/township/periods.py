"""Assessment periods: a month (``2026-07``) or a quarter (``2026Q3``), in Beijing dates."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from hub.errors import HubError

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.I)
_MONTH = re.compile(r"^(\d{4})-?(?:M)?(0[1-9]|1[0-2])$", re.I)


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    label: str

    @property
    def is_quarter(self) -> bool:
        return "Q" in self.label

    @classmethod
    def parse(cls, text: str) -> Period:
        text = (text or "").strip()
        if m := _QUARTER.match(text):
            return quarter(int(m.group(1)), int(m.group(2)))
        if m := _MONTH.match(text):
            return month(int(m.group(1)), int(m.group(2)))
        raise HubError(f"period {text!r}: expected a quarter like 2026Q3 or a month like 2026-07")

    def previous(self) -> Period:
        if self.is_quarter:
            q = (self.start.month - 1) // 3 + 1
            return quarter(self.start.year - (q == 1), 4 if q == 1 else q - 1)
        return month(self.start.year - (self.start.month == 1), 12 if self.start.month == 1 else self.start.month - 1)

    def contains(self, day: dt.date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def month(year: int, number: int) -> Period:
    start = dt.date(year, number, 1)
    nxt = dt.date(year + (number == 12), 1 if number == 12 else number + 1, 1)
    return Period(start, nxt - dt.timedelta(days=1), f"{year}-{number:02d}")


def quarter(year: int, number: int) -> Period:
    start = dt.date(year, 3 * number - 2, 1)
    end = month(year, 3 * number).end
    return Period(start, end, f"{year}Q{number}")
