"""The grid projection returns at once when neither the registry's records nor the cells changed since it
last ran (issue 19), reporting what a run would: every live record unchanged. Any change to its inputs,
a load, a tombstone or a cell written elsewhere, runs it again, and each result equals a projection
made without the mark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, select, update

from hub.context import HubContext
from hub.db.models import GridCell, SourceRecord, StreamState
from hub.db.session import get_engine, transaction
from hub.resolve.grids import STATE, project_grids

HUB_YAML = """\
database: sqlite:///{db}
landing: landing
sources:
  grid-registry: {{connector: grid-registry, path: grids.geojson}}
"""
TOWN = "130203101000"


def _geometry(x: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x, 39.0], [x + 0.1, 39.0], [x + 0.1, 39.1], [x, 39.0]]]}


@pytest.fixture
def ctx(tmp_path: Path) -> HubContext:
    (tmp_path / "hub.yaml").write_text(HUB_YAML.format(db=tmp_path / "hub.db"), encoding="utf-8")
    ctx = HubContext.from_config(tmp_path / "hub.yaml")
    ctx.ensure_store()
    rows = [(TOWN, "唐山镇", 1, None)] + [(f"130203101{n:03d}", f"村{n}", 2, TOWN) for n in range(1, 4)]
    with transaction(ctx.db_url) as s:
        for code, name, level, parent in rows:
            s.add(SourceRecord(source="grid-registry", stream="grids", source_key=code, content_hash=code,
                               data={"grid_name": name, "level": level, "parent": parent,
                                     "geometry": _geometry(level / 10)}, first_run_id="r1", last_run_id="r1"))
    return ctx


def _cells(ctx: HubContext) -> list[tuple[Any, ...]]:
    with transaction(ctx.db_url) as s:
        return [(c.code, c.name, c.level, c.parent_code, c.retired, c.min_lon) for c in
                s.scalars(select(GridCell).order_by(GridCell.code))]


def _without_mark(ctx: HubContext) -> dict[str, int]:
    """The projection as it ran before the mark: forget the mark, project, and leave a fresh one."""
    with transaction(ctx.db_url) as s:
        s.execute(delete(StreamState).where(StreamState.source == "resolve", StreamState.stream == STATE))
    return project_grids(ctx)


def _records_read(ctx: HubContext) -> list[str]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "source_record.data" in statement or "FROM grid_cell" in statement and "grid_cell.geometry" in statement:
            seen.append(statement)

    engine = get_engine(ctx.db_url)
    event.listen(engine, "before_cursor_execute", note)
    try:
        project_grids(ctx)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def test_nothing_changed_returns_what_a_run_would(ctx: HubContext) -> None:
    assert project_grids(ctx) == {"created": 4, "updated": 0, "retired": 0, "unchanged": 0}
    cells = _cells(ctx)
    assert project_grids(ctx) == {"created": 0, "updated": 0, "retired": 0, "unchanged": 4}
    assert _records_read(ctx) == []  # neither a record nor a cell was read
    assert _cells(ctx) == cells
    assert _without_mark(ctx) == {"created": 0, "updated": 0, "retired": 0, "unchanged": 4}
    assert _cells(ctx) == cells


def test_a_load_or_a_tombstone_projects_again(ctx: HubContext) -> None:
    project_grids(ctx)
    with transaction(ctx.db_url) as s:
        s.execute(update(SourceRecord).where(SourceRecord.source_key == f"130203101{1:03d}").values(
            data={"grid_name": "东村", "level": 2, "parent": TOWN, "geometry": _geometry(0.2)}, last_run_id="r2"))
    assert project_grids(ctx) == {"created": 0, "updated": 1, "retired": 0, "unchanged": 3}
    assert ("130203101001", "东村") in [c[:2] for c in _cells(ctx)]
    with transaction(ctx.db_url) as s:
        s.execute(update(SourceRecord).where(SourceRecord.source_key == f"130203101{2:03d}").values(
            deleted=True, last_run_id="r3"))
    assert project_grids(ctx) == {"created": 0, "updated": 0, "retired": 1, "unchanged": 3}
    assert project_grids(ctx) == {"created": 0, "updated": 0, "retired": 0, "unchanged": 3}
    cells = _cells(ctx)
    assert _without_mark(ctx) == {"created": 0, "updated": 0, "retired": 0, "unchanged": 3}
    assert _cells(ctx) == cells


def test_a_cell_written_elsewhere_projects_again(ctx: HubContext) -> None:
    project_grids(ctx)
    cells = _cells(ctx)
    with transaction(ctx.db_url) as s:
        s.execute(update(GridCell).where(GridCell.code == TOWN).values(name="改名"))
    assert project_grids(ctx) == {"created": 0, "updated": 1, "retired": 0, "unchanged": 3}
    assert _cells(ctx) == cells
