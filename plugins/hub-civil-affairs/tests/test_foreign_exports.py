"""Rosters exported by other hands to the same spec (legacy-systems.md §2), with their own quirks.

Each workbook is written cell by cell with openpyxl, in a shape our generator never makes, and
read by the real connector (and, where values matter, the real gate and store). The promise under
test: every row read ends loaded or quarantined with a machine-readable reason; never a silent
drop, never a crash; unreadable input is one clear line; no clear ID or phone in a log or error.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import unicodedata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hub_civil_affairs.connector import CivilAffairsConnector
from openpyxl import Workbook
from sqlalchemy import select

from hub.connector import SourceSpec
from hub.db.models import QuarantinedRow, SourceRecord
from hub.db.session import transaction
from hub.errors import SourceError
from hub.privacy import Vault
from hub.stages import sync
from hub.testing import ConformanceSetup, context_for

SOURCE = "civil-affairs"
VAULT = Vault("test-secret-key")
DIBAO = ["序号", "姓名", "身份证号码", "性别", "与户主关系", "户主姓名", "保障人数", "月保障金额(元)", "所属村(社区)",
         "联系电话", "审批日期", "状态"]
Rows = list[list[Any]]


def write_book(path: Path, sheets: dict[str, Rows], merge_first_row: bool = False) -> Path:
    """A workbook holding exactly the given rows (``[]`` is a blank row): no title/footer added."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        if merge_first_row and rows:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(r) for r in rows))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def people(kit: SimpleNamespace, header: list[str] = DIBAO) -> Rows:
    """Three 低保 rows laid out under ``header`` (any order, any extra columns)."""
    base = [{"姓名": "朱磊", "身份证号码": kit.cid(1), "状态": "在保"}, {"姓名": "侯琴", "身份证号码": kit.cid(2), "状态": "在保"},
            {"姓名": "王琴", "身份证号码": kit.cid(3), "状态": "停保"}]
    out = []
    for n, person in enumerate(base, 1):
        values = {"序号": n, "性别": "男", "户主姓名": person["姓名"], "保障人数": 1, "月保障金额(元)": 1200,
                  "所属村(社区)": "东村", "审批日期": "2026.3.5", **person}
        out.append([values.get(re.sub(r"\s", "", unicodedata.normalize("NFKC", h))) for h in header])
    return out


def read_stream(folder: Path, sheet: str = "低保对象", state: dict[str, Any] | None = None) -> tuple[list[dict], dict]:
    spec = SourceSpec(SOURCE, {"path": str(folder)}, vault=VAULT)
    rows: list[dict] = []
    after = dict(state or {})
    for batch in CivilAffairsConnector().stream(spec, sheet).read(dict(state or {})):
        rows.extend(batch.records.to_pylist())
        after = batch.state
    return rows, after


TITLE = ["唐山镇2026年10月低保对象花名册"]
FOOTER = ["合计", "3人"]
SPACED = [f" {h} " for h in DIBAO[:8]] + ["所属村（社区）", "联系\n电话", "审批\r\n日期", "状态"]
REORDERED = ["状态", "身份证号码", "填报人", "姓名", "所属村(社区)", "审批日期", "序号", "联系电话", "核对人"]


@pytest.mark.parametrize("layout", ["no_title", "two_titles", "header_spacing", "reordered_extra_columns",
                                    "footer_spaced", "footer_zongji", "footer_with_count", "no_footer",
                                    "blank_and_whitespace_rows"])
def test_sheet_layouts_of_other_counties_read_every_person(tmp_path: Path, kit: SimpleNamespace, layout: str) -> None:
    """Whatever the sheet's framing, exactly the three people are read, values under the right names."""
    header, rows = DIBAO, people(kit)
    top: Rows = [TITLE]
    bottom: Rows = [FOOTER, ["制表人：张三", None, "审核人：李四"], ["注：本表由村委会填报"]]
    if layout == "no_title":
        top = []
    elif layout == "two_titles":
        top = [TITLE, ["填报单位：唐山镇民政办", None, None, None, "2026年10月31日"]]
    elif layout == "header_spacing":
        header, rows = SPACED, people(kit, SPACED)
    elif layout == "reordered_extra_columns":
        header, rows = REORDERED, people(kit, REORDERED)
    elif layout == "footer_spaced":
        bottom[0] = ["合 计", "3人"]
    elif layout == "footer_zongji":
        bottom[0] = ["总计", None, "3人"]
    elif layout == "footer_with_count":
        bottom[0] = ["合计：3人"]
    elif layout == "no_footer":
        bottom = []
    elif layout == "blank_and_whitespace_rows":
        rows = [rows[0], [], [None, "\u3000", None, " "], rows[1], [None] * 12, rows[2]]
    write_book(tmp_path / "民政对象_202610.xlsx", {"低保对象": [*top, header, *rows, *bottom]},
               merge_first_row=bool(top))
    read, state = read_stream(tmp_path)
    assert [r["姓名"] for r in read] == ["朱磊", "侯琴", "王琴"]
    assert [r["身份证号码"] for r in read] == [kit.cid(1), kit.cid(2), kit.cid(3)]
    assert [r["状态"] for r in read] == ["在保", "在保", "停保"]
    assert {r["审批日期"] for r in read} == {"2026.3.5"} and {r["所属村(社区)"] for r in read} == {"东村"}
    if layout == "reordered_extra_columns":
        assert {r["填报人"] for r in read} == {None} and "核对人" in read[0]  # clerk columns pass through
    assert state["month"] == "202610"


def test_person_written_below_the_footer_is_not_dropped(tmp_path: Path, kit: SimpleNamespace) -> None:
    """A late person under 合计 was delivered: emitted flagged (the gate quarantines it for review), never
    lost; once moved above the footer it is news again and loads; signatures down there are not people."""
    rows = people(kit)
    late = [None, "孙强", kit.cid(6), "男", "户主", "孙强", 1, 1200, "东村", None, "2026.3.5", "在保"]
    write_book(tmp_path / "民政对象_202610.xlsx", {"低保对象": [
        TITLE, DIBAO, *rows, ["东村小计", None, "3人"], FOOTER, late, ["制表人：张三", None, "审核人：李四"]]})
    read, state = read_stream(tmp_path)
    assert [r["姓名"] for r in read] == ["朱磊", "侯琴", "王琴", "孙强"]
    assert [r["_unreadable"] is not None for r in read] == [False, False, False, True]
    assert "合计" in read[3]["_unreadable"] and "sheet row 8" in read[3]["_unreadable"]
    write_book(tmp_path / "民政对象_202611.xlsx", {"低保对象": [TITLE, DIBAO, *rows, late, FOOTER]})
    news, _ = read_stream(tmp_path, state=state)
    assert [(r["姓名"], r["_op"], r["_unreadable"]) for r in news] == [("孙强", "upsert", None)]


def test_sheet_names_other_hands_write(tmp_path: Path, kit: SimpleNamespace, caplog: pytest.LogCaptureFixture) -> None:
    """A trailing space or a 花名册 suffix is still the sheet; a blank tab is a missing sheet, not a crash."""
    sheet = [TITLE, DIBAO, *people(kit), FOOTER]
    write_book(tmp_path / "民政对象_202609.xlsx", {"低保对象 ": sheet, "特困供养": [], "说明": [["填表说明"]]})
    write_book(tmp_path / "民政对象_202610.xlsx", {"10月低保对象花名册": sheet})
    with caplog.at_level(logging.WARNING):
        rows, state = read_stream(tmp_path)
        tekun, tekun_state = read_stream(tmp_path, "特困供养")
    assert [(r["姓名"], r["_month"]) for r in rows] == [("朱磊", "202609"), ("侯琴", "202609"), ("王琴", "202609")]
    assert state["month"] == "202610" and len(VAULT.unseal(state["keys"])) == 3  # October: same people, no leave
    assert tekun == [] and tekun_state["month"] == "202610"
    assert "说明" in caplog.text, "a sheet matching no programme is reported, not silently skipped"
    write_book(tmp_path / "民政对象_202611.xlsx", {"低保对象花名册": sheet, "11月低保对象": sheet})
    with pytest.raises(SourceError, match="could each be 低保对象"):  # two candidates: not ours to pick
        read_stream(tmp_path, state=state)


def test_file_names_in_a_real_drop_folder(tmp_path: Path, kit: SimpleNamespace, caplog: pytest.LogCaptureFixture) -> None:
    """Upper-case .XLSX is a roster; lock files and copies are not, and copies are reported."""
    sheet = {"低保对象": [TITLE, DIBAO, *people(kit), FOOTER]}
    write_book(tmp_path / "民政对象_202609.XLSX", sheet)
    write_book(tmp_path / "民政对象_202610.xlsx", sheet)
    write_book(tmp_path / "~$民政对象_202611.xlsx", sheet)  # Excel's lock file beside an open workbook
    write_book(tmp_path / "民政对象_202611 - 副本.xlsx", sheet)
    (tmp_path / "说明.txt").write_text("十月报表", "utf-8")
    with caplog.at_level(logging.WARNING):
        rows, state = read_stream(tmp_path)
    assert {r["_month"] for r in rows} == {"202609"} and state["month"] == "202610"
    assert "民政对象_202611 - 副本.xlsx" in caplog.text and "~$" not in caplog.text
    write_book(tmp_path / "民政对象_202610.XLSX", sheet)  # the same month twice (case-sensitive file system)
    with pytest.raises(SourceError, match="202610.*delivered twice") as err:
        read_stream(tmp_path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("damage", ["empty_file", "html_as_xlsx", "zip_without_workbook"])
def test_unreadable_roster_is_one_clear_line(tmp_path: Path, kit: SimpleNamespace, damage: str) -> None:
    """Files other systems really deliver under a .xlsx name: an HTML 'Excel' export, a 0-byte copy."""
    write_book(tmp_path / "民政对象_202609.xlsx", {"低保对象": [TITLE, DIBAO, *people(kit), FOOTER]})
    bad = tmp_path / "民政对象_202610.xlsx"
    if damage == "empty_file":
        bad.write_bytes(b"")
    elif damage == "html_as_xlsx":
        bad.write_text("<html><body><table><tr><td>序号</td><td>姓名</td></tr></table></body></html>", "gb18030")
    else:
        import zipfile
        with zipfile.ZipFile(bad, "w") as z:
            z.writestr("readme.txt", "not a workbook")
    for call in (lambda: read_stream(tmp_path),
                 lambda: CivilAffairsConnector().check(SourceSpec(SOURCE, {"path": str(tmp_path)}, vault=VAULT))):
        with pytest.raises(SourceError, match="民政对象_202610.xlsx: cannot be read") as err:
            call()
        assert "\n" not in str(err.value)


def test_missing_month_diffs_against_the_last_month_loaded(tmp_path: Path, kit: SimpleNamespace) -> None:
    """No September roster: October is compared with August, people absent since then leave once."""
    rows = people(kit)
    write_book(tmp_path / "民政对象_202608.xlsx", {"低保对象": [TITLE, DIBAO, *rows, FOOTER]})
    _, aug = read_stream(tmp_path)
    write_book(tmp_path / "民政对象_202610.xlsx", {"低保对象": [TITLE, DIBAO, *rows[:2], FOOTER]})
    news, octo = read_stream(tmp_path, state=aug)
    assert [(r["身份证号码"], r["_op"], r["_month"]) for r in news] == [(kit.cid(3), "delete", "202610")]
    assert octo["month"] == "202610"


# --- values: one workbook through the real gate and store ------------------------------------------

def value_quirks(kit: SimpleNamespace) -> tuple[dict[str, Rows], dict[str, str]]:
    """Four sheets of cell-type quirks, and per 姓名 the outcome expected (``loaded`` or a reason)."""
    def d(name: str, ident: Any, phone: Any = None, approved: Any = "2026-03-05") -> list[Any]:
        return [None, name, ident, "女", "户主", name, 1, 1200, "东村", phone, approved, "在保"]

    x_id = next(kit.cid(n) for n in range(100, 200) if kit.cid(n).endswith("X"))
    dibao = [
        d("甲", f" {kit.cid(1)[:6]} {kit.cid(1)[6:14]} {kit.cid(1)[14:]}\u3000", phone=13812345678.0),  # spaced
        d("乙", "".join(chr(ord(c) + 0xFEE0) for c in kit.cid(2)), phone=13812345679),  # full-width digits
        d("丙", x_id[:17] + "x", approved=dt.datetime(2026, 3, 5)),     # lower-case x
        d("丁", float(kit.cid(4)), approved=46086),                     # ID in a number cell: digits lost
        d("戊", int(kit.cid(5, "19570101"))),                           # an exact int is still a number cell
        d("己", 110105491231002.0, approved="2026年3月5日"),             # 15 digits in a number cell
        d("庚", kit.cid(7), approved=46086.5),                          # a serial with a time of day
        d("辛", kit.cid(8), approved=20260305),                         # yyyymmdd typed as a number
        d("壬", kit.cid(9), approved="20260305"),
        d("癸", kit.cid(10), approved="2026 年 3 月 5 日"),
    ]
    card = kit.cid(21, "19700505") + "42"
    x_card = next(kit.cid(n, "19700505") for n in range(100, 200) if kit.cid(n, "19700505").endswith("X"))
    disabled = [
        [None, "子", card, "肢体", "二级", "北村", "0315-1234567", dt.datetime(2023, 4, 10)],
        [None, "丑", float(kit.cid(22, "19700505") + "42"), "肢体", "二级", "北村", None, "2023.4.10"],
        [None, "寅", f"{x_card[:17]}x 71", "多重", "一级", "北村", None, 45026],  # lower-case x, spaced
    ]
    elderly = [[None, name, kit.cid(30 + i, "19400101"), dt.datetime(1940, 1, 1), 86, 100, "南村", alone]
               for i, (name, alone) in enumerate([("卯", "是"), ("辰", "否 "), ("巳", "√"), ("午", None), ("未", "独"),
                                                  ("申", "否")])]
    late = elderly.pop()  # written under the footer
    expected = {"甲": "loaded", "乙": "loaded", "丙": "loaded", "丁": "id_numeric_cell", "戊": "id_numeric_cell",
                "己": "id_numeric_cell", "庚": "loaded", "辛": "loaded", "壬": "loaded", "癸": "loaded",
                "子": "loaded", "丑": "id_numeric_cell", "寅": "loaded",
                "卯": "loaded", "辰": "loaded", "巳": "loaded", "午": "loaded", "未": "loaded", "申": "unreadable"}
    # 未's 是否独居 "独" is no yes/no: a bad field, not a bad record (loaded without it, a field entry)
    sheets = {"低保对象": [TITLE, DIBAO, *dibao, FOOTER],
              "残疾人": [TITLE, kit.HEADERS["残疾人"], *disabled, FOOTER],
              "高龄老人": [TITLE, kit.HEADERS["高龄老人"], *elderly, ["合 计", "5人"], late, ["制表人：张三"]]}
    return sheets, expected


def test_cell_type_quirks_end_loaded_or_quarantined_with_a_reason(tmp_path: Path, kit: SimpleNamespace,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Each row of a foreign export: loaded with canonical values, or quarantined naming the check."""
    sheets, expected = value_quirks(kit)
    write_book(tmp_path / "rosters" / "民政对象_202610.xlsx", sheets, merge_first_row=True)
    ctx, _ = context_for(ConformanceSetup(kit.write_config(tmp_path), SOURCE), tmp_path, "store")
    with caplog.at_level(logging.DEBUG, logger="hub"), caplog.at_level(logging.DEBUG, logger="hub_civil_affairs"):
        info = sync(ctx, SOURCE, resolve=False)
    outcome: dict[str, str] = {}
    fields: dict[str, tuple[str | None, str]] = {}
    with transaction(ctx.db_url) as session:
        loaded = {r.data["name"]: r.data for r in session.scalars(select(SourceRecord).where(SourceRecord.source == SOURCE))}
        for q in session.scalars(select(QuarantinedRow).where(QuarantinedRow.source == SOURCE)):
            name, checks = json.loads(ctx.vault.decrypt(q.raw_enc))["姓名"], ",".join(sorted({r["check"] for r in q.reasons}))
            if q.scope == "field":
                fields[name] = (q.column_name, checks)
            else:
                outcome[name] = checks
    assert not set(outcome) & set(loaded), "a row both refused and loaded"
    outcome.update({name: "loaded" for name in loaded})
    assert outcome == expected
    assert fields == {"未": ("lives_alone", "enum")} and loaded["未"]["lives_alone"] is None
    for stream, stats in info.load.streams.items():
        assert stats["read"] == stats["loaded"] + stats["quarantined"] + stats["unchanged"], stream
    ids = {name: ctx.vault.decrypt(data["citizen_id_enc"]) for name, data in loaded.items()}  # stored sealed
    assert ids["甲"] == kit.cid(1) and ids["乙"] == kit.cid(2) and ids["寅"].endswith("X") and ids["丙"].endswith("X")
    assert {loaded[n]["approved_on"] for n in ("甲", "丙", "庚", "辛", "壬", "癸")} == {"2026-03-05"}
    phones = {name: ctx.vault.decrypt(data.get("phone_enc")) for name, data in loaded.items()}
    assert phones["甲"] == "13812345678" and phones["乙"] == "13812345679" and phones["子"] == "03151234567"
    assert (loaded["子"]["disability_category"], loaded["子"]["disability_grade"]) == ("4", 2)
    assert (loaded["寅"]["disability_category"], loaded["寅"]["disability_grade"]) == ("7", 1)
    assert [loaded[n]["lives_alone"] for n in ("卯", "辰", "巳", "午")] == [True, False, True, None]
    clear = [kit.cid(n) for n in (1, 2, 4, 5)] + ["13812345678", "13812345679", kit.cid(21, "19700505")]
    assert not [c for c in clear if c in caplog.text], "a citizen ID or phone in clear in the logs"
