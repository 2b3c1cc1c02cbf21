"""Planner statistics on PostgreSQL, refreshed before resolve probes the tables a load or a resolve just filled.

Resolve's first question is an anti-join of ``source_record`` against ``entity_link`` (records without a
current link). With no statistics on freshly written tables PostgreSQL plans it as if they were empty: a
100,000-resident county's second resolve sat over 5 minutes in that one query where an analysed table
answers in seconds (bench/results/province_runs.md). Autovacuum analyses eventually, when it is on and
when it gets there; the hub does not wait for it. SQLite plans from its indexes: nothing to do there.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

#: a table is stale when more rows changed since its last analysis than this share of it (autovacuum's
#: own default is 10 %), and at least STALE_ROWS
STALE_SHARE = 0.1
STALE_ROWS = 1000
#: the tables resolve's change probe joins
PROBED = ("source_record", "entity_link")


def refresh_stale(connection: Connection, tables: Iterable[str]) -> list[str]:
    """ANALYZE those of ``tables`` (``schema.name``, or a name in ``public``; a partitioned table stands for
    its partitions) whose statistics are stale; returns the ones analysed. A no-op but on PostgreSQL."""
    if connection.dialect.name != "postgresql":
        return []
    wanted = {t if "." in t else f"public.{t}" for t in tables}
    rows = connection.execute(text(
        "SELECT s.schemaname || '.' || s.relname, coalesce(pn.nspname || '.' || p.relname, ''), "
        "s.n_mod_since_analyze, s.n_live_tup FROM pg_stat_user_tables s "
        "LEFT JOIN pg_inherits i ON i.inhrelid = s.relid LEFT JOIN pg_class p ON p.oid = i.inhparent "
        "LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace"))
    stale = sorted(name for name, parent, changed, live in rows
                   if (name in wanted or parent in wanted) and changed >= STALE_ROWS and changed > STALE_SHARE * live)
    for name in stale:
        schema, table = name.split(".", 1)
        connection.execute(text(f'ANALYZE "{schema}"."{table}"'))
    return stale
