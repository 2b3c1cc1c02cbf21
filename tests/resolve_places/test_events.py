"""Events from disputes, incidents and hazards: grids, parties, deadlines, idempotence."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.db.models import ChangeFeed, EntityLink, Event, EventParty, Inspection, SourceRecord
from hub.db.session import transaction
from hub.events.overdue import mark_overdue
from hub.resolve.events import event_id, project_events
from hub.resolve.places import place_entities

EAST, COMM = "130203101201", "130203101001"
DM, PS, FS = "dispute-mediation", "public-security", "fire-safety"
TODAY = dt.date(2026, 11, 5)


def history(*steps: tuple[str, str, dict]) -> str:
    return json.dumps([{"seq": i + 1, "type": t, "ts": ts, **data} for i, (t, ts, data) in enumerate(steps)],
                      ensure_ascii=False)


def build(store) -> None:  # type: ignore[no-untyped-def]
    store.household("H1", "20100001", "唐山镇东村1组3号", group="001")
    store.person("P1", "H1")
    store.org("O1", "DW1", grid_code=EAST + "002", lon=None, lat=None, address="唐山镇东村2组40号",
              category="消防安全重点单位")
    # a village case over National Day, resolved within its 3 working days (8, 9, 10 October)
    store.record(DM, "cases", "TJ1", case_no="TJ1", category="邻里纠纷", grid_code=EAST + "001", level="村级",
                 status="closed", location="唐山镇东村1组3号", accepted_at="2026-09-30 09:00:00",
                 resolved_at="2026-10-09 15:00:00", closed_at="2026-10-12 10:00:00", history=history(
                     ("case.accepted", "2026-09-30T09:00:00", {}), ("case.assigned", "2026-09-30T11:00:00",
                                                                   {"mediator": "王五", "department": "东村调解委员会"}),
                     ("case.resolved", "2026-10-09T15:00:00", {"agreement": "达成协议"}),
                     ("case.closed", "2026-10-12T10:00:00", {"feedback": "满意"})))
    for i, (kind, target, name) in enumerate([("person", "P1", "张三"), ("organization", "O1", "某公司"),
                                              (None, None, "李四")]):
        key = f"TJ1#{i}"
        store.record(DM, "case-parties", key, case_no="TJ1", party_index=i, role="申请人" if i != 1 else "被申请人",
                     party_kind=kind or "person", name=name)
        if kind:
            store.link(DM, "case-parties", key, kind, target)
    # a county case not passed up within its 1 working day; another passed up in time
    store.record(DM, "cases", "TJ2", case_no="TJ2", level="县级", status="assigned", grid_code=None,
                 location="唐山镇东村2组5号", accepted_at="2026-11-02 09:00:00", history="[]")
    store.record(DM, "cases", "TJ3", case_no="TJ3", level="县级", status="transferred", grid_code=EAST + "001",
                 accepted_at="2026-11-02 09:00:00", history=history(
                     ("case.accepted", "2026-11-02T09:00:00", {}),
                     ("case.transferred", "2026-11-03T09:00:00", {"to": "县人民法院"})))
    store.record(PS, "incidents", "JQ1", incident_no="JQ1", type="盗窃", occurred_at="2026-11-02 20:00:00",
                 address="唐山镇幸福里社区5号楼", grid_code=None, lon=39.05, lat=118.17, summary="电动车被盗",
                 status="处理中", updated_at="2026-11-03 10:00:00")
    store.record(FS, "inspections", "JC1", inspection_no="JC1", unit_no="DW1", inspected_on="2026-10-30",
                 inspector="赵六、钱七", kind="日常", hazards_found=1, conclusion="责令限期整改")
    store.record(FS, "hazards", "YH1", hazard_no="YH1", inspection_no="JC1", summary="安全出口锁闭", grade="重大",
                 due_on="2026-11-29", status="待整改", resolved_on=None)
    store.commit()


@pytest.fixture
def projected(tmp_path: Path, town):  # type: ignore[no-untyped-def]
    ctx = town.make_context(tmp_path)
    build(town.Store(ctx))
    place_entities(ctx)
    counts = project_events(ctx, today=TODAY)
    return ctx, counts


def events(ctx) -> dict[str, Event]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as s:
        return {e.source_key: e for e in s.scalars(select(Event))}


def test_disputes_remit_deadlines_and_parties(projected) -> None:  # type: ignore[no-untyped-def]
    ctx, counts = projected
    ev = events(ctx)
    assert counts["disputes"] == 3
    tj1 = ev["TJ1"]
    assert tj1.id == event_id(DM, "TJ1") and tj1.remit == "village" and tj1.grid_code == EAST + "001"
    assert tj1.due_on == dt.date(2026, 10, 10) and not tj1.overdue  # the make-up Saturday counts
    assert [h["status"] for h in tj1.history] == ["accepted", "assigned", "resolved", "closed"]
    assert (ev["TJ2"].remit, ev["TJ2"].overdue, ev["TJ2"].escalated) == ("county", True, True)
    assert ev["TJ2"].grid_code == EAST + "002"  # no grid code: the location's 2组
    assert (ev["TJ3"].overdue, ev["TJ3"].escalated) == (False, True)
    with transaction(ctx.db_url) as s:
        parties = {p.party_key: p for p in s.scalars(select(EventParty))}
    assert parties["TJ1#0"].person_id == "P1" and parties["TJ1#1"].organization_id == "O1"
    assert parties["TJ1#2"].person_id is None and parties["TJ1#2"].name == "李四"


def test_incidents_are_sensitive_and_keep_their_timeline(projected) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = projected
    jq = events(ctx)["JQ1"]
    assert jq.sensitive and jq.kind == "incident" and jq.remit == "township"
    assert jq.grid_code == COMM + "002"  # swapped coordinates read the right way round
    assert [h["status"] for h in jq.history] == ["accepted", "in_progress"]
    with transaction(ctx.db_url) as s:
        rec = s.scalar(select(SourceRecord).where(SourceRecord.source_key == "JQ1"))
        rec.data = {**rec.data, "status": "已办结", "updated_at": "2026-11-04 16:00:00"}
    counts = project_events(ctx, today=TODAY)
    assert counts["event_updated"] == 1
    jq = events(ctx)["JQ1"]
    assert [h["status"] for h in jq.history] == ["accepted", "in_progress", "closed"]
    assert jq.closed_at == dt.datetime(2026, 11, 4, 16) and not jq.overdue


def test_hazards_join_inspection_and_unit(projected) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = projected
    yh = events(ctx)["YH1"]
    assert (yh.organization_id, yh.inspection_id, yh.category, yh.status) == ("O1", "JC1", "重大", "open")
    assert yh.grid_code == EAST + "002" and yh.due_on == dt.date(2026, 11, 29) and not yh.overdue
    with transaction(ctx.db_url) as s:
        insp = s.get(Inspection, "JC1")
        assert insp.organization_id == "O1" and insp.inspected_on == dt.date(2026, 10, 30)
        links = {(li.stream, li.source_key): li.entity_id for li in s.scalars(
            select(EntityLink).where(EntityLink.entity_type == "event"))}
    assert links == {("cases", "TJ1"): event_id(DM, "TJ1"), ("cases", "TJ2"): event_id(DM, "TJ2"),
                     ("cases", "TJ3"): event_id(DM, "TJ3"), ("incidents", "JQ1"): event_id(PS, "JQ1"),
                     ("hazards", "YH1"): event_id(FS, "YH1")}


def test_second_projection_writes_nothing(projected) -> None:  # type: ignore[no-untyped-def]
    ctx, first = projected
    assert first["event_created"] == 5
    with transaction(ctx.db_url) as s:
        feed = s.scalar(select(func.count()).select_from(ChangeFeed))
    assert project_events(ctx, today=TODAY) == {"unchanged": 1}
    again = project_events(ctx, today=TODAY, full=True)
    assert not any(v for k, v in again.items() if k.endswith(("_created", "_updated", "_written")))
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(func.count()).select_from(ChangeFeed)) == feed
        assert s.scalar(select(func.count()).select_from(EventParty)) == 3


def test_core_paths_on_each_backend(store_url: str, tmp_path: Path, town) -> None:  # type: ignore[no-untyped-def]
    ctx = town.make_context(tmp_path, store_url)
    build(town.Store(ctx))
    place_entities(ctx)
    counts = project_events(ctx, today=TODAY)
    assert counts["event_created"] == 5 and counts["overdue"] == 1
    # on 1 December the hazard (due 29 November) and the incident (due 9 November) have run out
    assert mark_overdue(ctx, dt.date(2026, 12, 1))["newly_overdue"] == 2
