"""A small county small enough to assess by hand (the expected figures are worked out in test_assessment.py).

唐山镇 (130203101000) with 东村 (…201, groups 001 and 002), 西村 (…202) and 南村 (…203). Event times
are Beijing clock times, as the departments write them. 2026Q3 ends the day before National Day
(1-7 October 2026 off; Saturday 10 October is a make-up working day, 调休).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hub.db.migrate import upgrade
from hub.db.models import Building, Event, GridCell, Household, Inspection, Organization, Person
from hub.db.session import transaction
from hub.privacy import Vault

T, V1, V2, V3 = "130203101000", "130203101201", "130203101202", "130203101203"
G1, G2 = V1 + "001", V1 + "002"
W = dt.datetime


def write_config(folder: Path, db_url: str, extra: str = "") -> Path:
    path = folder / "hub.yaml"
    path.write_text(f"database: {db_url}\nlanding: landing\nsecret_key_file: hub.key\nsources: {{}}\n{extra}",
                    encoding="utf-8")
    return path


def dispute(eid: str, grid: str, remit: str, accepted: dt.datetime, steps: list[tuple[str, dt.datetime, str | None]],
            **details: Any) -> Event:
    history = [{"status": "accepted", "at": accepted.isoformat(), "note": None}]
    history += [{"status": s, "at": at.isoformat(), "note": note} for s, at, note in steps]
    status = history[-1]["status"]
    closed = next((at for s, at, _ in steps if s == "closed"), None)
    resolved = next((at for s, at, _ in steps if s == "resolved"), None)
    passed = next((at for s, at, _ in steps if s == "transferred"), None)
    if passed:
        details["passed_up_at"] = passed.isoformat()
    return Event(id=eid, kind="dispute", source="dispute-mediation", source_key=eid, category=details.pop("category", "邻里纠纷"),
                 grid_code=grid, remit=remit, status=status, accepted_at=accepted, occurred_at=accepted,
                 resolved_at=resolved, closed_at=closed, history=history, details=details, summary=f"案件{eid}")


def hazard(eid: str, grid: str, org: str, found: dt.date, due: dt.date, rectified: dt.date | None) -> Event:
    history = [{"status": "open", "at": found.isoformat(), "note": None}]
    if rectified:
        history.append({"status": "rectified", "at": rectified.isoformat(), "note": None})
    at = W.combine(found, dt.time())
    return Event(id=eid, kind="hazard", source="fire-safety", source_key=eid, category="一般", grid_code=grid,
                 remit="township", status="rectified" if rectified else "open", organization_id=org,
                 accepted_at=at, occurred_at=at, resolved_at=W.combine(rectified, dt.time()) if rectified else None,
                 history=history, details={"grade": "一般", "rectification_due": due.isoformat()})


def grids(vault: Vault) -> list[GridCell]:
    def cell(code: str, name: str, level: int, parent: str | None, manager: str | None = None,
             phone: str | None = None) -> GridCell:
        return GridCell(code=code, name=name, level=level, parent_code=parent, manager=manager,
                        manager_phone_enc=vault.encrypt(phone) if phone else None, geometry=None, retired=False)

    return [cell(T, "唐山镇", 1, None, "赵镇长", "13900000000"),
            cell(V1, "东村", 2, T, "李网格", "13800001111"), cell(V2, "西村", 2, T, "王网格", "13800002222"),
            cell(V3, "南村", 2, T), cell(G1, "东村第一村民小组", 3, V1, "孙组长", "13800003333"),
            cell(G2, "东村第二村民小组", 3, V1)]


def q3_events() -> list[Event]:
    return [
        # village remit from Wed 30 Sep: due Sat 10 Oct (8, 9, 10 — the make-up Saturday); resolved that Saturday
        dispute("e1", G1, "village", W(2026, 9, 30, 9, 41),
                [("resolved", W(2026, 10, 10, 15), "达成协议"), ("closed", W(2026, 10, 12, 10), "满意")],
                mediator="周调解", department="东村调委会", feedback="满意"),
        # same deadline, still in progress on 12 Oct: overdue, with the reason noted after the due date
        dispute("e2", V1, "village", W(2026, 9, 30, 14),
                [("in_progress", W(2026, 10, 11, 9), "当事人外出务工，待返乡后调解")], mediator="周调解"),
        # township remit from Tue 29 Sep: 30 Sep, 8, 9, 10, 12 Oct; resolved on the due day (12 Oct)
        dispute("e3", G2, "township", W(2026, 9, 29, 10), [("resolved", W(2026, 10, 12, 11), None)],
                department="镇司法所"),
        # county remit from 30 Sep: due 8 Oct; passed up on 9 Oct — finished, but late
        dispute("e4", V1, "county", W(2026, 9, 30, 16), [("transferred", W(2026, 10, 9, 9), "县人民法院")],
                level="县级"),
        # village remit handed to the township's office on 8 Oct: a hand-over does not finish it
        dispute("e5", V1, "village", W(2026, 9, 30, 11), [("transferred", W(2026, 10, 8, 9), "镇司法所")]),
        # found 3 Aug, due 20 Aug, rectified 18 Aug: on time
        hazard("e6", G1, "o-key-1", dt.date(2026, 8, 3), dt.date(2026, 8, 20), dt.date(2026, 8, 18)),
        # found 1 Sep, due 15 Sep, rectified 20 Sep: finished late
        hazard("e7", V1, "o-key-2", dt.date(2026, 9, 1), dt.date(2026, 9, 15), dt.date(2026, 9, 20)),
        # Mon 7 Sep, due Thu 10 Sep, closed that day: on time; an unhappy party
        dispute("e10", G2, "village", W(2026, 9, 7, 8),
                [("resolved", W(2026, 9, 10, 9), None), ("closed", W(2026, 9, 10, 17), "不满意")], feedback="不满意"),
        # not assessed: a police incident; outside the period (Q4, Q2)
        Event(id="e8", kind="incident", source="public-security", source_key="e8", category="盗窃", grid_code=V1,
              remit="township", status="accepted", sensitive=True, accepted_at=W(2026, 9, 1, 8),
              occurred_at=W(2026, 9, 1, 8), history=[], details={}),
        dispute("e9", V1, "village", W(2026, 10, 2, 9), []),
        dispute("e11", V1, "village", W(2026, 6, 30, 9), []),
        # 西村: Mon 6 Jul, due Thu 9 Jul, resolved 8 and closed 9 Jul (基本满意); one overdue from 30 Sep
        dispute("w1", V2, "village", W(2026, 7, 6, 9),
                [("resolved", W(2026, 7, 8, 9), None), ("closed", W(2026, 7, 9, 9), "基本满意")], feedback="基本满意"),
        dispute("w2", V2, "village", W(2026, 9, 30, 9), []),
    ]


def organisations(vault: Vault) -> tuple[list[Organization], list[Inspection]]:
    def org(oid: str, name: str, grid: str, key_unit: bool) -> Organization:
        return Organization(id=oid, name=name, grid_code=grid, key_unit=key_unit,
                            category="消防安全重点单位" if key_unit else "一般单位", address=f"{name}地址",
                            phone_enc=vault.encrypt("13700009999"), provenance={})

    orgs = [org("o-key-1", "东村加油站", G1, True), org("o-key-2", "东村敬老院", V1, True),
            org("o-small", "东村小卖部", V1, False), org("o-key-3", "西村学校", V2, True),
            org("o-key-4", "南村超市", V3, True)]
    inspections = [Inspection(id="i1", organization_id="o-key-1", unit_no="u1", inspected_on=dt.date(2026, 8, 3)),
                   Inspection(id="i1b", organization_id="o-key-1", unit_no="u1", inspected_on=dt.date(2026, 9, 3)),
                   Inspection(id="i2", organization_id="o-key-2", unit_no="u2", inspected_on=dt.date(2026, 6, 15)),
                   Inspection(id="i3", organization_id="o-small", unit_no="u3", inspected_on=dt.date(2026, 8, 5)),
                   Inspection(id="i4", organization_id="o-key-3", unit_no="u4", inspected_on=dt.date(2026, 9, 9))]
    return orgs, inspections


def households(vault: Vault, grid: str, n: int, prefix: str) -> list[Any]:
    rows: list[Any] = []
    for i in range(n):
        hid, pid = f"{prefix}H{i:04d}", f"{prefix}P{i:04d}"
        rows.append(Household(id=hid, household_no=f"{prefix}{i:06d}", address=f"{grid}路{i}号", grid_code=grid,
                              head_person_id=pid, active=True))
        rows.append(Person(id=pid, name=f"户主{i}", citizen_id_enc=vault.encrypt(f"1302031990010{i:05d}"),
                           phone_enc=vault.encrypt(f"139{i:08d}"), household_id=hid, relation_to_head="02",
                           grid_code=grid, status="active", provenance={}))
    return rows


def build(db_url: str, vault: Vault, events: list[Event] | None = None, extra: list[Any] | None = None) -> None:
    upgrade(db_url)
    orgs, inspections = organisations(vault)
    with transaction(db_url) as s:
        rows = [*grids(vault), *orgs, *inspections, *(q3_events() if events is None else events), *(extra or [])]
        for model in (GridCell, Building, Household, Person, Organization):  # parents before children
            s.add_all([r for r in rows if isinstance(r, model)])
            s.flush()
        s.add_all([r for r in rows if not isinstance(r, GridCell | Building | Household | Person | Organization)])
