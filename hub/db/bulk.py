"""Bulk writes: indexes rebuilt once when an update touches much of a table, parameters bound per column.

Placing a county's persons into grids updates ``grid_code``, ``building_id`` and ``updated_at`` of
almost every person row. SQLite then maintains four secondary indexes with a random-order write
each per row: measured on 107,485 persons, 7.1 s with the indexes kept, 2.5 s dropping them first
and re-creating them after (bench/results/resolve.md). The drop and the re-create run inside the
caller's transaction (SQLite DDL is transactional), so a failure rolls both back, and WAL readers
keep seeing the previous snapshot with its indexes. PostgreSQL is left alone: there ``DROP INDEX``
would lock the table against the API's readers for the whole run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.sql.dml import UpdateBase

from hub.db.session import json_value

#: share of a table's rows an update must touch before rebuilding beats maintaining
REBUILD_SHARE = 0.25
REBUILD_MIN_ROWS = 20_000


@contextmanager
def indexes_rebuilt(connection: Connection, table: Table, columns: Iterable[str] | None, rows: int) -> Iterator[None]:
    """Around an update of ``rows`` rows setting ``columns`` (None: an insert, every column): on SQLite,
    when that is a large share of the table, the secondary indexes on those columns (and on
    ``updated_at``, which every update sets) are dropped before and re-created after."""
    names = {c.name for c in table.columns}
    touched = names if columns is None else set(columns) | {c.name for c in table.columns if c.onupdate is not None}
    indexes = [ix for ix in table.indexes if touched & {c.name for c in ix.columns} and not ix.unique]
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
    for ix in indexes:
        ix.drop(connection)
    yield
    for ix in sorted(indexes, key=lambda ix: ix.name or ""):
        ix.create(connection)


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
