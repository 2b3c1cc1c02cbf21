"""Keyset paging over an API that only offers ``updated_since`` + page numbers.

The API orders each list by ``(updatedAt, id)``. Records updated while a client pages move
to the end of that order, so every record behind them shifts one place forward: paging by
page number alone then skips the record that slid onto an already-read page. We page by the
cursor ``C = (updatedAt, id)`` of the last record emitted instead:

* The *window* is ``updated_since = C.updatedAt - 1 s``. That holds every record > C whether
  the server treats ``updated_since`` as inclusive (``>=``, as the simulated server does) or
  exclusive (``>``, the spec's wording allows both), and whether it truncates to seconds.
  Records <= C that the window also returns are dropped: they were emitted already.
* A page is *trusted* when, at the instant it was served, it starts at or before C: its
  records > C are then exactly the records that follow C in the order, with none between.
  Page 1 is always trusted (nothing <= C precedes the window's start that is > C). The
  records > C of a trusted page are emitted and C moves to the last of them.
* Normally C's timestamp moves on and the next request is page 1 of a fresh window, so page
  numbers never matter. Only when more than ``size`` records share C's second (a bulk
  update) does the client walk to page 2, 3, ... of the same window. A page that now starts
  after C means records left the window's head since the previous page was read: the client
  steps back a page. If that earlier page is still full of records <= C, nothing left the
  head in between (records only ever leave it), so the later page was exact and is emitted.

Within one run a record may change again after it was emitted (its new version appears later
in the order). Emitting it twice would make the run hold two rows with one key, so the read
stops just before the second version: the cursor stays behind it and the next run reads it.

Ids are compared the way the server orders them: a JSON number as a number (9 before 10, where
text would put "10" first and skip it), a string as text. A vendor that caps pages below the
``size`` asked for (``total`` saying more than it sent) is followed at its own page size.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hub.errors import SourceError
from hub.quality.normalize import SOURCE_TZ

CURSOR_FIELD = "updatedAt"
WINDOW_SLACK = dt.timedelta(seconds=1)
MAX_IDLE_REQUESTS = 10_000  # a guard against a server that changes faster than it can be read

Fetch = Callable[[str | None, int, int], tuple[int, list[Any]]]
IdKey = tuple[int, int, str]
Key = tuple[dt.datetime, IdKey]


def kept_id(ident: Any) -> str | int:
    """An id as the cursor keeps it: a JSON number stays a number, anything else becomes its text."""
    return ident if isinstance(ident, int) and not isinstance(ident, bool) else str(ident or "")


def id_key(ident: Any) -> IdKey:
    """A JSON number sorts as a number, anything else as its text; one total order for both."""
    kept = kept_id(ident)
    return (0, kept, "") if isinstance(kept, int) else (1, 0, kept)


def parse_stamp(value: Any) -> dt.datetime | None:
    """ISO-8601 as the API writes it; a time without offset is the API's local time (+08:00)."""
    if not isinstance(value, str):
        return None
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=SOURCE_TZ)  # the API's clock is the departments'


@dataclass(frozen=True)
class Cursor:
    """The last record emitted, exactly as the server wrote its updatedAt and id."""

    updated_at: str
    id: str | int

    @property
    def key(self) -> Key:
        stamp = parse_stamp(self.updated_at)
        if stamp is None:
            raise SourceError(f"saved public-security cursor has an unreadable updatedAt {self.updated_at!r}")
        return stamp, id_key(self.id)

    def since(self) -> str:
        return (self.key[0] - WINDOW_SLACK).isoformat()

    def state(self) -> dict[str, str | int]:
        return {"updatedAt": self.updated_at, "id": self.id}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Cursor | None:
        if not state or state.get("updatedAt") in (None, ""):
            return None
        return cls(str(state["updatedAt"]), kept_id(state.get("id")))


@dataclass
class Page:
    """Records to emit, in order, and the cursor reached after the last of them."""

    records: list[dict[str, Any]]
    cursor: Cursor | None
    unreadable: list[tuple[Any, str]]


class KeysetReader:
    """Reads everything after a cursor; see the module docstring for why it neither skips nor repeats."""

    def __init__(self, fetch: Fetch, key_field: str, size: int, endpoint: str = "") -> None:
        self.fetch, self.key_field, self.size = fetch, key_field, size
        self.endpoint = endpoint or key_field
        self.served: dict[str, set[tuple[str | None, int]]] = {}  # a page's content -> the requests that got it
        self.requests = 0
        self.step_backs = 0  # pages that began after C: the window's head moved while we paged
        self.stopped_early = False  # a record changed again after it was emitted in this run
        self.capped = False  # the server serves fewer items a page than asked for

    def _key(self, item: Any) -> Key | None:
        if not isinstance(item, dict):
            return None
        stamp = parse_stamp(item.get(CURSOR_FIELD))
        ident = item.get(self.key_field)
        if stamp is None or ident is None or isinstance(ident, bool | float | dict | list) or str(ident).strip() == "":
            return None
        return stamp, id_key(ident)

    def read(self, start: Cursor | None) -> Iterator[Page]:
        cursor = start
        emitted: set[str] = set()
        odd_seen: set[str] = set()
        since = cursor.since() if cursor else None
        page = 1
        pending: tuple[int, list[Any]] | None = None  # a page that began after C, awaiting proof
        idle = 0
        while True:
            idle += 1
            if idle > MAX_IDLE_REQUESTS:
                raise SourceError(f"public-security paging made no progress after {MAX_IDLE_REQUESTS} requests")
            total, items = self.fetch(since, page, self.size)
            self.requests += 1
            self._check_repeat(since, page, items)
            if 0 < len(items) < self.size and (page - 1) * self.size + len(items) < total:
                # the server capped the page below the size asked: page at its size from now on
                self.size = len(items)
                self.capped = True
                if page > 1:  # earlier page numbers were counted at the larger size: restart the window
                    page = 1
                    continue
            pairs = [(self._key(it), it) for it in items]
            keyed = [(k, it) for k, it in pairs if k is not None]
            unreadable = self._unreadable([it for k, it in pairs if k is None], odd_seen) if len(keyed) < len(items) else []
            if any(a[0] > b[0] for a, b in zip(keyed, keyed[1:], strict=False)):
                raise SourceError(f"public-security {self.key_field} list is not ordered by ({CURSOR_FIELD}, "
                                  f"{self.key_field}) as the API promises; cannot page it safely")
            ckey = cursor.key if cursor else None
            if unreadable:
                yield Page([], cursor, unreadable)
            if not keyed:
                last_page = math.ceil(total / self.size) if total > 0 else 0
                if page > 1 and 0 < last_page < page:
                    page = last_page  # the window is shorter than we thought: look at its real end
                    continue
                return
            if page > 1 and ckey is not None and keyed[0][0] > ckey:
                pending = (page, items)  # the head of the window shrank since the previous page
                self.step_backs += 1
                page -= 1
                continue
            fresh = [(k, it) for k, it in keyed if ckey is None or k > ckey]
            full = len(items) >= self.size
            if not fresh:
                if pending is not None and pending[0] == page + 1 and full:
                    # this page is still all <= C, so the later page was read exactly at the boundary
                    page, items = pending
                    keyed = [(k, it) for it in items if (k := self._key(it)) is not None]
                    fresh = [(k, it) for k, it in keyed if k > ckey] if ckey else keyed
                    full = len(items) >= self.size
                    pending = None
                elif not full or (page - 1) * self.size + len(items) >= total:
                    return  # the window ends here and holds nothing after C
                else:
                    page += 1
                    continue
            pending = None
            out: list[dict[str, Any]] = []
            stop = False
            for k, it in fresh:
                if k[1] in emitted:
                    stop = self.stopped_early = True  # changed again after we emitted it: its new version is the next run's
                    break
                emitted.add(k[1])
                out.append(it)
                cursor = Cursor(str(it[CURSOR_FIELD]), kept_id(it[self.key_field]))
            idle = 0
            yield Page(out, cursor, [])
            if stop or not full:
                return
            assert cursor is not None
            new_since = cursor.since()
            if new_since != since:
                since, page = new_since, 1
            else:
                page += 1

    def _check_repeat(self, since: str | None, page: int, items: list[Any]) -> None:
        """A server serving the same records for a third different request ignores paging: stop now.

        One repeat is legitimate (a new window's first page can be the page just read, when all of it
        sits in the cursor's second); a second one is not, and without this check the reader would
        walk page numbers until the idle guard (about 10,000 requests).
        """
        if not items:
            return
        blob = json.dumps(items, ensure_ascii=False, sort_keys=True, default=str)
        requests = self.served.setdefault(blob, set())
        requests.add((since, page))
        if len(requests) >= 3:
            first = min(requests, key=lambda r: (r[0] or "", r[1]))
            raise SourceError(
                f"public-security endpoint /{self.endpoint} served the same page again for page {page}"
                f"{f' (updated_since={since})' if since else ''}: the same {len(items)} records as page {first[1]}"
                f"{f' (updated_since={first[0]})' if first[0] else ''}; the server ignores page/updated_since, "
                f"so it cannot be read without skipping or looping")

    def _unreadable(self, items: list[Any], seen: set[str]) -> list[tuple[Any, str]]:
        """Items the cursor cannot place (no id, no updatedAt): reported once per run, never dropped."""
        out: list[tuple[Any, str]] = []
        for it in items:
            blob = json.dumps(it, ensure_ascii=False, sort_keys=True, default=str)
            if blob in seen:
                continue
            seen.add(blob)
            why = "not a JSON object" if not isinstance(it, dict) else \
                f"missing or unreadable {self.key_field} / {CURSOR_FIELD}"
            out.append((it, why))
        return out
