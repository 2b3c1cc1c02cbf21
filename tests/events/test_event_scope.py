"""An incremental events pass re-projects only what a change reaches, and ends where a full pass would.

Each test changes one input the way a sync or the linking step would, runs the incremental pass,
checks it looked at the few events concerned, then runs the full pass (the reference) and checks
it finds nothing left to write.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from hub.db.models import Building, ChangeFeed, EntityLink, Event, EventParty, SourceRecord
from hub.db.session import transaction
from hub.resolve.events import project_events
from hub.resolve.gridindex import GridIndex
from hub.resolve.placement import address_key, building_id

_spec = importlib.util.spec_from_file_location(
    "township_for_events", Path(__file__).parents[1] / "resolve_places" / "conftest.py")
assert _spec is not None and _spec.loader is not None
township = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(township)

DM, PS = "dispute-mediation", "public-security"
EAST = township.EAST
MONDAY = dt.date(2026, 11, 2)
ADDRESS = "唐山镇东村2组5号"


@pytest.fixture
def ctx(tmp_path: Path, store_url: str) -> Any:  # on SQLite and on PostgreSQL
    ctx = township.make_context(tmp_path, store_url)
    store = township.Store(ctx)
    store.person("P1")
    store.person("P2")
    for n in range(1, 31):  # thirty open village cases accepted on Monday: due in 3 working days
        case = f"TJ{n}"
        store.record(DM, "cases", case, case_no=case, level="村级", status="assigned", grid_code=EAST + "001",
                     location="唐山镇东村1组3号", accepted_at="2026-11-02 09:00:00", history="[]")
        store.record(DM, "case-parties", f"{case}#0", case_no=case, role="申请人", name="张三")
        store.link(DM, "case-parties", f"{case}#0", "person", "P1")
    store.record(PS, "incidents", "JQ1", incident_no="JQ1", type="盗窃", occurred_at="2026-11-02 20:00:00",
                 grid_code=EAST + "002", status="处理中", updated_at="2026-11-03 10:00:00")
    store.record(PS, "incidents", "JQ2", incident_no="JQ2", type="盗窃", occurred_at="2026-11-02 21:00:00",
                 address=ADDRESS, status="处理中", updated_at="2026-11-03 10:00:00")  # no code, no point
    store.commit()
    first = project_events(ctx, today=MONDAY)
    assert first["event_created"] == 32 and "events_rechecked" not in first  # the first pass is the full one
    return ctx


def _full_pass_agrees(ctx: Any, today: dt.date) -> None:
    full = project_events(ctx, today=today, full=True)
    assert not {k: v for k, v in full.items() if v and k.endswith(("_created", "_updated", "_written", "_removed"))}


def test_a_party_relinked_reprojects_its_case_only(ctx: Any) -> None:
    with transaction(ctx.db_url) as s:  # the linking step moved TJ7's applicant to another person
        s.execute(update(EntityLink).where(EntityLink.source_key == "TJ7#0").values(entity_id="P2"))
    counts = project_events(ctx, today=MONDAY)
    assert counts["events_rechecked"] == 1 and counts["parties_written"] == 1
    with transaction(ctx.db_url) as s:
        moved = dict(s.execute(select(EventParty.party_key, EventParty.person_id)).tuples().all())
    assert moved["TJ7#0"] == "P2" and moved["TJ8#0"] == "P1"
    _full_pass_agrees(ctx, MONDAY)


def test_one_party_line_changed_reprojects_the_whole_case(ctx: Any) -> None:
    with transaction(ctx.db_url) as s:
        rec = s.scalar(select(SourceRecord).where(SourceRecord.source_key == "TJ3#0"))
        rec.data = {**rec.data, "role": "被申请人"}
    counts = project_events(ctx, today=MONDAY)
    assert counts["events_rechecked"] == 1 and counts["parties_written"] == 1
    _full_pass_agrees(ctx, MONDAY)


def test_a_new_day_marks_the_open_cases_overdue_without_reprojecting(ctx: Any) -> None:
    assert project_events(ctx, today=MONDAY) == {"unchanged": 1}
    friday = MONDAY + dt.timedelta(days=4)  # due Thursday: every open case is overdue now
    counts = project_events(ctx, today=friday)
    assert "disputes" not in counts and not counts.get("events_rechecked")  # incremental, nothing re-projected
    assert counts["deadlines_reassessed"] == 30 and counts["overdue"] == 30  # the incidents are due next week
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(Event.overdue).where(Event.source_key == "TJ1")) is True
    _full_pass_agrees(ctx, friday)


def test_a_tombstoned_case_loses_its_event_link_as_in_a_full_pass(ctx: Any) -> None:
    with transaction(ctx.db_url) as s:
        rec = s.scalar(select(SourceRecord).where(SourceRecord.source_key == "TJ30"))
        rec.deleted = True
    counts = project_events(ctx, today=MONDAY)
    assert counts["event_links_removed"] == 1 and "disputes" not in counts and not counts.get("events_rechecked")
    _full_pass_agrees(ctx, MONDAY)


def test_an_earlier_day_or_a_removed_link_takes_the_full_pass(ctx: Any) -> None:
    counts = project_events(ctx, today=MONDAY - dt.timedelta(days=1))
    assert counts["disputes"] == 30  # every case read: the full pass
    with transaction(ctx.db_url) as s:
        s.execute(EntityLink.__table__.delete().where(EntityLink.source_key == "TJ5#0"))
    counts = project_events(ctx, today=MONDAY)
    assert counts["disputes"] == 30 and counts["parties_written"] == 1


def test_a_building_placed_at_an_incidents_address_moves_its_grid(ctx: Any) -> None:
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(Event.grid_code).where(Event.source_key == "JQ2")) == EAST + "002"  # by the address
        key = address_key(GridIndex.load(s), ADDRESS)
        # what the placing step writes: the building (here placed in group 001 by its own evidence) and its feed row
        s.add(Building(id="B1", address=ADDRESS, address_key=key, village_code=EAST, grid_code=EAST + "001"))
        s.add(ChangeFeed(entity_type="building", entity_id="B1", change="created"))
    counts = project_events(ctx, today=MONDAY)
    assert counts["events_rechecked"] == 1 and counts["event_updated"] == 1
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(Event.grid_code).where(Event.source_key == "JQ2")) == EAST + "001"
    _full_pass_agrees(ctx, MONDAY)


def test_a_building_removed_at_an_incidents_address_reprojects_that_incident_only(ctx: Any) -> None:
    with transaction(ctx.db_url) as s:  # placed at JQ2's address first, as the placing step writes it
        key = address_key(GridIndex.load(s), ADDRESS)
        s.add(Building(id=building_id(key), address=ADDRESS, address_key=key, village_code=EAST, grid_code=EAST + "001"))
        s.add(ChangeFeed(entity_type="building", entity_id=building_id(key), change="created"))
    assert project_events(ctx, today=MONDAY)["events_rechecked"] == 1
    with transaction(ctx.db_url) as s:  # then no record names the house any more: the placing step removes it
        s.execute(delete(Building).where(Building.id == building_id(key)))
        s.add(ChangeFeed(entity_type="building", entity_id=building_id(key), change="deleted"))
    counts = project_events(ctx, today=MONDAY)
    assert "disputes" not in counts  # not the full pass, which reads every case
    assert counts["events_rechecked"] == 1 and counts["event_updated"] == 1
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(Event.grid_code).where(Event.source_key == "JQ2")) == EAST + "002"  # by the address again
    _full_pass_agrees(ctx, MONDAY)
