"""Fixtures: a small synthetic county (3 days) and its population tables rebuilt as of any day.

The synthetic population.db holds each row's latest state; gxsj says on which day it last
changed. So the database "as of day k" is the rows with gxsj before day k+1, and advancing to
day k+1 inserts that day's rows: what the vendor's system would have shown on each day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.pool import NullPool

from hub.synth import generate
from hub.synth.days import day_date
from hub.synth.population import metadata, t_rk_hu, t_rk_ry

DAYS = 3


def midnight(day: int) -> dt.datetime:
    return dt.datetime.combine(day_date(day), dt.time())


class PopulationAsOf:
    """A copy of the synthetic population tables in any database, advanced one day at a time."""

    def __init__(self, synth_db: Path, url: str, day: int = 0) -> None:
        self.source = create_engine(f"sqlite:///{synth_db}", poolclass=NullPool)
        self.url = url
        self.day = -1
        engine = create_engine(url, poolclass=NullPool)
        metadata.drop_all(engine)
        metadata.create_all(engine)
        engine.dispose()
        self.copy(None, midnight(day + 1))
        self.day = day

    def copy(self, start: dt.datetime | None, end: dt.datetime) -> int:
        target = create_engine(self.url, poolclass=NullPool)
        copied = 0
        try:
            with self.source.connect() as src, target.begin() as dst:
                for tbl in (t_rk_hu, t_rk_ry):
                    stmt = select(tbl).where(tbl.c.gxsj < end)
                    if start is not None:
                        stmt = stmt.where(tbl.c.gxsj >= start)
                    rows = [dict(r._mapping) for r in src.execute(stmt)]
                    if rows:
                        dst.execute(insert(tbl), rows)
                    copied += len(rows)
        finally:
            target.dispose()
        return copied

    def advance(self) -> bool:
        """Apply the next day's changes; False once the synthetic days are used up."""
        if self.day >= DAYS:
            return False
        self.day += 1
        self.copy(midnight(self.day), midnight(self.day + 1))
        return True


@pytest.fixture(scope="session")
def synth_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(out, seed=7, residents=1500, days=DAYS)
    return out


@pytest.fixture
def population_as_of(synth_county: Path) -> Callable[[str, int], PopulationAsOf]:
    def build(url: str, day: int = 0) -> PopulationAsOf:
        return PopulationAsOf(synth_county / "population.db", url, day)

    return build


def write_config(folder: Path, url: str, batch_size: int | None = None) -> Path:
    extra = f", batch_size: {batch_size}" if batch_size else ""
    config = folder / "hub.yaml"
    config.write_text(f'sources:\n  population: {{connector: population, url: "{url}"{extra}}}\n', "utf-8")
    return config


@pytest.fixture
def config_writer() -> Callable[..., Path]:
    return write_config
