"""Planner statistics refreshed on PostgreSQL before resolve probes freshly written tables."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from hub.db.statistics import refresh_stale


def _analysed(conn, name: str) -> bool:  # type: ignore[no-untyped-def]
    return conn.execute(text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = :n"),
                        {"n": name}).scalar_one()


def test_stale_partitions_are_analysed_once(postgres_url: str) -> None:
    """A partitioned table stands for its partitions; a partition loaded since its last analysis is analysed,
    one barely changed is not, and a second call finds nothing stale."""
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE link (id int, county text) PARTITION BY LIST (county)"))
            conn.execute(text("CREATE TABLE link_a PARTITION OF link FOR VALUES IN ('a')"))
            conn.execute(text("CREATE TABLE link_b PARTITION OF link FOR VALUES IN ('b')"))
            conn.execute(text("CREATE TABLE other (id int)"))
            conn.execute(text("INSERT INTO link SELECT g, 'a' FROM generate_series(1, 20000) g"))
            conn.execute(text("INSERT INTO link SELECT g, 'b' FROM generate_series(1, 10) g"))
            conn.execute(text("INSERT INTO other SELECT g FROM generate_series(1, 20000) g"))
        with engine.begin() as conn:  # the statistics collector reports at commit
            conn.execute(text("SELECT pg_stat_force_next_flush()"))
        with engine.begin() as conn:
            assert refresh_stale(conn, ["link"]) == ["public.link_a"]
        with engine.begin() as conn:
            assert _analysed(conn, "link_a") and not _analysed(conn, "link_b") and not _analysed(conn, "other")
            assert refresh_stale(conn, ["link", "public.other"]) == ["public.other"]
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_stat_force_next_flush()"))
        with engine.begin() as conn:
            assert refresh_stale(conn, ["link", "other"]) == []
    finally:
        engine.dispose()


def test_sqlite_needs_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE link (id int)"))
        conn.execute(text("INSERT INTO link VALUES (1)"))
        assert refresh_stale(conn, ["link"]) == []
    engine.dispose()
