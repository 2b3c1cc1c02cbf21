"""The ``geometry`` normaliser: a GeoJSON polygon the grid map can be built from, or why not.

A grid's shape is drawn by hand; a broken one (a ring of fewer than 4 positions, positions that
are not numbers, positions outside longitude/latitude: a projected CRS or swapped axes) must not
crash resolve's point-in-polygon index later. The grid itself (code, name, parent) is still
sound, and every record filed under its code depends on it, so a contract normally marks this
check ``invalidSeverity: warning``: the grid loads without a shape and the run reports why.
A self-intersecting ring is kept as drawn: it still answers point-in-polygon.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hub.quality.invalid import Invalid


def _positions(node: Any) -> Iterator[Any]:
    if isinstance(node, list) and node and not isinstance(node[0], list):
        yield node
    elif isinstance(node, list):
        for child in node:
            yield from _positions(child)


def problem(geometry: Any) -> str | None:
    """Why the geometry cannot go onto the map, or None when shapely can build it in lon/lat."""
    import shapely
    from shapely.geometry import shape

    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return "geometry is not a Polygon or MultiPolygon"
    coords = geometry.get("coordinates")
    for pos in _positions(coords):
        if len(pos) < 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos):
            return "geometry has a position that is not numbers"
        lon, lat = pos[0], pos[1]
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            return f"position ({lon}, {lat}) is not WGS84 longitude/latitude (projected CRS or swapped axes?)"
    polygons = [coords] if geometry["type"] == "Polygon" else coords if isinstance(coords, list) else []
    for polygon in polygons:
        if not isinstance(polygon, list) or any(not isinstance(r, list) or len(r) < 4 for r in polygon):
            return "geometry has a ring of fewer than 4 positions (RFC 7946 §3.1.6)"
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, IndexError, shapely.errors.ShapelyError) as exc:
        return f"geometry cannot be built: {str(exc).splitlines()[0][:120]}"
    return "geometry has no coordinates" if geom.is_empty else None


def geometry(value: Any) -> str | None:
    """GeoJSON text (or a parsed geometry) → the same geometry as compact JSON text."""
    if value is None or value == "":
        return None
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError as exc:
        raise Invalid("geometry", f"not JSON: {exc.msg}") from None
    why = problem(parsed)
    if why:
        raise Invalid("geometry", why)
    return value if isinstance(value, str) else json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
