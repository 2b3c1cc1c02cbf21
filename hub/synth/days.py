"""The day model: day 0 is the initial full state, days 1..D are days of changes.

Every source derives its dates from here so that "what changed on day k" means the same
thing in the population database, the fire-safety folders, the API and the event log.
"""

from __future__ import annotations

import datetime as dt

DAY0 = dt.date(2026, 10, 30)
"""The date of the initial full export; also the frozen "today" of the world."""

TZ = dt.timezone(dt.timedelta(hours=8))
HISTORY_START = dt.date(2015, 1, 1)


def day_date(day: int) -> dt.date:
    return DAY0 + dt.timedelta(days=day)


def month_key(d: dt.date) -> str:
    return f"{d.year:04d}{d.month:02d}"


def previous_month(d: dt.date) -> dt.date:
    first = d.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def roster_months(days: int) -> dict[int, list[str]]:
    """Which monthly rosters are delivered on which day.

    Day 0 delivers last month's and this month's roster (so there are always two);
    a later day delivers a roster when it is the first day of a new month.
    """
    plan = {0: [month_key(previous_month(DAY0)), month_key(DAY0)]}
    seen = set(plan[0])
    for k in range(1, days + 1):
        m = month_key(day_date(k))
        if m not in seen:
            plan[k] = [m]
            seen.add(m)
    return plan


def stamp(day: int, second_of_day: int) -> dt.datetime:
    """A second-resolution local timestamp on day k (naive, as the vendors store it)."""
    base = dt.datetime.combine(day_date(day), dt.time())
    return base + dt.timedelta(seconds=second_of_day)


def office_second(rng) -> int:
    """A time of day during office hours, on a coarse grid so several rows share one stamp."""
    return 8 * 3600 + rng.randrange(0, 10 * 3600, 7)


def history_stamp(rng, start: dt.date = HISTORY_START) -> dt.datetime:
    """A timestamp before or on day 0 (the history an initial export carries)."""
    span = (DAY0 - start).days
    d = start + dt.timedelta(days=rng.randrange(span + 1))
    return dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=office_second(rng))


def iso(ts: dt.datetime) -> str:
    """ISO-8601 with the +08:00 offset, as the public-security API writes it."""
    return ts.replace(tzinfo=TZ).isoformat()
