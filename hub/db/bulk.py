"""Bulk updates that touch much of a table: its affected indexes rebuilt once, not maintained row by row.

Placing a county's persons into grids updates ``grid_code``, ``building_id`` and ``updated_at`` of
almost every person row. SQLite then maintains four secondary indexes with a random-order write
each per row: measured on 107,485 persons, 7.1 s with the indexes kept, 2.5 s dropping them first
and re-creating them after (bench/results/resolve.md). The drop and the re-create run inside the
caller's transaction (SQLite DDL is transactional), so a failure rolls both back, and WAL readers
keep seeing the previous snapshot with its indexes. PostgreSQL is left alone: there ``DROP INDEX``
would lock the table against the API's readers for the whole run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Table, func, select

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
