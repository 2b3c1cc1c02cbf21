"""How the console shows things: Beijing's clock and date, pages of a list, small SVG trend lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
PAGE_SIZE = 50


def beijing_now(stored: dt.datetime | None = None) -> dt.datetime:
    """Now, or a stored time (naive = UTC, the store's convention), on Beijing's clock."""
    value = stored or dt.datetime.now(dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(BEIJING)


def beijing_today() -> dt.date:
    """'Today' for deadlines is Beijing's date, whatever the server's zone."""
    return beijing_now().date()


def local_time(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return beijing_now(value).strftime("%Y-%m-%d %H:%M") + " (+08:00)"


@dataclass
class Paging:
    """Offset paging for a list shown 50 a page; one row more is read to know a next page exists."""

    page: int
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def cut(self, rows: list[Any]) -> tuple[list[Any], bool]:
        return rows[: self.size], len(rows) > self.size

    @staticmethod
    def of(page: int | None) -> Paging:
        return Paging(max(1, min(page or 1, 100_000)))


def page_url(path: str, params: dict[str, Any], page: int) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", False) and k != "page"}
    return f"{path}?{urlencode({**kept, 'page': page})}"


def sparkline(values: list[float | None], width: int = 120, height: int = 24) -> str:
    """A trend as an SVG polyline (server-side: no chart library, nothing to fetch)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        return ""
    hi = max(v for _, v in points) or 1.0
    step = width / max(1, len(values) - 1)
    coords = " ".join(f"{i * step:.1f},{height - 2 - (v / hi) * (height - 4):.1f}" for i, v in points)
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
            f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{coords}"/></svg>')
