"""Working days of the official PRC calendar, with its swapped weekend workdays (调休).

The ``chinesecalendar`` package carries the State Council's published schedule, one year at a
time, and is released some weeks after the State Council publishes the next year. A county can
add that year itself: a schedule file listed under ``calendar.schedules`` in hub.yaml (see
:func:`read_schedule`) wins over the package for its year. Beyond every known year we fall back to
Monday–Friday: a deadline computed there is *provisional* and is logged as a warning, because a
guessed calendar must be visible as such.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

from hub.errors import ConfigError

log = logging.getLogger(__name__)

_FIRST = min(chinese_calendar.holidays).year
_LAST = max(chinese_calendar.holidays).year


def covered(year: int) -> bool:
    """Whether the packaged calendar knows ``year``."""
    return _FIRST <= year <= _LAST


@dataclass(frozen=True)
class YearSchedule:
    """One year's holidays (放假) and swapped working weekend days (调休上班)."""

    year: int
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    origin: str = ""

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.weekday() < 5


def _dates(entry: Any, where: str) -> list[dt.date]:
    """A date, or ``{from, to}`` (inclusive), or ``{date}``; names are documentation only."""
    if isinstance(entry, dt.date):
        return [entry]
    if isinstance(entry, str):
        try:
            return [dt.date.fromisoformat(entry)]
        except ValueError:
            raise ConfigError(f"{where}: {entry!r} is not a date (YYYY-MM-DD)") from None
    if isinstance(entry, dict):
        if "date" in entry:
            return _dates(entry["date"], where)
        if "from" in entry and "to" in entry:
            start, end = _dates(entry["from"], where)[0], _dates(entry["to"], where)[0]
            if end < start:
                raise ConfigError(f"{where}: range {start}..{end} ends before it starts")
            return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    raise ConfigError(f"{where}: expected a date or {{from, to}}, got {entry!r}")


def read_schedule(path: Path) -> list[YearSchedule]:
    """A county's schedule file: one mapping or a list of them, each
    ``{year: 2027, holidays: [2027-01-01, {name: 春节, from: 2027-02-05, to: 2027-02-11}], workdays: [2027-02-14]}``."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"calendar schedule {path}: cannot read ({exc.strerror})") from None
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for a date such as 2027-13-01
        detail = str(exc).splitlines()[0] if isinstance(exc, ValueError) else "not valid YAML"
        raise ConfigError(f"calendar schedule {path}: {detail}") from None
    out = []
    for i, doc in enumerate(raw if isinstance(raw, list) else [raw]):
        where = f"calendar schedule {path} entry {i + 1}"
        if not isinstance(doc, dict) or not isinstance(doc.get("year"), int):
            raise ConfigError(f"{where}: expected a mapping with an integer 'year'")
        year = doc["year"]
        holidays = {d for e in doc.get("holidays") or [] for d in _dates(e, where)}
        workdays = {d for e in doc.get("workdays") or [] for d in _dates(e, where)}
        stray = sorted(d for d in holidays | workdays if d.year != year)
        if stray:
            raise ConfigError(f"{where}: {stray[0]} is not in {year}")
        if holidays & workdays:
            raise ConfigError(f"{where}: {min(holidays & workdays)} is both a holiday and a working day")
        out.append(YearSchedule(year, frozenset(holidays), frozenset(workdays), str(path)))
    return out


@dataclass
class WorkCalendar:
    """County schedules first, then the packaged calendar, then a loud Monday–Friday guess."""

    schedules: dict[int, YearSchedule] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set, repr=False)
    _due: dict[tuple[dt.date, int], dt.date] = field(default_factory=dict, repr=False)
    _days: dict[dt.date, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def with_schedules(cls, schedules: Iterable[YearSchedule]) -> WorkCalendar:
        return cls({s.year: s for s in schedules})

    def known(self, year: int) -> bool:
        return year in self.schedules or covered(year)

    def provisional(self, start: dt.date, end: dt.date) -> bool:
        """Whether any year from ``start`` to ``end`` is guessed (not published anywhere we know)."""
        return not all(self.known(y) for y in range(start.year, end.year + 1))

    def _guess(self, year: int) -> None:
        if year not in self._warned:
            self._warned.add(year)
            log.warning("PROVISIONAL deadlines: the official calendar for %d is not published here (chinesecalendar "
                        "covers %d-%d, "
                        "county schedules: %s); counting Monday-Friday as working days for %d — add the "
                        "State Council's %d schedule under calendar.schedules in hub.yaml", year, _FIRST, _LAST,
                        sorted(self.schedules) or "none", year, year)

    def is_working_day(self, day: dt.date) -> bool:
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._is_working_day(day)
        return known

    def _is_working_day(self, day: dt.date) -> bool:
        schedule = self.schedules.get(day.year)
        if schedule is not None:
            return schedule.is_working_day(day)
        if covered(day.year):
            return bool(chinese_calendar.is_workday(day))
        self._guess(day.year)
        return day.weekday() < 5

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        hit = self._due.get((start, days))
        if hit is not None:
            return hit
        current, remaining = start, days
        while remaining:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        self._due[(start, days)] = current
        return current

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: how many working days of a deadline have been used."""
        if end <= start:
            return 0
        return sum(self.is_working_day(start + dt.timedelta(days=i)) for i in range(1, (end - start).days + 1))


PACKAGED = WorkCalendar()
_BY_FILES: dict[tuple[tuple[str, float], ...], WorkCalendar] = {}


def calendar_for(config: Any) -> WorkCalendar:
    """The calendar a hub.yaml asks for (cached per set of schedule files and their mtimes)."""
    files = [config.resolve_path(p) for p in (getattr(getattr(config, "calendar", None), "schedules", None) or [])]
    if not files:
        return PACKAGED
    try:
        stamp = tuple((str(f), f.stat().st_mtime) for f in files)
    except OSError as exc:
        raise ConfigError(f"calendar schedule {exc.filename}: not found (listed under calendar.schedules)") from None
    if stamp not in _BY_FILES:
        _BY_FILES[stamp] = WorkCalendar.with_schedules(s for f in files for s in read_schedule(f))
    return _BY_FILES[stamp]


# the packaged calendar's functions, for callers without a hub.yaml
def is_working_day(day: dt.date) -> bool:
    return PACKAGED.is_working_day(day)


def add_working_days(start: dt.date, days: int) -> dt.date:
    return PACKAGED.add_working_days(start, days)


def working_days_between(start: dt.date, end: dt.date) -> int:
    return PACKAGED.working_days_between(start, end)
