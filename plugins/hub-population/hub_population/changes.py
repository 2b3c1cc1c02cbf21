"""Reading what changed since a ``(gxsj, key)`` cursor, streamed into Arrow batches.

Clocks are second-resolution, so many rows share one ``gxsj``. Ordering by ``(gxsj, key)`` and
resuming strictly after the last ``(gxsj, key)`` read means a batch boundary may fall inside a
second without skipping or repeating a row. One server-side streamed query (a DB-API streaming
cursor, ``fetchmany``) serves the whole read, so memory holds one batch, whatever the table's size.

Every column is emitted as text: IDs and household numbers must never become numbers, and
``gxsj`` arrives as a ``datetime`` (MySQL, PostgreSQL) or as stored text (SQLite, or a vendor's
varchar column). A text ``gxsj`` is resumed from exactly the text read (``…09:00:00.0`` as Java
writes it is not ``…09:00:00``), a datetime one from a datetime.

The last ``settle_seconds`` (by the database's clock) are still moving: a clerk's row saved in the
second the read ended, with a lower key, would fall behind a ``(gxsj, key)`` cursor for ever.
Such rows are read and loaded, but the saved cursor stays before them, so the next run reads them
again (the load finds them unchanged) and picks up any late row of the same second.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow.lib import StringBuilder
from sqlalchemy import Connection, Engine, and_, column, func, or_, select, table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import String

from hub.connector import OP_COLUMN, REASON_COLUMN, Batch
from hub.errors import SourceError
from hub_population.database import connect, describe, find_table
from hub_population.tables import CANCELLED_FLAG, CURSOR, TableSpec

log = logging.getLogger(__name__)


def as_text(value: Any) -> str | None:
    """A driver value as the text the vendor stored (ints and decimals exactly, datetimes ISO)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return str(value)


def built_strings(values: Sequence[str | None]) -> pa.Array:
    """A string array built without ``pa.array``: that asks pandas whether the list is array-like,
    importing pandas (~0.3 CPU s) into every sync that reads a row; raises TypeError on a non-str."""
    builder = StringBuilder()
    builder.append_values(values)
    return builder.finish()


def text_array(values: Sequence[Any]) -> pa.Array:
    """Text as is and whole columns of ints (SQLite's INTEGER keys) as their digits, neither importing
    pandas; dates or whole-second datetimes cast in Arrow (fast); anything else (floats, decimals,
    bytes, mixed) value by value in Python."""
    try:
        return built_strings(values)
    except TypeError:
        pass
    if all(v is None or type(v) is int for v in values):  # what Arrow's int64 -> string cast writes
        return built_strings([None if v is None else str(v) for v in values])
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    try:
        typed = pa.array(values)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        typed = None
    if typed is not None:
        kind = typed.type
        if pa.types.is_integer(kind) or pa.types.is_date(kind):
            return typed.cast(pa.string())
        if pa.types.is_timestamp(kind) and kind.tz is None and not pc.any(pc.not_equal(
                pc.subsecond(typed), 0)).as_py():
            return pc.strftime(typed.cast(pa.timestamp("s")), "%Y-%m-%d %H:%M:%S")
    return pa.array([as_text(v) for v in values], type=pa.string())


# Arrow scalars made once without pa.scalar(): a Python constant handed to a compute function goes
# through pa.scalar, which imports pandas (~0.3 CPU s) into a sync that may need nothing else of it
_TEXT = dict(zip(("1", "", "delete", "upsert", "cancelled"),
                 built_strings(["1", "", "delete", "upsert", "cancelled"]), strict=True))
_NULL_TEXT = pa.nulls(1, pa.string())[0]
_FALSE = pc.is_valid(_NULL_TEXT)


def to_batch(rows: Sequence[Sequence[Any]], names: list[str], spec: TableSpec) -> pa.RecordBatch:
    """Raw text columns plus ``_op``/``_reason``: a cancelled row (zxbz='1') is a tombstone."""
    arrays = [text_array(values) for values in zip(*rows, strict=True)]
    by_name = dict(zip(names, arrays, strict=True))
    cancelled = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(by_name[CANCELLED_FLAG]), _TEXT["1"]), _FALSE)
    op = pc.if_else(cancelled, _TEXT["delete"], _TEXT["upsert"])
    reason = pa.nulls(len(rows), pa.string())
    if spec.reason and spec.reason in by_name:
        reason = pc.utf8_trim_whitespace(by_name[spec.reason])
        reason = pc.if_else(pc.equal(reason, _TEXT[""]), _NULL_TEXT, reason)
    reason = pc.if_else(cancelled, pc.fill_null(reason, _TEXT["cancelled"]), _NULL_TEXT)
    return pa.RecordBatch.from_arrays([*arrays, op, reason], names=[*names, OP_COLUMN, REASON_COLUMN])



def cursor_bind(value: str, dialect: str, text_column: bool = False) -> Any:
    """SQLite and a varchar ``gxsj`` compare the stored text as read; a datetime column gets a datetime."""
    if dialect == "sqlite" or text_column:
        return value
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return value


def settle_horizon(conn: Connection, settle_seconds: float, text_column: bool) -> Any:
    """``now - settle_seconds`` by the database's own clock (SQLite: this machine's), bound like gxsj."""
    if conn.dialect.name == "sqlite":
        now = dt.datetime.now()
    else:
        try:
            now = conn.execute(select(func.localtimestamp())).scalar_one()
        except SQLAlchemyError:
            conn.rollback()
            now = conn.execute(select(func.now())).scalar_one()
        if isinstance(now, str):
            now = dt.datetime.fromisoformat(now)
        now = now.replace(tzinfo=None)
    horizon = (now - dt.timedelta(seconds=settle_seconds)).replace(microsecond=0)
    return horizon.isoformat(sep=" ") if conn.dialect.name == "sqlite" or text_column else horizon


def json_key(value: Any) -> Any:
    """The key as the database compares it (an int stays an int), in a form JSON state can hold."""
    return value if isinstance(value, int | str) or value is None else as_text(value)


def read_changes(engine: Engine, url: str, spec: TableSpec, state: dict[str, Any],
                 batch_size: int, settle_seconds: float = 0.0) -> Iterator[Batch]:
    """Rows after ``state`` in ``(gxsj, key)`` order; ``{}`` also reads rows whose gxsj is null, first."""
    conn = connect(engine, url)
    driver_error = getattr(engine.dialect.loaded_dbapi, "Error", SQLAlchemyError)
    try:
        name, present, types = find_table(conn, spec.table, url)
        missing = [c for c in spec.essential if c not in present]
        if missing:
            raise SourceError(f"population: table {spec.table} lacks column(s) {', '.join(missing)}")
        absent = [c for c in spec.columns if c not in present]
        if absent:  # the quality gate decides whether that is drift; we only say so
            log.warning("population: table %s lacks optional column(s) %s", spec.table, ", ".join(absent))
        names = [c for c in spec.columns if c in present]
        cols = {c: column(present[c]) for c in names}
        picked = [cols[c] if present[c] == c else cols[c].label(c) for c in names]
        source = table(name)
        gx, key = cols[CURSOR], cols[spec.key]
        gx_at, key_at = names.index(CURSOR), names.index(spec.key)
        text_cursor = isinstance(types.get(CURSOR), String)
        if CURSOR not in state:
            undated = select(*picked).select_from(source).where(gx.is_(None)).order_by(key)
            yield from _stream(conn, undated, names, spec, batch_size, lambda row: {CURSOR: None, "key": None})
        horizon = settle_horizon(conn, settle_seconds, text_cursor) if settle_seconds > 0 else None
        settled = (gx < horizon).label("_settled") if horizon is not None else None
        dated = select(*picked, *([settled] if settled is not None else [])).select_from(source)
        dated = dated.where(gx.is_not(None)).order_by(gx, key)
        if state.get(CURSOR) is not None:
            after = cursor_bind(str(state[CURSOR]), engine.dialect.name, text_cursor)
            dated = dated.where(or_(gx > after, and_(gx == after, key > state.get("key"))))
        # the cursor never passes an unsettled row: later batches keep the last settled row's state
        held = {CURSOR: None, "key": None} if CURSOR not in state else \
            {CURSOR: state.get(CURSOR), "key": state.get("key")}

        def state_of(rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
            nonlocal held
            last = rows[-1] if settled is None else next((r for r in reversed(rows) if r[-1]), None)
            if last is not None:
                held = {CURSOR: as_text(last[gx_at]), "key": json_key(last[key_at])}
            return dict(held)

        yield from _stream(conn, dated, names, spec, batch_size, state_of, extra=int(settled is not None))
    except (SQLAlchemyError, driver_error) as exc:
        raise SourceError(f"population: reading {spec.table} failed: {describe(exc, url)}") from None
    finally:
        conn.close()


def server_cursor(conn: Connection) -> Any:
    """A DB-API cursor that streams (MySQL SSCursor, a PostgreSQL named cursor; SQLite always streams).

    Rows are fetched as plain tuples straight from the driver: SQLAlchemy's Row objects cost more
    than the conversion to Arrow, and the selected columns carry no types to process anyway.
    """
    dbapi = conn.connection.dbapi_connection
    driver = conn.dialect.driver
    if driver == "pymysql":
        import pymysql.cursors

        return dbapi.cursor(pymysql.cursors.SSCursor)
    if driver == "mysqldb":
        import MySQLdb.cursors

        return dbapi.cursor(MySQLdb.cursors.SSCursor)
    if driver in ("psycopg", "psycopg2"):
        return dbapi.cursor(name="hub_population_read")
    return dbapi.cursor()


def _stream(conn: Connection, stmt: Any, names: list[str], spec: TableSpec, batch_size: int,
            state_of: Callable[[Sequence[Sequence[Any]]], dict[str, Any]], extra: int = 0) -> Iterator[Batch]:
    """``extra`` trailing helper columns (the settled flag) go to ``state_of``, not into the batch."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    args = tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
    cursor = server_cursor(conn)
    try:
        cursor.execute(str(compiled), args)
        while rows := cursor.fetchmany(batch_size):
            data = [r[:len(names)] for r in rows] if extra else rows
            yield Batch(records=to_batch(data, names, spec), state=state_of(rows))
    finally:
        cursor.close()
