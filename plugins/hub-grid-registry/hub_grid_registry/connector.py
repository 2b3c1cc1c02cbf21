"""Reads ``grids.geojson``: one FeatureCollection, re-issued whole when grids are edited by hand.

The file is a snapshot, so the stream's state is its digest and the codes it held: an
unchanged file reads nothing; a re-issued one yields every feature, plus a tombstone for
each grid that disappeared (retired). Codes are compared as the hub keys them (spaces and
full-width digits folded), so a code whose stray space was fixed by hand is not "retired".

A shape the map index could not be built from is the contract's concern (``normalize: geometry``,
hub/quality/geometry.py): the grid loads without it, with a warning, rather than quarantining a
grid every record of its area is filed under.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from hub.connector import OP_COLUMN, REASON_COLUMN, UNREADABLE_COLUMN, Batch, Connector, SourceSpec, Stream
from hub.errors import SourceError
from hub.quality.normalize import code as canonical_code

COLUMNS = ("code", "name", "level", "parent", "manager", "phone", "geometry")
SCHEMA = pa.schema([(c, pa.string()) for c in COLUMNS] + [(OP_COLUMN, pa.string()), (REASON_COLUMN, pa.string()),
                                                         (UNREADABLE_COLUMN, pa.string())])


def _file_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise SourceError(f"grid registry file not found: {path}")
    return path.read_bytes()


def read_feature_collection(path: Path, blob: bytes | None = None) -> tuple[str, list[dict[str, Any]]]:
    blob = _file_bytes(path) if blob is None else blob
    try:
        doc = json.loads(blob.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}: malformed GeoJSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise SourceError(f"{path}: malformed GeoJSON (expected a FeatureCollection with a features list)")
    return hashlib.sha256(blob).hexdigest(), doc["features"]


def _row(feature: Any) -> dict[str, Any]:
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        return {c: None for c in COLUMNS} | {UNREADABLE_COLUMN: "feature without properties"}
    props = feature["properties"]
    geometry = feature.get("geometry")
    row: dict[str, Any] = {c: None if props.get(c) is None else str(props.get(c)) for c in COLUMNS[:-1]}
    row["geometry"] = json.dumps(geometry, ensure_ascii=False, separators=(",", ":")) if geometry else None
    return row


class GridsStream(Stream):
    name = "grids"
    primary_key = ("code",)
    cursor_field = None

    def __init__(self, path: Path) -> None:
        self.path = path

    def columns(self) -> list[str]:
        return list(COLUMNS)

    def read(self, state: dict[str, Any]) -> Iterator[Batch]:
        blob = _file_bytes(self.path)
        if state.get("sha256") == hashlib.sha256(blob).hexdigest():
            return  # the very bytes the committed read parsed: not parsed again (issue 19, ~2 MB at 500k)
        digest, features = read_feature_collection(self.path, blob)
        rows = [_row(f) for f in features]
        codes = sorted({c for r in rows if (c := canonical_code(r["code"]))})
        gone = sorted(set(state.get("codes", [])) - set(codes))
        rows += [{"code": c, OP_COLUMN: "delete", REASON_COLUMN: "retired"} for c in gone]
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        yield Batch(records=table, state={"sha256": digest, "codes": codes})


class GridRegistryConnector(Connector):
    name = "grid-registry"
    description = "网格管理中心: GeoJSON grid registry (3 levels)"
    options = {"path": "the grid registry GeoJSON file"}

    def check(self, source: SourceSpec) -> None:
        read_feature_collection(source.path("path"))

    def streams(self, source: SourceSpec) -> list[Stream]:
        return [GridsStream(source.path("path"))]
