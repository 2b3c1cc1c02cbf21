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


def test_executemany_binds_like_sqlalchemy_does(tmp_path, postgres_url) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import JSON, Boolean, Date, bindparam

    from hub.db.bulk import executemany

    stamp = dt.datetime(2026, 11, 29, 8, 30, 15, 123456)
    for url in (f"sqlite:///{tmp_path / 'many.db'}", postgres_url):
        meta = MetaData()
        tables = [Table(f"bulk_many_{n}", meta, Column("id", String(8), primary_key=True),
                        Column("born", Date), Column("doc", JSON), Column("ok", Boolean, default=True),
                        Column("status", String(8), default="active"),
                        Column("at", DateTime, default=lambda: stamp, onupdate=lambda: stamp + dt.timedelta(days=1)))
                  for n in ("core", "fast")]
        engine = create_engine(url)
        meta.drop_all(engine)
        meta.create_all(engine)
        rows = [{"id": f"P{i}", "born": dt.date(1950, 1, 1 + i) if i % 3 else None,
                 "doc": {"name": "张三", "n": i} if i % 2 else None} for i in range(25)]
        try:
            with engine.begin() as conn:
                core, fast = tables
                conn.execute(core.insert(), rows)
                executemany(conn, fast.insert(), rows)
                changes = [{"_pk": f"P{i}", "_doc": {"moved": True}} for i in range(0, 25, 4)]
                for table, write in ((core, conn.execute), (fast, lambda s, r: executemany(conn, s, r))):
                    write(table.update().where(table.c.id == bindparam("_pk")).values(doc=bindparam("_doc")), changes)
                read = [conn.execute(select(t).order_by(t.c.id)).all() for t in tables]
            assert read[0] == read[1] and len(read[1]) == 25
            by_id = {r.id: r for r in read[1]}
            assert by_id["P0"].at == stamp + dt.timedelta(days=1) and by_id["P1"].at == stamp  # onupdate, default
            assert by_id["P0"].doc == {"moved": True} and by_id["P1"].doc == {"name": "张三", "n": 1}
            assert by_id["P3"].ok is True and by_id["P3"].status == "active" and by_id["P3"].born is None
            assert by_id["P2"].born == dt.date(1950, 1, 3)
        finally:
            meta.drop_all(engine)
            engine.dispose()
