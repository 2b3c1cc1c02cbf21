"""Airflow runs in child processes here: it reads its configuration at first import, and the test
process must not inherit one test's AIRFLOW_HOME into another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.orchestration.airflow_home import airflow_env, migrate_metadata

REPO = Path(__file__).resolve().parents[2]


def run_python(code: str, env: dict[str, str], timeout: float = 600) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout, check=False)
    marker = "__REPORT__"
    out = proc.stdout
    if marker not in out:
        raise AssertionError(f"airflow child failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(out.split(marker, 1)[1].strip().splitlines()[0])


def write_county(county: Path, database: str = "sqlite:///var/hub.db", landing: str = "var/landing",
                 schedule: str = "\"@hourly\"") -> Path:
    """A county folder whose only source is a small grid registry."""
    county.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO / "plugins/hub-grid-registry/tests"))
    try:
        from test_grid_registry import sample_features, write_geojson
    finally:
        sys.path.pop(0)
    write_geojson(county / "grids.geojson", sample_features())
    (county / "hub.yaml").write_text(
        f"database: {database}\nlanding: {landing}\n"
        f"sources:\n  grid-registry: {{connector: grid-registry, path: grids.geojson, schedule: {schedule}}}\n"
        "  second-registry: {connector: grid-registry, path: grids.geojson, enabled: false}\n", "utf-8")
    return county


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A county folder with a grid registry, and an Airflow home with a migrated metadata DB."""
    base = tmp_path_factory.mktemp("airflow")
    county = write_county(base / "county")
    env = airflow_env(base / "home", hub_config=county / "hub.yaml")
    migrate_metadata(env)
    return county, env
