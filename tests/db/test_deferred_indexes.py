"""A fresh resolve builds the places step's indexes once, and never leaves the store without one.

The entity step's insert leaves the person/household/organisation indexes the places step rebuilds
anyway (hub.db.bulk.indexes_deferred). Checked on a synced synthetic county, with the rebuild
threshold lowered so its 1,500 residents take the path a county of 200k takes: after a resolve, after
one failing inside the places step, and after a process killed between the two steps (the next
``ensure_store`` creates what is missing); and the placements equal those of a resolve that
rebuilds nothing.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).parents[1] / "resolve"))

from county import build_county, sync_all  # noqa: E402

from hub.context import HubContext  # noqa: E402
from hub.db import bulk  # noqa: E402
from hub.db.base import Base  # noqa: E402
from hub.db.models import EntityLink, Household, Organization, Person  # noqa: E402
from hub.db.session import get_engine, transaction  # noqa: E402
from hub.resolve import resolve  # noqa: E402

SECRET = "deferred-indexes-secret"
PLACES_INDEXES = {"ix_person_building_id", "ix_person_grid_birth", "ix_person_grid_id",
                  "ix_household_grid_code", "ix_household_building_id"}


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A county's store with every source synced and nothing resolved (copied by each test)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", SECRET)
        out = tmp_path_factory.mktemp("county")
        ctx, stop, sources = build_county(out, residents=1500, days=0)
        try:
            ctx.ensure_store()
            sync_all(ctx, sources)
        finally:
            stop()
        yield out


def _copy(out: Path, tmp: Path) -> tuple[Path, str]:
    """A copy of the synced store and a hub.yaml naming it."""
    source = out / "hub.yaml"
    db = tmp / "hub.db"
    url = HubContext.from_config(source).db_url
    with sqlite3.connect(url.removeprefix("sqlite:///")) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    cfg = tmp / "hub.yaml"
    cfg.write_text(re.sub(r"^database: .*$", f"database: sqlite:///{db}", source.read_text(encoding="utf-8"),
                          flags=re.M), encoding="utf-8")
    return cfg, f"sqlite:///{db}"


def _missing(url: str) -> set[str]:
    """Indexes the models declare that the store's tables lack (read from sqlite_master)."""
    with get_engine(url).connect() as connection:
        rows = connection.execute(text("SELECT type, name FROM sqlite_master")).all()
    tables = {name for kind, name in rows if kind == "table"}
    indexes = {name for kind, name in rows if kind == "index"}
    declared = {ix.name for table in Base.metadata.tables.values() if table.name in tables for ix in table.indexes}
    assert {"ix_person_grid_id", "ix_entity_link_entity"} <= declared
    return declared - indexes


def _placed(url: str) -> dict[str, Any]:
    with transaction(url) as session:
        return {
            "person": sorted(session.execute(select(Person.id, Person.grid_code, Person.building_id, Person.household_id,
                                                    Person.registered_grid_code)).tuples()),
            "household": sorted(session.execute(select(Household.id, Household.grid_code,
                                                       Household.building_id)).tuples()),
            "organization": sorted(session.execute(select(Organization.id, Organization.grid_code,
                                                          Organization.building_id)).tuples()),
            "links": sorted(session.execute(select(EntityLink.source, EntityLink.stream, EntityLink.source_key,
                                                   EntityLink.entity_type, EntityLink.entity_id)).tuples()),
        }


@pytest.fixture
def rebuilding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1,500-resident county takes the rebuild path a 200k county takes."""
    monkeypatch.setenv("HUB_SECRET_KEY", SECRET)
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 0)


def test_a_fresh_resolve_leaves_every_index_and_places_as_without_deferring(
        synced: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rebuilding: None) -> None:
    from hub.resolve import places

    plain_dir, deferred_dir = tmp_path / "plain", tmp_path / "deferred"
    plain_dir.mkdir()
    deferred_dir.mkdir()
    plain_cfg, plain_url = _copy(synced, plain_dir)
    cfg, url = _copy(synced, deferred_dir)
    at_places: list[set[str]] = []
    real = places.place_entities

    def observed(ctx: HubContext, **kw: Any) -> dict[str, int]:
        at_places.append(_missing(ctx.db_url))
        return real(ctx, **kw)

    monkeypatch.setattr(places, "place_entities", observed)
    info = resolve(HubContext.from_config(cfg))
    assert info.places.get("person_updated", 0) > 1000
    # the entity step left the places step's indexes to it: built once, after placing
    assert at_places == [PLACES_INDEXES | {"ix_person_registered_grid_code", "ix_person_updated_at",
                                           "ix_organization_grid_code", "ix_organization_building_id"}]
    assert _missing(url) == set()
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 10**9)  # the reference: every index kept throughout
    resolve(HubContext.from_config(plain_cfg))
    assert _missing(plain_url) == set()
    assert _placed(url) == _placed(plain_url)


def test_a_failure_inside_places_leaves_every_index(synced: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    rebuilding: None) -> None:
    from hub.resolve.places import Placer

    cfg, url = _copy(synced, tmp_path)
    real = Placer.run

    def failing(self: Placer) -> dict[str, int]:
        real(self)  # its rebuild created the indexes: rolled back with the rest of the step
        raise RuntimeError("places failed")

    monkeypatch.setattr(Placer, "run", failing)
    with pytest.raises(RuntimeError, match="places failed"):
        resolve(HubContext.from_config(cfg))
    assert _missing(url) == set()
    with transaction(url) as session:  # the entity step committed; the places step did not
        assert session.scalar(select(Person.id).limit(1)) is not None
        assert session.scalar(select(Person.id).where(Person.grid_code.is_not(None)).limit(1)) is None


KILLED = """
import os, sys
from hub.context import HubContext
from hub.db import bulk
from hub.resolve.entities import resolve_entities
from hub.resolve.places import PLACED_COLUMNS
bulk.REBUILD_MIN_ROWS = 0
ctx = HubContext.from_config(sys.argv[1])
with bulk.indexes_deferred(ctx.db_url, PLACED_COLUMNS):
    resolve_entities(ctx)
    os._exit(9)  # killed between the entity step and places: the scope's end never runs
"""


def test_a_resolve_killed_between_entities_and_places_gets_its_indexes_at_open(
        synced: Path, tmp_path: Path, rebuilding: None) -> None:
    cfg, url = _copy(synced, tmp_path)
    done = subprocess.run([sys.executable, "-c", KILLED, str(cfg)], env={**os.environ, "HUB_SECRET_KEY": SECRET},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 9, done.stderr[-2000:]
    assert _missing(url) >= PLACES_INDEXES  # committed without them
    HubContext.from_config(cfg).ensure_store()
    assert _missing(url) == set()
    with get_engine(url).connect() as connection:
        plan = " ".join(r[-1] for r in connection.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM person WHERE grid_code = '130203101201001'")))
    assert "ix_person_grid" in plan
