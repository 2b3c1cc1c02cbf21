"""One PostgreSQL partition a county for the large tables (declarative LIST partitioning).

Migration 0013 makes ``source_record`` and ``entity_link`` partitioned by ``county_code`` with a
DEFAULT partition; a county configured in hub.yaml gets its own partition here before anything of
it is loaded, so a county's sync and resolve touch only its own heap and indexes, and dropping a
county is dropping its partitions. Partitions live in their own schema (``county_partitions``):
the public schema lists exactly the model's tables. SQLite stores are not partitioned.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from hub.province.counties import valid_code

SCHEMA = "county_partitions"
TABLES = ("source_record", "entity_link")
#: partitions a store may hold: a province's counties (GB/T 2260 lists ~2,850 county-level
#: divisions in all China, the largest province ~180); far beyond, planning and locks suffer
MAX_PARTITIONS = 400


def partition_name(table: str, county: str) -> str:
    return f"{table}_c{county}"


def existing(connection: Connection) -> dict[str, set[str]]:
    """table -> county codes that have a partition of their own."""
    rows = connection.execute(text(
        "SELECT parent.relname, child.relname FROM pg_inherits i "
        "JOIN pg_class parent ON parent.oid = i.inhparent JOIN pg_class child ON child.oid = i.inhrelid "
        "WHERE parent.relname = ANY(:tables)"), {"tables": list(TABLES)})
    found: dict[str, set[str]] = {t: set() for t in TABLES}
    for parent, child in rows:
        prefix = f"{parent}_c"
        if child.startswith(prefix):
            found[parent].add(child[len(prefix):])
    return found


def ensure_partitions(engine: Engine, counties: Iterable[str]) -> list[str]:
    """Create the missing county partitions (rows of that county already in DEFAULT move into
    theirs in the same transaction); returns the partitions created. A no-op off PostgreSQL."""
    if engine.dialect.name != "postgresql":
        return []
    wanted = sorted(set(counties))
    bad = [c for c in wanted if not valid_code(c)]
    if bad:
        raise ValueError(f"not a county division code: {bad[0]!r} (six digits, not ending in 00)")
    if len(wanted) > MAX_PARTITIONS:
        raise ValueError(f"{len(wanted)} counties: more than {MAX_PARTITIONS} partitions a table")
    created: list[str] = []
    with engine.begin() as conn:
        have = existing(conn)
        for table in TABLES:
            missing = [c for c in wanted if c not in have[table]]
            if not missing:
                continue
            # one lock on the parent at a time: concurrent workers creating the same partition wait
            conn.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
            have = existing(conn)
            for county in (c for c in missing if c not in have[table]):
                created.append(_create(conn, table, county))
    return created


def _create(conn: Connection, table: str, county: str) -> str:
    name = partition_name(table, county)
    default = f"{SCHEMA}.{table}_default"
    # a partition cannot be attached while DEFAULT holds rows of its value: move them across
    conn.execute(text(f"CREATE TABLE {SCHEMA}.{name} (LIKE {table} INCLUDING DEFAULTS)"))
    conn.execute(text(f"INSERT INTO {SCHEMA}.{name} SELECT * FROM {default} WHERE county_code = :c"), {"c": county})
    conn.execute(text(f"DELETE FROM {default} WHERE county_code = :c"), {"c": county})
    conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {SCHEMA}.{name} FOR VALUES IN ('{county}')"))
    return name


_ensured: set[tuple[str, tuple[str, ...]]] = set()


def ensure_county_partitions(url: str, counties: Iterable[str]) -> None:
    """``ensure_partitions`` once a process per store and county list (every stage calls it)."""
    from hub.db.session import get_engine

    key = (url, tuple(sorted(counties)))
    if key in _ensured:
        return
    ensure_partitions(get_engine(url), key[1])  # the process's cached engine
    _ensured.add(key)
