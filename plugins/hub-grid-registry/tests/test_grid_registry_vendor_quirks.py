"""Grid files edited by other hands: GeoJSON the spec allows, and the slips a hand editor makes.

Allowed and loaded: MultiPolygon, holes, 3-D positions, ``code``/``level`` as JSON numbers,
``parent`` missing, a UTF-8 BOM, a ``crs`` member, a Feature without geometry, a self-intersecting
ring (GEOS still answers point-in-polygon). Loaded without a shape, with the reason reported as a
warning (the grid's code still files every record of its area, and resolve goes on): a ring too
short to be a polygon, non-numeric positions, positions that are not longitude/latitude (a
projected CRS, or swapped axes). A code written with a stray space in one issue is the same grid
in the next: it is not retired.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.db.models import GridCell, QuarantinedRow
from hub.db.session import transaction
from hub.resolve import resolve
from hub.stages import sync
from hub.testing import ConformanceSetup, context_for

TOWN, VILLAGE = "130203101000", "130203101201"


def ring(x: float, y: float, size: float, z: float | None = None) -> list[list[float]]:
    pts = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return [p + [z] for p in pts] if z is not None else pts


def feat(code: Any, level: Any, geometry: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry,
            "properties": {"code": code, "name": f"网格{code}", "level": level, **props}}


def write(path: Path, features: list[dict[str, Any]], bom: bool = False) -> None:
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
           "features": features}
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(doc, ensure_ascii=False).encode("utf-8"))


def group(n: int, geometry: Any) -> dict[str, Any]:
    return feat(f"{VILLAGE}{n:03d}", 3, geometry, parent=VILLAGE)


def test_allowed_shapes_load_and_a_broken_shape_loads_the_grid_without_it(tmp_path: Path) -> None:
    grids = tmp_path / "grids.geojson"
    holed = {"type": "Polygon", "coordinates": [ring(118.0, 39.0, 0.1), ring(118.02, 39.02, 0.02)[::-1]]}
    features = [  # the township has no "parent" key at all; codes and levels as JSON numbers
        feat(int(TOWN), 1, {"type": "MultiPolygon", "coordinates": [[ring(118.0, 39.0, 0.5)], [ring(119, 39, 0.1)]]}),
        feat(int(VILLAGE), "2", {"type": "Polygon", "coordinates": [ring(118.0, 39.0, 0.2, z=12.5)]}, parent=int(TOWN)),
        group(1, holed),
        group(2, None),
        group(3, {"type": "Polygon", "coordinates": [[[118.1, 39.1], [118.2, 39.2], [118.2, 39.1], [118.1, 39.2],
                                                      [118.1, 39.1]]]}),  # a bow-tie
        group(4, {"type": "Polygon", "coordinates": [[[118.1, 39.1], [118.2, 39.2], [118.1, 39.1]]]}),
        group(5, {"type": "Polygon", "coordinates": [[["118.1", "39.1"], ["118.2", "39.1"], ["118.2", "39.2"],
                                                      ["118.1", "39.1"]]]}),
        group(6, {"type": "Polygon", "coordinates": [ring(39.1, 118.1, 0.05)]}),  # lat/lon swapped
        group(7, {"type": "Polygon", "coordinates": [ring(500000.0, 4330000.0, 500.0)]}),  # metres, not degrees
        group(8, {"type": "Polygon", "coordinates": []}),
    ]
    write(grids, features, bom=True)
    config = tmp_path / "hub.yaml"
    config.write_text(f"sources:\n  grid-registry: {{connector: grid-registry, path: {grids}}}\n", "utf-8")
    ctx, _ = context_for(ConformanceSetup(config_path=config, source="grid-registry"), tmp_path, "store")
    info = sync(ctx, "grid-registry", resolve=False)
    assert info.load.streams["grids"]["read"] == info.load.streams["grids"]["loaded"] == 10
    assert info.validate.streams["grids"].checks["normalize.geometry:geometry"] == {"passed": 4, "failed": 5}
    with transaction(ctx.db_url) as session:
        assert session.scalars(select(QuarantinedRow)).all() == []
    resolve(ctx)  # the point-in-polygon index is built from every loaded grid: it must not crash
    with transaction(ctx.db_url) as session:
        cells = {c.code: c for c in session.scalars(select(GridCell))}
    assert set(cells) == {TOWN, VILLAGE, *(f"{VILLAGE}{n:03d}" for n in range(1, 9))}
    assert cells[VILLAGE].parent_code == TOWN and cells[VILLAGE].level == 2 and cells[TOWN].parent_code is None
    assert [n for n in range(1, 9) if cells[f"{VILLAGE}{n:03d}"].geometry is None] == [2, 4, 5, 6, 7, 8]
    assert sync(ctx, "grid-registry", resolve=False).extract.rows == 0


def test_code_with_a_stray_space_is_not_retired_when_the_next_issue_fixes_it(tmp_path: Path) -> None:
    grids = tmp_path / "grids.geojson"
    poly = {"type": "Polygon", "coordinates": [ring(118.0, 39.0, 0.1)]}
    write(grids, [feat(TOWN, 1, poly), feat(f"{VILLAGE} ", 2, poly, parent=TOWN)])
    config = tmp_path / "hub.yaml"
    config.write_text(f"sources:\n  grid-registry: {{connector: grid-registry, path: {grids}}}\n", "utf-8")
    ctx, _ = context_for(ConformanceSetup(config_path=config, source="grid-registry"), tmp_path, "store")
    sync(ctx, "grid-registry", resolve=False)
    write(grids, [feat(TOWN, 1, poly), feat(VILLAGE, 2, poly, parent=TOWN, name="东风村")])
    info = sync(ctx, "grid-registry", resolve=False)
    assert info.load.streams["grids"]["tombstoned"] == 0, "the grid whose code lost its space was retired"
    resolve(ctx)
    with transaction(ctx.db_url) as session:
        cells = {c.code: c for c in session.scalars(select(GridCell))}
    assert not cells[VILLAGE].retired and cells[VILLAGE].name == "东风村"
