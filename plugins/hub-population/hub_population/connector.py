"""The population registry (人口基础信息系统): ``t_rk_hu`` households and ``t_rk_ry`` persons.

Settings: ``url`` (any SQLAlchemy URL; a relative ``sqlite:///`` path resolves against hub.yaml's
folder), optional ``batch_size`` (rows per Arrow batch, default 20,000) and ``settle_seconds``
(default 300: rows changed this recently are re-read next run, so a late writer in the cursor's
second is not skipped; see changes.py). Rows are never deleted at the source; a cancelled row
(``zxbz='1'``) becomes a tombstone carrying ``zxyy``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import literal_column, select, table
from sqlalchemy.exc import SQLAlchemyError

from hub.connector import Batch, Connector, SourceSpec, Stream
from hub.errors import ConfigError, SourceError
from hub_population.changes import read_changes
from hub_population.database import connect, describe, find_table, open_engine, safe_url
from hub_population.tables import CURSOR, TABLES, TableSpec

DEFAULT_BATCH = 20_000
DEFAULT_SETTLE_S = 300.0


class PopulationStream(Stream):
    cursor_field = CURSOR

    def __init__(self, spec: TableSpec, url: str, batch_size: int, settle_seconds: float = DEFAULT_SETTLE_S) -> None:
        self.spec = spec
        self.name = spec.stream
        self.primary_key = (spec.key,)
        self.url = url
        self.batch_size = batch_size
        self.settle_seconds = settle_seconds

    def columns(self) -> list[str]:
        return list(self.spec.columns)

    def read(self, state: dict[str, Any]) -> Iterator[Batch]:
        engine = open_engine(self.url)
        try:
            yield from read_changes(engine, self.url, self.spec, state, self.batch_size, self.settle_seconds)
        finally:
            engine.dispose()


def batch_size_of(source: SourceSpec) -> int:
    raw = source.get("batch_size", DEFAULT_BATCH)
    try:
        size = int(raw)
    except (TypeError, ValueError):
        size = 0
    if size < 1:
        raise ConfigError(f"source {source.name!r}: batch_size must be a positive integer, got {raw!r}")
    return size


def settle_of(source: SourceSpec) -> float:
    raw = source.get("settle_seconds", DEFAULT_SETTLE_S)
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 <= seconds <= 86_400:
        raise ConfigError(f"source {source.name!r}: settle_seconds must be a number of seconds (0-86400), got {raw!r}")
    return seconds


class PopulationConnector(Connector):
    name = "population"
    description = "人口基础信息系统: households (t_rk_hu) and persons (t_rk_ry) in a SQL database"
    options = {"url": "SQLAlchemy URL of the registry database",
               "batch_size": "rows per Arrow batch (default 20000)",
               "settle_seconds": "rows this recent are re-read next run (default 300)"}

    def check(self, source: SourceSpec) -> None:
        """Connect, then prove both tables exist with every spec column and can be selected from."""
        url = source.url("url")
        batch_size_of(source)
        settle_of(source)
        engine = open_engine(url)
        try:
            with connect(engine, url) as conn:
                for spec in TABLES:
                    name, present, _ = find_table(conn, spec.table, url)
                    missing = [c for c in spec.columns if c not in present]
                    if missing:
                        raise SourceError(f"population: table {spec.table} in {safe_url(url)} lacks column(s) "
                                          f"{', '.join(missing)}")
                    conn.execute(select(literal_column("1")).select_from(table(name)).limit(1)).all()
        except SQLAlchemyError as exc:
            raise SourceError(f"population: checking {safe_url(url)} failed: {describe(exc, url)}") from None
        finally:
            engine.dispose()

    def streams(self, source: SourceSpec) -> list[Stream]:
        url = source.url("url")
        size, settle = batch_size_of(source), settle_of(source)
        return [PopulationStream(spec, url, size, settle) for spec in TABLES]
