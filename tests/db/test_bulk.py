"""Large updates rebuild the indexes they touch on SQLite, atomically, and leave PostgreSQL's alone."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    inspect,
    select,
    text,
    update,
)

from hub.db.bulk import REBUILD_MIN_ROWS, indexes_rebuilt

ROWS = REBUILD_MIN_ROWS + 5_000


def _table() -> Table:
    meta = MetaData()
    return Table("resident", meta, Column("id", Integer, primary_key=True),
                 Column("grid_code", String(15), index=True), Column("name", String(50), index=True),
                 Column("updated_at", DateTime, index=True, onupdate=lambda: dt.datetime(2026, 11, 29)))


def _filled(url: str) -> tuple[Table, object]:
    table = _table()
    engine = create_engine(url)
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": i, "grid_code": "130203101201001", "name": f"n{i}",
                                       "updated_at": dt.datetime(2026, 1, 1)} for i in range(ROWS)])
    return table, engine


def _indexes(conn, name: str = "resident") -> set[str]:  # type: ignore[no-untyped-def]
    return {ix["name"] for ix in inspect(conn).get_indexes(name)}


def test_sqlite_drops_only_the_touched_indexes_and_rebuilds_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    table, engine = _filled(f"sqlite:///{tmp_path / 'bulk.db'}")
    before = {ix.name for ix in table.indexes}
    with engine.begin() as conn, indexes_rebuilt(conn, table, ["grid_code"], ROWS):
        # grid_code is set, updated_at changes with every update; name is untouched
        assert _indexes(conn) == {"ix_resident_name"}
        conn.execute(update(table).values(grid_code="130203101202003"))
    with engine.connect() as conn:
        assert _indexes(conn) == before
        plan = " ".join(r[-1] for r in conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM resident WHERE grid_code = '130203101202003'")))
        assert "ix_resident_grid_code" in plan
        assert conn.execute(select(table.c.grid_code).distinct()).scalars().all() == ["130203101202003"]


def test_a_failed_update_rolls_the_drop_back_too(tmp_path) -> None:  # type: ignore[no-untyped-def]
    table, engine = _filled(f"sqlite:///{tmp_path / 'bulk.db'}")
    with pytest.raises(RuntimeError), engine.begin() as conn, indexes_rebuilt(conn, table, ["grid_code"], ROWS):
        conn.execute(update(table).values(grid_code="x"))
        raise RuntimeError("the resolve step failed")
    with engine.connect() as conn:
        assert _indexes(conn) == {ix.name for ix in table.indexes}
        assert conn.execute(select(table.c.grid_code).distinct()).scalars().all() == ["130203101201001"]


def test_small_updates_and_postgresql_keep_their_indexes(tmp_path, postgres_url) -> None:  # type: ignore[no-untyped-def]
    for url, rows in ((f"sqlite:///{tmp_path / 'bulk.db'}", REBUILD_MIN_ROWS // 2), (postgres_url, ROWS)):
        table, engine = _filled(url)
        with engine.begin() as conn, indexes_rebuilt(conn, table, ["grid_code"], rows):
            assert _indexes(conn) == {ix.name for ix in table.indexes}
        engine.dispose()
