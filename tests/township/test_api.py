"""The township's faces of the read API over real HTTP: event times with their offset, handler and feedback,
ledger categories, open hazards, household and building lists, assessment, the card and the ledger."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from sqlalchemy import select

from hub.db.models import AuditEntry
from hub.db.session import transaction
from tests.township.conftest import Served
from tests.township.county import G1, V1, V2


def test_an_event_accepted_at_0941_beijing_reads_0941_plus_0800(served: Served) -> None:
    body = served.get("/events/e1", "all").json()
    assert body["accepted_at"] == "2026-09-30T09:41:00+08:00"
    assert dt.datetime.fromisoformat(body["accepted_at"]).astimezone(dt.UTC).strftime("%H:%M") == "01:41"
    assert body["closed_at"] == "2026-10-12T10:00:00+08:00"
    assert body["history"][0]["at"] == "2026-09-30T09:41:00+08:00"
    listed = {e["id"]: e for e in served.get("/events", "all", grid=V1, limit=100).json()["items"]}
    assert listed["e1"]["occurred_at"] == "2026-09-30T09:41:00+08:00"
    # a golden record's provenance: the source record's time, on the departments' clock, with its offset
    person = served.get("/persons/P000a", "all").json()
    assert person["provenance"]["name"]["at"] == "2026-10-08T09:41:00+08:00"
    assert person["updated_at"].endswith(("Z", "+00:00"))  # the store's own stamp is UTC, and says so


def test_event_shows_handler_feedback_categories_and_reason(served: Served) -> None:
    e1 = served.get("/events/e1", "all").json()
    assert (e1["handler"], e1["feedback"]) == ("周调解／东村调委会", "满意")
    assert (e1["category"], e1["ledger_category"]) == ("邻里纠纷", "综治司法")
    assert e1["finished_on"] == "2026-10-10" and e1["working_days_left"] is None
    e2 = served.get("/events/e2", "all").json()
    assert e2["reason_noted"] == "当事人外出务工，待返乡后调解" and e2["working_days_left"] < 0
    land = served.get("/events/land", "all").json()
    assert (land["category"], land["ledger_category"]) == ("土地山林", "经济财政")
    hazard = served.get("/events/e7", "all").json()
    assert hazard["ledger_category"] == "城区管理"


def test_open_hazards_hold_only_hazards_not_rectified(served: Served) -> None:
    # 加油站 has e6 (rectified 18 Aug) and h-open; 敬老院 only e7 (rectified)
    assert [h["id"] for h in served.get("/organizations/o-key-1", "all").json()["open_hazards"]] == ["h-open"]
    assert served.get("/organizations/o-key-2", "all").json()["open_hazards"] == []
    # a fire-safety unit is on the ledger twice: as a unit (经济财政) and as a fire-safety unit (城区管理)
    assert served.get("/organizations/o-key-2", "all").json()["ledger_categories"] == ["经济财政", "城区管理"]


def _walk(served: Served, path: str, key: str, **params: object) -> list[dict]:  # type: ignore[type-arg]
    items, cursor = [], None
    while True:
        r = served.get(path, key, limit=7, **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


def test_households_and_buildings_lists_by_grid(served: Served) -> None:
    households = _walk(served, "/households", "all", grid=V1)
    assert len(households) == 61 and len({h["id"] for h in households}) == 61
    assert all(h["grid_code"].startswith(V1) for h in households)
    assert [h["id"] for h in _walk(served, "/households", "all", grid=G1)][:2] == ["H000", "H001"]
    assert [b["id"] for b in _walk(served, "/buildings", "all", grid=V1)] == ["b1"]
    # a key bound to 西村 sees no 东村 grid, and its unfiltered list is its own subtree only
    assert served.get("/households", "west", grid=V1).status_code == 404
    assert served.get("/buildings", "west", grid=V1).status_code == 404
    assert [b["id"] for b in _walk(served, "/buildings", "west")] == ["b2"]
    assert served.get("/households", "grids", grid=V1).status_code == 403  # households need read:people


def test_assessment_route_and_grid_bound_key(served: Served) -> None:
    body = served.get("/assessment", "all", level=2, period="2026Q3", as_of="2026-10-12").json()
    east = next(g for g in body["grids"] if g["code"] == V1)
    # the hand-computed figures, plus the 土地山林 case accepted 21 Sep (open, due 24 Sep): overdue
    assert (east["accepted"], east["finished"], east["overdue_open"]) == (9, 6, 3)
    assert east["closure_rate"] == round(6 / 9, 4)
    west = served.get("/assessment", "west", period="2026Q3", as_of="2026-10-12").json()
    assert [g["code"] for g in west["grids"]] == [V2]
    assert served.get("/assessment", "west", period="2026Q3", within=V1).status_code == 404
    assert served.get("/assessment", "all", period="2026Q9").status_code == 400
    assert served.get("/assessment", "grids", period="2026Q3").status_code == 403


def test_grid_card_masks_the_workers_phone_without_pii(served: Served) -> None:
    masked = served.get(f"/grids/{V1}/card", "masked", households="true").json()
    clear = served.get(f"/grids/{V1}/card", "all", households="true").json()
    assert (masked["manager"], clear["manager_phone"]) == ("李网格", "13800001111")
    assert masked["manager_phone"] != "13800001111" and masked["manager_phone"].endswith("1111")
    cards = {c["household_id"]: c for c in clear["households"]}
    assert cards["H000"]["worker"] == "孙组长" and cards["H000"]["head_name"] == "户主0"  # the group's own worker
    assert cards["HX"]["worker"] == "李网格"  # 第二村民小组 has no worker: the village's
    assert served.get(f"/grids/{V1}/card", "grids", households="true").json()["households"] is None


def test_ledger_route_masks_by_scope_and_is_audited(served: Served) -> None:
    masked = served.get(f"/grids/{V1}/ledger.xlsx", "masked", as_of="2026-10-12")
    assert masked.status_code == 200
    assert masked.headers["content-type"].startswith("application/vnd.openxmlformats")
    clear = served.get(f"/grids/{V1}/ledger.xlsx", "all", as_of="2026-10-12")

    def cells(body: bytes, sheet: str) -> list[str]:
        ws = openpyxl.load_workbook(io.BytesIO(body))[sheet]
        return [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]

    assert "130203196001010001" not in cells(masked.content, "户籍")
    assert "130203196001010001" in cells(clear.content, "户籍")
    assert "特殊人群" not in openpyxl.load_workbook(io.BytesIO(masked.content)).sheetnames
    assert "社区矫正" in cells(clear.content, "特殊人群")
    places_only = openpyxl.load_workbook(io.BytesIO(served.get(f"/grids/{V1}/ledger.xlsx", "grids").content))
    assert {"户籍", "事件", "关爱-独居老人"}.isdisjoint(places_only.sheetnames) and "单位" in places_only.sheetnames
    assert served.get(f"/grids/{V2}/ledger.xlsx", "west").status_code == 200
    assert served.get(f"/grids/{V1}/ledger.xlsx", "west").status_code == 404
    served.state.audit.flush()
    with transaction(served.db_url) as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.route == "/grids/{code}/ledger.xlsx",
                                                       AuditEntry.status == 200)))
    assert len(rows) == 4 and "P000a" in rows[0].person_ids and "PS" in rows[1].person_ids
    assert rows[2].person_ids is None  # read:grids only: no person was shown
