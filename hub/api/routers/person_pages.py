"""The statements of the person lists' hot path, built once at import.

A grid's page (``/persons?grid=…``, a downstream app walking a village) runs the same few statements
with other values every time. Building them per request (``select()``, ``where()``, the cache key that
finds the compiled SQL) cost more CPU than SQLite spent answering them; these are built once, so a
request only binds its values. The SQL is the same as the general path's (tests/api/test_grid_pages.py
walks both, tests/api/test_query_plans.py explains them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select

from hub.api.routers.person_presence import GRID_ORDER
from hub.api.subtree import CodeRange
from hub.db.models import ChangeFeed, Person, PersonTag

LIST_COLUMNS = (Person.id, Person.name, Person.gender, Person.birth_date, Person.citizen_id_enc, Person.phone_enc,
                Person.grid_code, Person.household_id, Person.status, Person.floating, Person.registered_grid_code)
#: after a cursor (``g``, ``i``): the keyset condition of the (grid_code, id) order
AFTER_CURSOR = or_(Person.grid_code > bindparam("g"), and_(Person.grid_code == bindparam("g"), Person.id > bindparam("i")))
#: after a cursor on a person with no grid code (``i``): every coded row, and the uncoded with a greater id
AFTER_NULL = or_(Person.grid_code.is_not(None), Person.id > bindparam("i"))
#: the persons' version, for what is kept about them: their newest ``updated_at`` (moves with an insert
#: or an update) and the change feed's last ``seq`` (resolve logs a person deleted or merged away there,
#: which moves no ``updated_at``); two index probes
TABLE_VERSION = select(select(func.max(Person.updated_at)).scalar_subquery(),
                       select(func.max(ChangeFeed.seq)).scalar_subquery())


def _residents(after: bool, bounded: bool) -> Any:
    """Those living in ``[lo, hi)`` (after a cursor: in the grid codes after its own, ``(g, hi)``), in
    (grid_code, id) order. The rest of the cursor's own grid code is ``SAME_GRID``'s: together they are
    the keyset condition ``grid_code > g OR (grid_code = g AND id > i)``, but each is one index seek,
    where SQLite read that OR from the start of the cursor's grid code (up to 1.1 ms, deep in a group
    of 4,485 at 200k residents: every page walked past the ones before it)."""
    stmt = select(*LIST_COLUMNS).where(Person.grid_code > bindparam("g") if after else Person.grid_code >= bindparam("lo"))
    if bounded:
        stmt = stmt.where(Person.grid_code < bindparam("hi"))
    return stmt.order_by(Person.grid_code, Person.id).limit(bindparam("n"))


#: the rest of a cursor's own grid code (``g``, ids after ``i``); its key in RESIDENTS
SAME = "same"
SAME_GRID = (select(*LIST_COLUMNS).where(Person.grid_code == bindparam("g"), Person.id > bindparam("i"))
             .order_by(Person.grid_code, Person.id).limit(bindparam("n")))


def resident_steps(rng: CodeRange, after: list[Any] | None) -> list[tuple[Any, dict[str, Any]]]:
    """The statements that read a page's residents, in the pages' order, each with its values but ``n``
    (the caller's: how many it still wants; it stops once it has them): ``RESIDENTS`` keys or ``SAME``."""
    bound = {} if rng.hi is None else {"hi": rng.hi}
    bounded = rng.hi is not None
    if not after or after[0] is None or str(after[0]) < rng.lo:  # every resident follows the cursor
        return [((False, bounded), {"lo": rng.lo, **bound})]
    g = str(after[0])
    if not rng.contains(g):  # past the range's end: no resident follows
        return []
    return [(SAME, {"g": g, "i": after[1]}), ((True, bounded), {"g": g, **bound})]


def _away(after: str) -> Any:
    """Some of those registered in the range who live elsewhere, by key (``ids``), in the pages' order
    (NULL grid codes first on every store), after a cursor of the kind ``after`` (see ``cursor_kind``)."""
    stmt = select(*LIST_COLUMNS).where(Person.id.in_(bindparam("ids", expanding=True)))
    if after != "first":
        stmt = stmt.where(AFTER_NULL if after == "after-null" else AFTER_CURSOR)
    return stmt.order_by(*GRID_ORDER).limit(bindparam("n"))


def cursor_kind(after: list[Any] | None) -> str:
    """``first`` (no cursor), ``after`` (a cursor on a grid code) or ``after-null`` (on a NULL grid code)."""
    return "first" if not after else "after-null" if after[0] is None else "after"


def _tags(sensitive: bool) -> Any:
    stmt = select(PersonTag.person_id, PersonTag.tag).where(PersonTag.person_id.in_(bindparam("ids", expanding=True)))
    if not sensitive:
        stmt = stmt.where(PersonTag.sensitive.is_(False))
    return stmt.order_by(PersonTag.person_id, PersonTag.tag)


#: (after a cursor, the range has an upper bound) -> statement; ``SAME`` -> SAME_GRID
RESIDENTS: dict[Any, Any] = {(after, bounded): _residents(after, bounded) for after in (False, True) for bounded in (False, True)}
RESIDENTS[SAME] = SAME_GRID
#: the cursor's kind (``cursor_kind``) -> statement
AWAY = {kind: _away(kind) for kind in ("first", "after", "after-null")}
#: the key may see sensitive tags -> statement
PAGE_TAGS = {sensitive: _tags(sensitive) for sensitive in (False, True)}
