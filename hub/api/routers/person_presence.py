"""Registered here, living elsewhere (户在人不在): who of the persons a grid concerns, the one order
a grid's pages follow, and the kept list of those registered in a range who live outside it.

The order is the same on every store: persons with no grid code (registered in the grid, residence
unknown) first, by id; then (grid_code, id). It is SQLite's own ``ORDER BY grid_code, id``; PostgreSQL
sorts NULLs last by default, so statements that can meet a NULL grid code say ``NULLS FIRST`` there.
Those with no grid code are never residents of a range, so the residents' statements (a range of
grid codes) keep the plain order their index gives.

A cursor after a person with no grid code holds ``[null, id]``; the keyset condition after it is
"a grid code, or no grid code and a greater id" (``after_cursor``): SQL's ``grid_code > NULL`` is
never true, so the plain condition would end the walk there.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_, select

from hub.api.subtree import CodeRange
from hub.db.models import Person

#: a person's place in a grid's pages: (has a grid code, grid code or "", id); NULL grid codes first
SortKey = tuple[bool, str, str]
#: the pages' order in SQL, for statements that can meet a NULL grid code
GRID_ORDER = (Person.grid_code.asc().nulls_first(), Person.id)
#: ... and for those that cannot (a range of grid codes): the order of the (grid_code, id) index
GRID_ORDER_CODED = (Person.grid_code, Person.id)
#: how many kept keys are read by primary key at a time
BATCH = 500


def presence_clause(rng: CodeRange, presence: str) -> Any:
    """Who of the persons a grid concerns: ``persons``' module docstring says what each means."""
    lives, registered = rng.clause(Person.grid_code), rng.clause(Person.registered_grid_code)
    elsewhere = or_(Person.grid_code.is_(None), not_(lives))
    return {"all": or_(lives, registered), "resident": lives, "registered": registered,
            "away": and_(registered, elsewhere),
            "incoming": and_(lives, or_(Person.registered_grid_code.is_(None), not_(registered)))}[presence]


def sort_key(grid_code: str | None, person_id: str) -> SortKey:
    return (grid_code is not None, grid_code or "", person_id)


def row_key(row: Any) -> SortKey:
    """A row's place in the order (a Row with ``grid_code`` and ``id``)."""
    return (row.grid_code is not None, row.grid_code or "", row.id)


def cursor_key(after: list[Any]) -> SortKey:
    """The place a cursor ``[grid_code or None, id]`` stands at."""
    return sort_key(None if after[0] is None else str(after[0]), str(after[1]))


def after_cursor(after: list[Any]) -> ColumnElement[bool]:
    """The rows that follow a cursor in the pages' order (NULL-safe: see the module docstring)."""
    if after[0] is None:
        return or_(Person.grid_code.is_not(None), Person.id > after[1])
    return or_(Person.grid_code > after[0], and_(Person.grid_code == after[0], Person.id > after[1]))


def away_keys(cache: dict[Any, Any], connection: Any, rng: CodeRange, version: Any) -> list[SortKey]:
    """The sort keys of those registered in the range who live elsewhere, in order.

    Who they are is read once per range (every row registered there must be looked at: ~13 ms for a
    village of 3,000) and kept while the store's version (``person_pages.TABLE_VERSION``, read by the
    caller) stays the same."""
    hit = cache.get(rng)
    if hit is None or hit[0] != version:
        lives = rng.clause(Person.grid_code)
        keys = sorted(sort_key(g, pid) for pid, g in connection.execute(
            select(Person.id, Person.grid_code).where(rng.clause(Person.registered_grid_code),
                                                      or_(Person.grid_code.is_(None), not_(lives)))))
        if len(cache) > 1000:
            cache.clear()
        hit = cache[rng] = (version, keys)
    return hit[1]


def keys_after(keys: list[SortKey], after: list[Any] | None) -> list[SortKey]:
    """The kept keys that follow a cursor."""
    return keys[bisect_right(keys, cursor_key(after)):] if after else keys


def away_rows(keys: list[SortKey], fetch: Callable[[list[str], int], Iterable[Any]], want: int) -> list[Any]:
    """The first ``want`` of those living elsewhere (``keys``, already after the cursor) that pass the
    page's other filters, in order: read by primary key through ``fetch`` (a batch of ids in key order,
    how many at most; its rows in the pages' order), a batch at a time."""
    out: list[Any] = []
    for start in range(0, len(keys), BATCH):
        out += fetch([k[2] for k in keys[start:start + BATCH]], want)
        if len(out) >= want:
            break
    return out
