"""Derived tags across departments, the key-unit flag, and the per-grid care list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.db.models import ChangeFeed, PersonTag, SourceRecord
from hub.db.models.events import OrganizationTag
from hub.db.session import transaction
from hub.resolve.events import event_id, project_events
from hub.resolve.places import place_entities
from hub.resolve.tags import care_list, derive_tags

EAST, TOWN = "130203101201", "130203101000"
TODAY = dt.date(2026, 11, 5)
D = dt.date


def build(store) -> None:  # type: ignore[no-untyped-def]
    store.household("H1", "1", "唐山镇东村1组3号", group="001")
    store.person("P1", "H1", D(1950, 3, 1), status="active")  # 76, alone in the household
    store.household("H2", "2", "唐山镇东村1组8号", group="001")
    store.person("P2", "H2", D(1950, 1, 1), status="active")
    store.person("P3", "H2", D(1966, 11, 6), status="active")  # 59 until tomorrow: not elderly today
    store.household("H3", "3", "唐山镇东村1组9号", group="001")
    store.person("P4", "H3", D(1940, 1, 1), status="active")
    store.person("P5", "H3", D(2010, 1, 1), status="active")  # a minor lives with P4 ...
    store.record("civil-affairs", "高龄老人", "G4", village="东", lives_alone=True)  # ... but the roster says alone
    store.link("civil-affairs", "高龄老人", "G4", "person", "P4")
    store.person("P6", "H1", D(1930, 1, 1), status="deceased")  # does not count as a member, has no tags
    store.person("P7", birth=D(1990, 1, 1), floating=True, status="active")
    store.record("civil-affairs", "低保对象", "A1", village="东村", status="在保")
    store.link("civil-affairs", "低保对象", "A1", "person", "P1")
    store.record("civil-affairs", "特困供养", "B2", village="东村", status="停保")
    store.link("civil-affairs", "特困供养", "B2", "person", "P2")
    store.record("civil-affairs", "残疾人", "C2", village="东村")
    store.link("civil-affairs", "残疾人", "C2", "person", "P2")
    store.record("public-security", "special-persons", "SP1", status="active", grid_code=EAST + "001")
    store.link("public-security", "special-persons", "SP1", "person", "P3")
    # a key unit in P1's house with an open major hazard; a shop in P4's house with an ordinary one
    store.org("O1", "DW1", address="唐山镇东村1组3号", category="消防安全重点单位", grid_code=EAST + "001")
    store.org("O2", "DW2", address="唐山镇东村1组9号", category="九小场所", grid_code=EAST + "001")
    for no, unit, grade in (("1", "DW1", "重大"), ("2", "DW2", "一般")):
        store.record("fire-safety", "inspections", f"JC{no}", inspection_no=f"JC{no}", unit_no=unit,
                     inspected_on="2026-11-01", kind="日常", hazards_found=1)
        store.record("fire-safety", "hazards", f"YH{no}", hazard_no=f"YH{no}", inspection_no=f"JC{no}",
                     grade=grade, due_on="2026-12-01", status="待整改", summary="安全出口锁闭")
    store.commit()


@pytest.fixture
def tagged(tmp_path: Path, town):  # type: ignore[no-untyped-def]
    ctx = town.make_context(tmp_path)
    build(town.Store(ctx))
    place_entities(ctx)
    project_events(ctx, today=TODAY)
    counts = derive_tags(ctx, today=TODAY)
    return ctx, counts


def tags_of(ctx) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, set[str]] = {}
    with transaction(ctx.db_url) as s:
        for tag in s.scalars(select(PersonTag)):
            out.setdefault(tag.person_id, set()).add(tag.tag)
    return out


def test_person_tags_join_the_departments(tagged) -> None:  # type: ignore[no-untyped-def]
    ctx, counts = tagged
    tags = tags_of(ctx)
    assert tags["P1"] == {"elderly", "elderly_alone", "min_allowance"}
    assert tags["P2"] == {"elderly", "disabled"}  # 特困供养 停保 does not count
    assert tags["P3"] == {"special_population"}
    assert tags["P4"] == {"elderly", "elderly_alone"} and tags["P5"] == {"minor"}
    assert "P6" not in tags and tags["P7"] == {"floating"}
    with transaction(ctx.db_url) as s:
        sensitive = {t.tag for t in s.scalars(select(PersonTag).where(PersonTag.sensitive.is_(True)))}
    assert sensitive == {"special_population"}
    assert counts["tag_elderly_alone"] == 2


def test_key_unit_flag_and_care_list(tagged) -> None:  # type: ignore[no-untyped-def]
    ctx, counts = tagged
    assert counts["org_key_unit_open_major_hazard"] == 1
    with transaction(ctx.db_url) as s:
        flag = s.scalars(select(OrganizationTag)).one()
    assert flag.organization_id == "O1" and flag.event_ids == [event_id("fire-safety", "YH1")]
    rows = care_list(ctx, EAST)
    assert [r["person_id"] for r in rows] == ["P1", "P4"]
    assert rows[0]["reasons"] == ["unrectified_hazard_in_building", "key_unit_open_major_hazard_in_building"]
    assert rows[1]["reasons"] == ["unrectified_hazard_in_building"]
    assert rows[0]["address"] == "唐山镇东村1组3号" and "min_allowance" in rows[0]["tags"]
    assert [r["person_id"] for r in care_list(ctx, TOWN)] == ["P1", "P4"]
    assert care_list(ctx, EAST + "002") == []


def test_rectified_hazard_clears_flag_and_care_row_idempotently(tagged) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = tagged
    with transaction(ctx.db_url) as s:
        feed = s.scalar(select(func.count()).select_from(ChangeFeed))
    assert derive_tags(ctx, today=TODAY) == {"unchanged": 1}  # no input changed: nothing even read
    again = derive_tags(ctx, today=TODAY, full=True)
    assert again["tags_added"] == 0 and again["tags_removed"] == 0
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(func.count()).select_from(ChangeFeed)) == feed
        rec = s.scalar(select(SourceRecord).where(SourceRecord.source_key == "YH1"))
        rec.data = {**rec.data, "status": "已整改", "resolved_on": "2026-11-04"}
    project_events(ctx, today=TODAY)
    assert derive_tags(ctx, today=TODAY)["org_key_unit_open_major_hazard"] == 0
    rows = care_list(ctx, EAST)
    assert [r["person_id"] for r in rows] == ["P4"]
    assert {r["person_id"] for r in care_list(ctx, EAST, everyone=True)} == {"P1", "P4"}


def test_tags_follow_the_calendar(tagged) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = tagged
    derive_tags(ctx, today=D(2026, 11, 6))  # P3's 60th birthday
    assert tags_of(ctx)["P3"] == {"special_population", "elderly"}


def test_core_paths_on_each_backend(store_url: str, tmp_path: Path, town) -> None:  # type: ignore[no-untyped-def]
    ctx = town.make_context(tmp_path, store_url)
    build(town.Store(ctx))
    place_entities(ctx)
    project_events(ctx, today=TODAY)
    assert derive_tags(ctx, today=TODAY)["tag_elderly_alone"] == 2
    assert [r["person_id"] for r in care_list(ctx, EAST)] == ["P1", "P4"]
