"""Figures kept until the store changes: a grid's counts, a map's shading, the ranking.

Counting a township's 20,000 residents by tag takes SQLite about half a second, and a grid office
opens the same pages every morning while the figures change only when a sync or resolve (or the
events DAG) writes. Every such write appends to the change feed or finishes a run, so the store's
*generation* (the change feed's last seq, the last run's end, Beijing's date) is two primary-key
lookups; an entry computed under another generation is recomputed. Entries are per role's scopes and
grid, so no user ever gets figures computed for another's view.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.console.display import beijing_today
from hub.db.models import ChangeFeed, Run

T = TypeVar("T")


def generation(session: Session) -> tuple[Any, ...]:
    return (session.scalar(select(func.max(ChangeFeed.seq))), session.scalar(select(func.max(Run.finished_at))),
            beijing_today())


class StoreCache:
    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, tuple[tuple[Any, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, key: Hashable, compute: Callable[[], T]) -> T:
        gen = generation(session)
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and hit[0] == gen:
                self._data.move_to_end(key)
                return hit[1]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._data[key] = (gen, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value
