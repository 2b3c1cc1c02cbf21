"""Bulk writes: indexes rebuilt once when an update touches much of a table, parameters bound per column.

Placing a county's persons into grids updates ``grid_code``, ``building_id`` and ``updated_at`` of
almost every person row. SQLite then maintains four secondary indexes with a random-order write
each per row: measured on 107,485 persons, 7.1 s with the indexes kept, 2.5 s dropping them first
and re-creating them after (bench/results/resolve.md). The drop and the re-create run inside the
caller's transaction (SQLite DDL is transactional), so a failure rolls both back, and WAL readers
keep seeing the previous snapshot with its indexes. PostgreSQL is left alone: there ``DROP INDEX``
would lock the table against the API's readers for the whole run.

A fresh resolve inserts the persons (indexes rebuilt) and then places them (the grid and building indexes
rebuilt again): inside :func:`indexes_deferred` an insert leaves the indexes a later step will rebuild
anyway to that step, and whatever is still missing when the scope ends is created then, even on failure.
A store left without some of them by a killed process gets them back at open (:func:`missing_indexes`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Index, Table, func, select, text
from sqlalchemy.sql.dml import UpdateBase

from hub.db.session import get_engine, json_value

#: share of a table's rows an update must touch before rebuilding beats maintaining
REBUILD_SHARE = 0.25
REBUILD_MIN_ROWS = 20_000

#: inside ``indexes_deferred``: the columns later steps set, per table name, and the indexes left unbuilt
_deferred: ContextVar[tuple[Mapping[str, Collection[str]], dict[str, Index]] | None] = ContextVar(
    "indexes_deferred", default=None)


def _touched_indexes(table: Table, columns: Iterable[str] | None) -> list[Index]:
    """The secondary indexes an update setting ``columns`` (None: an insert) maintains row by row."""
    names = {c.name for c in table.columns}
    touched = names if columns is None else set(columns) | {c.name for c in table.columns if c.onupdate is not None}
    return [ix for ix in table.indexes if touched & {c.name for c in ix.columns} and not ix.unique]


@contextmanager
def indexes_deferred(url: str, later: Mapping[str, Collection[str]]) -> Iterator[None]:
    """Steps run inside share their index rebuilds: an insert's rebuild leaves out the indexes on the
    columns ``later`` names (table name -> the columns a later step sets on most rows), which that step's
    own rebuild then creates; whatever is still missing at the end is created here, success or failure."""
    pending: dict[str, Index] = {}
    token = _deferred.set((later, pending))
    try:
        yield
    finally:
        _deferred.reset(token)
        if pending:
            with get_engine(url).begin() as connection:
                for name in sorted(pending):
                    pending[name].create(connection, checkfirst=True)


def missing_indexes(connection: Connection, tables: Iterable[Table]) -> list[Index]:
    """The declared indexes a SQLite store lacks (a process killed inside :func:`indexes_deferred`),
    except those a running deferral will create."""
    if connection.dialect.name != "sqlite":
        return []
    have: dict[str, set[str]] = {"table": set(), "index": set()}
    for kind, name in connection.execute(text("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index')")):
        have[kind].add(name)
    scope = _deferred.get()
    waiting = set(scope[1]) if scope else set()
    return [ix for table in tables if table.name in have["table"]
            for ix in sorted(table.indexes, key=lambda ix: ix.name or "")
            if ix.name not in have["index"] and ix.name not in waiting]


@contextmanager
def indexes_rebuilt(connection: Connection, table: Table, columns: Iterable[str] | None, rows: int) -> Iterator[None]:
    """Around an update of ``rows`` rows setting ``columns`` (None: an insert, every column): on SQLite,
    when that is a large share of the table, the secondary indexes on those columns (and on
    ``updated_at``, which every update sets) are dropped before and re-created after. Inside
    :func:`indexes_deferred`, an insert leaves those a later step rebuilds for it, and a rebuild creates
    the ones left for it."""
    indexes = _touched_indexes(table, columns)
    if connection.dialect.name != "sqlite" or not indexes or rows < REBUILD_MIN_ROWS:
        yield
        return
    total = connection.execute(select(func.count()).select_from(table)).scalar_one()
    if rows < REBUILD_SHARE * (total + (rows if columns is None else 0)):
        yield
        return
    if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        # pysqlite opens its transaction at the first INSERT/UPDATE, so a DDL statement before any
        # would commit on its own: open it here, and the drop is undone with the rest on failure
        connection.exec_driver_sql("BEGIN")
    scope = _deferred.get()
    waiting = scope[1] if scope else {}
    for ix in indexes:  # one left unbuilt by an earlier step may not be there to drop
        ix.drop(connection, checkfirst=ix.name in waiting)
    yield
    later: set[str | None] = set()
    if scope and columns is None and table.name in scope[0]:
        later = {ix.name for ix in _touched_indexes(table, scope[0][table.name])}
    for ix in sorted(indexes, key=lambda ix: ix.name or ""):
        if ix.name in later:
            waiting[ix.name or ""] = ix
        else:  # a waiting one stays listed: this transaction may yet roll back, and the scope's end checks
            ix.create(connection, checkfirst=ix.name in waiting)


def executemany(connection: Connection, stmt: UpdateBase, rows: Sequence[dict[str, Any]], *,
                json_texts: Collection[str] = ()) -> None:
    """``connection.execute(stmt, rows)`` for rows sharing one set of keys. On SQLite the parameters
    are bound here: the statement compiled once, each parameter's type processor applied down its
    column, a Python-side default (``updated_at``) evaluated once for the batch. SQLAlchemy's per-row
    parameter assembly was a quarter of updating 537k persons (15.7 s → 12.2 s, raw sqlite3).

    ``json_texts`` names JSON columns whose values are already the store's JSON text (``json_text``
    of the value, made where a core was free): bound as they are on SQLite instead of parsed and
    serialised again (a quarter of loading a county's person rows); parsed for other databases."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        if json_texts:
            rows = [{**row, **{name: json_value(row[name]) for name in json_texts}} for row in rows]
        connection.execute(stmt, list(rows))
        return
    keys = list(rows[0])
    compiled = stmt.compile(dialect=connection.dialect, column_keys=keys)
    processors = compiled._bind_processors
    defaults = {c.key: c.default for c in compiled.insert_prefetch}
    defaults |= {c.key: c.onupdate for c in compiled.update_prefetch}
    columns: list[list[Any]] = []
    for name in compiled.positiontup or ():
        process = None if name in json_texts else processors.get(name)
        if name in rows[0]:
            values = [row[name] for row in rows]
            if process is not None and all(v is values[0] for v in values):  # one value (a run's time)
                columns.append([process(values[0])] * len(values))
            else:
                columns.append([process(v) for v in values] if process is not None else values)
            continue
        if name in defaults:
            default = defaults[name]
            value = default.arg(None) if default.is_callable else default.arg
        else:
            value = compiled.binds[name].effective_value
        columns.append([process(value) if process is not None else value] * len(rows))
    connection.exec_driver_sql(compiled.string, list(zip(*columns, strict=True)))
