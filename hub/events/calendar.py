"""Working days of the official PRC calendar, with its swapped weekend workdays (调休).

The ``chinesecalendar`` package carries the State Council's published schedule, one year at a
time. Beyond the years it covers we fall back to Monday–Friday and say so in the log once per
year, because a deadline computed on a guessed calendar must be visible as such.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import cache

import chinese_calendar

log = logging.getLogger(__name__)

_FIRST = min(chinese_calendar.holidays).year
_LAST = max(chinese_calendar.holidays).year


def covered(year: int) -> bool:
    return _FIRST <= year <= _LAST


@cache
def _warn_fallback(year: int) -> None:
    log.warning("the official calendar for %d is not published in chinesecalendar (covers %d-%d): "
                "counting Monday-Friday as working days for %d", year, _FIRST, _LAST, year)


def is_working_day(day: dt.date) -> bool:
    if covered(day.year):
        return bool(chinese_calendar.is_workday(day))
    _warn_fallback(day.year)
    return day.weekday() < 5


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    current = start
    remaining = days
    while remaining:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]: how many working days of a deadline have been used."""
    if end <= start:
        return 0
    return sum(is_working_day(start + dt.timedelta(days=i)) for i in range(1, (end - start).days + 1))
