"""A hand-built township in a real store: grid cells, source records and the linker's rows.

What the entity-linking step would have written (Person, Household, Organization, EntityLink)
is inserted through the ORM, so places, events and tags are tested on their own.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from hub.context import HubContext
from hub.db.models import EntityLink, GridCell, Household, Organization, Person, SourceRecord
from hub.db.session import get_engine, transaction

TOWN = "130203101000"
EAST = "130203101201"  # 东村: groups 001 (west half) and 002 (east half)
COMM = "130203101001"  # 幸福里社区: groups 001 and 002
HUB_YAML = """\
database: {db}
landing: landing
sources:
  grid-registry:     {{connector: grid-registry, path: grids.geojson}}
  population:        {{connector: population, url: "sqlite:///population.db"}}
  civil-affairs:     {{connector: civil-affairs, path: civil-affairs}}
  fire-safety:       {{connector: fire-safety, path: fire-safety}}
  public-security:   {{connector: public-security, base_url: "http://127.0.0.1:1", token_env: PS_TOKEN}}
  dispute-mediation: {{connector: dispute-mediation, path: dispute-mediation}}
"""


def box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


CELLS = [
    (TOWN, "唐山镇", 1, None, box(118.0, 39.0, 118.2, 39.1)),
    (EAST, "东村", 2, TOWN, box(118.0, 39.0, 118.1, 39.1)),
    (COMM, "幸福里社区", 2, TOWN, box(118.1, 39.0, 118.2, 39.1)),
    (EAST + "001", "东村第一村民小组", 3, EAST, box(118.0, 39.0, 118.05, 39.1)),
    (EAST + "002", "东村第二村民小组", 3, EAST, box(118.05, 39.0, 118.1, 39.1)),
    (COMM + "001", "幸福里社区第一居民小组", 3, COMM, box(118.1, 39.0, 118.15, 39.1)),
    (COMM + "002", "幸福里社区第二居民小组", 3, COMM, box(118.15, 39.0, 118.2, 39.1)),
]


def make_context(tmp: Path, db_url: str | None = None) -> HubContext:
    url = db_url or f"sqlite:///{tmp / 'hub.db'}"
    (tmp / "hub.yaml").write_text(HUB_YAML.format(db=url), encoding="utf-8")
    ctx = HubContext.from_config(tmp / "hub.yaml")
    ctx.ensure_store()
    with transaction(ctx.db_url) as s:
        for code, name, level, parent, geom in CELLS:
            s.add(GridCell(code=code, name=name, level=level, parent_code=parent, geometry=geom))
            s.flush()
    return ctx


class Store:
    """Adds rows the way sync (source records) and the linker (entities, links) would."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.rows: list[Any] = []

    def record(self, source: str, stream: str, key: str, deleted: bool = False, **data: Any) -> None:
        self.rows.append(SourceRecord(source=source, stream=stream, source_key=key, content_hash="x", data=data,
                                      deleted=deleted, first_run_id="r0", last_run_id="r0"))

    def link(self, source: str, stream: str, key: str, etype: str, eid: str) -> None:
        self.rows.append(EntityLink(source=source, stream=stream, source_key=key, entity_type=etype,
                                    entity_id=eid, method="citizen_id"))

    def household(self, hid: str, hh: str, address: str, village: str | None = EAST, group: str | None = None,
                  ) -> None:
        self.record("population", "households", hh, household_no=hh, address=address, village_code=village,
                    group_no=group, status="0")
        self.rows.append(Household(id=hid, household_no=hh, address=address))
        self.link("population", "households", hh, "household", hid)

    def person(self, pid: str, household: str | None = None, birth: dt.date | None = None, **kw: Any) -> None:
        self.rows.append(Person(id=pid, household_id=household, birth_date=birth or dt.date(1980, 1, 1), **kw))

    def org(self, oid: str, unit_no: str | None = None, **unit: Any) -> None:
        self.rows.append(Organization(id=oid, name=unit.get("org_name", oid), category=unit.get("category"),
                                      key_unit=unit.get("category") == "消防安全重点单位"))
        if unit_no:
            self.record("fire-safety", "units", unit_no, unit_no=unit_no, **unit)
            self.link("fire-safety", "units", unit_no, "organization", oid)

    def commit(self) -> None:
        with transaction(self.ctx.db_url) as s:
            for row in self.rows:
                s.add(row)
                if isinstance(row, (Household, Person, Organization)):
                    s.flush()
        self.rows.clear()


def dispose(url: str) -> None:
    get_engine(url).dispose()


class Township:
    """What a test needs from this module (pytest's importlib mode lets tests import only conftest fixtures)."""

    TOWN, EAST, COMM = TOWN, EAST, COMM
    Store = Store
    make_context = staticmethod(make_context)


@pytest.fixture
def town() -> type[Township]:
    return Township
