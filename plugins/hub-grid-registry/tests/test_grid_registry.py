"""The grid registry connector: conformance, re-issued files, bad GeoJSON, and the CLI end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.testing import ConformanceSetup, ConnectorConformance, context_for

TOWNSHIP = "130203101000"


def square(x: float, y: float, size: float) -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(code: str, name: str, level: int, parent: str | None, geom: dict, phone: str | None = None) -> dict:
    return {"type": "Feature", "geometry": geom,
            "properties": {"code": code, "name": name, "level": level, "parent": parent,
                           "manager": "王芳" if phone else None, "phone": phone}}


def sample_features() -> list[dict]:
    feats = [feature(TOWNSHIP, "唐山镇", 1, None, square(118.0, 39.0, 0.4), "13812345678")]
    for v in range(1, 4):
        vcode = f"130203101{200 + v}"
        feats.append(feature(vcode, f"村{v}", 2, TOWNSHIP, square(118.0 + 0.1 * v, 39.0, 0.1)))
        for g in range(1, 3):
            feats.append(feature(f"{vcode}{g:03d}", f"村{v}第{g}村民小组", 3, vcode,
                                 square(118.0 + 0.1 * v, 39.0 + 0.05 * (g - 1), 0.05)))
    return feats


def write_geojson(path: Path, features: list[dict]) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")


def make_setup(tmp_path: Path, geojson_name: str = "grids.geojson") -> ConformanceSetup:
    grids = tmp_path / "grids.geojson"
    write_geojson(grids, sample_features())
    config = tmp_path / "hub.yaml"
    config.write_text(f"sources:\n  grid-registry: {{connector: grid-registry, path: {geojson_name}}}\n", "utf-8")

    def advance() -> bool:
        feats = [f for f in sample_features() if f["properties"]["code"] != "130203101203002"]
        feats[1]["properties"]["name"] = "东风村"
        write_geojson(grids, feats)
        return True

    return ConformanceSetup(config_path=config, source="grid-registry", advance=advance)


@pytest.fixture
def conformance(tmp_path: Path) -> ConformanceSetup:
    return make_setup(tmp_path)


@pytest.fixture
def broken_conformance(tmp_path: Path) -> ConformanceSetup:
    return make_setup(tmp_path, geojson_name="missing.geojson")


class TestGridRegistryConformance(ConnectorConformance):
    pass


def hub_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, check=False)


def test_sync_twice_then_grids_tree(tmp_path: Path) -> None:
    make_setup(tmp_path)
    first = hub_cli("sync", "grid-registry", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = hub_cli("sync", "grid-registry", cwd=tmp_path)
    assert second.returncode == 0 and "read 0" in second.stdout
    refreshed = hub_cli("sync", "grid-registry", "--full-refresh", cwd=tmp_path)
    assert "loaded 0, unchanged 10" in refreshed.stdout, refreshed.stdout
    tree = hub_cli("grids", cwd=tmp_path)
    assert "唐山镇" in tree.stdout and "村2第1村民小组" in tree.stdout and "level 3" in tree.stdout
    runs = json.loads(hub_cli("runs", "--json", cwd=tmp_path).stdout)
    whole = [r for r in runs if r["stream"] is None]
    assert [r["state"] for r in whole] == ["success"] * 3
    assert {"source", "stream", "run_id", "started_at", "finished_at", "state", "read", "loaded", "unchanged",
            "quarantined", "tombstoned"} <= set(runs[0])
    assert whole[-1]["loaded"] == 10 and whole[0]["loaded"] == 0 and whole[0]["unchanged"] == 10
    assert all(r["started_at"].endswith("+00:00") and r["finished_at"].endswith("+00:00") for r in whole)


def test_reissued_file_renames_and_retires(tmp_path: Path) -> None:
    from sqlalchemy import select

    from hub.db.models import GridCell
    from hub.db.session import transaction
    from hub.resolve import resolve
    from hub.stages import sync

    setup = make_setup(tmp_path)
    ctx, _ = context_for(setup, tmp_path, "store")
    sync(ctx, "grid-registry")
    assert setup.advance is not None and setup.advance()
    info = sync(ctx, "grid-registry", resolve=False)
    assert info.load.streams["grids"]["tombstoned"] == 1
    assert resolve(ctx).grids["retired"] == 1
    with transaction(ctx.db_url) as session:
        cells = {c.code: c for c in session.scalars(select(GridCell))}
    assert cells["130203101203002"].retired
    assert cells["130203101201"].name == "东风村"
    assert cells["130203101202001"].parent_code == "130203101202"
    assert cells[TOWNSHIP].manager_phone_enc and "13812345678" not in cells[TOWNSHIP].manager_phone_enc


def test_bad_feature_is_quarantined_not_dropped(tmp_path: Path) -> None:
    """A bad code quarantines its feature; a Point where a polygon belongs only loses the shape."""
    from hub.stages import sync

    setup = make_setup(tmp_path)
    feats = sample_features()
    feats[3]["properties"]["code"] = "13020310120"  # 11 digits
    feats[4]["geometry"] = {"type": "Point", "coordinates": [118.0, 39.0]}
    write_geojson(tmp_path / "grids.geojson", feats)
    ctx, _ = context_for(setup, tmp_path, "store")
    info = sync(ctx, "grid-registry", resolve=False)
    counts = info.load.streams["grids"]
    assert counts["read"] == 10 and counts["quarantined"] == 1 and counts["loaded"] == 9
    assert info.validate.streams["grids"].checks["normalize.geometry:geometry"]["failed"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "malformed GeoJSON (line 1"), ('{"type": "Feature"}', "expected a FeatureCollection")],
)
def test_malformed_geojson_is_one_line_and_nonzero(tmp_path: Path, content: str, message: str) -> None:
    make_setup(tmp_path)
    (tmp_path / "grids.geojson").write_text(content, "utf-8")
    proc = hub_cli("sync", "grid-registry", cwd=tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_missing_config_and_unknown_connector(tmp_path: Path) -> None:
    proc = hub_cli("sync", "grid-registry", cwd=tmp_path)
    assert proc.returncode == 2 and "config file not found" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "hub.yaml").write_text("sources:\n  x: {connector: nonesuch}\n", "utf-8")
    proc = hub_cli("check", "x", cwd=tmp_path)
    assert proc.returncode != 0 and "unknown connector 'nonesuch'" in proc.stderr


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    make_setup(tmp_path)
    env = {**os.environ, "HUB_DATABASE": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    proc = subprocess.run([sys.executable, "-m", "hub", "sync", "grid-registry"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "cannot reach the database" in proc.stderr
    assert "Traceback" not in proc.stderr
