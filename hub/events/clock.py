"""Beijing's clock: "today" for deadlines is the date in Beijing, whatever the server's zone.

A UTC host at 16:30 UTC is already at 00:30 the next day in Beijing; ``dt.date.today()`` there
would mark events overdue a day late.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def beijing_now(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` (aware; a naive value is taken as UTC, the store's convention) on Beijing's clock."""
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(BEIJING)


def beijing_today(now: dt.datetime | None = None) -> dt.date:
    return beijing_now(now).date()


def on_beijing_clock(value: dt.datetime | None) -> dt.datetime | None:
    """A naive time stored on the departments' clock (Beijing), labelled with its true offset."""
    if value is None:
        return None
    return value.replace(tzinfo=BEIJING) if value.tzinfo is None else value.astimezone(BEIJING)


def beijing_text(value: Any) -> Any:
    """A time kept as text on the departments' clock (a history step, provenance) as RFC 3339 with its offset:
    naive text is Beijing time; zoned text is converted; anything unreadable is returned as it was."""
    if not isinstance(value, str) or len(value) < 11:
        return value
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return on_beijing_clock(parsed).isoformat()  # type: ignore[union-attr]
