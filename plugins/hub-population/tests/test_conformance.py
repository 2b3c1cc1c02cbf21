"""The shared conformance suite (including real SIGKILL crash tests) on SQLite and on real MariaDB."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub.testing import ConformanceSetup, ConnectorConformance


@pytest.fixture
def conformance(tmp_path: Path, population_as_of: Callable, config_writer: Callable) -> ConformanceSetup:
    db = population_as_of(f"sqlite:///{tmp_path / 'population.db'}", 0)
    # relative URL: resolved against hub.yaml's folder; small batches so extract:1 dies mid-read
    config = config_writer(tmp_path, "sqlite:///population.db", batch_size=400)
    return ConformanceSetup(config_path=config, source="population", advance=db.advance)


@pytest.fixture
def broken_conformance(tmp_path: Path, config_writer: Callable) -> ConformanceSetup:
    return ConformanceSetup(config_path=config_writer(tmp_path, "sqlite:///no-such.db"), source="population")


class TestPopulationSQLiteConformance(ConnectorConformance):
    pass


@pytest.mark.mariadb
class TestPopulationMariaDBConformance(ConnectorConformance):
    @pytest.fixture
    def conformance(self, tmp_path: Path, mariadb_url: str, population_as_of: Callable,
                    config_writer: Callable) -> ConformanceSetup:
        db = population_as_of(mariadb_url, 0)
        config = config_writer(tmp_path, mariadb_url, batch_size=400)
        return ConformanceSetup(config_path=config, source="population", advance=db.advance)

    @pytest.fixture
    def broken_conformance(self, tmp_path: Path, config_writer: Callable) -> ConformanceSetup:
        refused = "mysql+pymysql://root:s3cret-pw@127.0.0.1:1/test"
        return ConformanceSetup(config_path=config_writer(tmp_path, refused), source="population")
