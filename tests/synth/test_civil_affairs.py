"""§2 monthly rosters read back with openpyxl, as a county clerk's workbook."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest

SHEETS = {
    "低保对象": ["序号", "姓名", "身份证号码", "性别", "与户主关系", "户主姓名", "保障人数", "月保障金额(元)",
             "所属村(社区)", "联系电话", "审批日期", "状态"],
    "特困供养": ["序号", "姓名", "身份证号码", "性别", "供养方式", "所属村(社区)", "联系电话", "审批日期", "状态"],
    "残疾人": ["序号", "姓名", "残疾人证号", "残疾类别", "残疾等级", "所属村(社区)", "联系电话", "发证日期"],
    "高龄老人": ["序号", "姓名", "身份证号码", "出生日期", "年龄", "补贴标准", "所属村(社区)", "是否独居"],
}
ID_COL = {"低保对象": 2, "特困供养": 2, "残疾人": 2, "高龄老人": 2}
VILLAGE_COL = {"低保对象": 8, "特困供养": 5, "残疾人": 5, "高龄老人": 6}


def _rosters(county) -> dict[str, dict[str, list[tuple]]]:
    out = {}
    for path in sorted((county / "civil-affairs").glob("民政对象_*.xlsx")):
        wb = openpyxl.load_workbook(path)
        out[path.name] = {ws.title: (ws, list(ws.iter_rows(values_only=True))) for ws in wb.worksheets}
    return out


@pytest.fixture(scope="module")
def rosters(county):
    return _rosters(county)


def test_consecutive_monthly_workbooks_with_title_header_footer(rosters, truth):
    months = [n[5:11] for n in rosters]
    assert len(months) >= 2
    for a, b in zip(months, months[1:], strict=False):
        da, db = dt.date(int(a[:4]), int(a[4:]), 1), dt.date(int(b[:4]), int(b[4:]), 1)
        assert (db - da).days in (28, 29, 30, 31)
    extra = {f["source_key"] for f in truth["faults"] if f["fault"] == "extra_column"}
    for name, sheets in rosters.items():
        for title, (ws, rows) in sheets.items():
            assert title in SHEETS
            assert any(str(r).startswith("A1:") for r in ws.merged_cells.ranges)
            assert rows[0][0].endswith(f"{title}花名册") and f"{int(name[9:11])}月" in rows[0][0]
            header = list(rows[1])
            assert header[: len(SHEETS[title])] == SHEETS[title]
            assert (len(header) > len(SHEETS[title])) == (name in extra and title == "低保对象")
            assert rows[-1][0] == "合计"
            data = [r for r in rows[2:-1] if any(v is not None for v in r)]
            assert rows[-1][1] == f"{len(data)}人"


def test_rosters_change_between_months_and_sheets_go_missing(rosters, truth):
    names = list(rosters)
    keys = [{r[2] for r in rosters[n]["低保对象"][1][2:-1] if r and r[0] != "合计" and r[2] is not None}
            for n in names]
    for a, b in zip(keys, keys[1:], strict=False):
        assert a - b and b - a  # people leave and join
    missing = [f for f in truth["faults"] if f["fault"] == "sheet_missing"]
    assert missing and all("特困供养" not in rosters[f["source_key"]] for f in missing)
    stopped = [r for n in names for r in rosters[n]["低保对象"][1][2:-1] if r and r[-1] == "停保"]
    assert stopped


def test_numeric_cell_ids_are_floats_and_quarantined(rosters, truth):
    floats = set()
    for sheets in rosters.values():
        for title, (_, rows) in sheets.items():
            for r in rows[2:-1]:
                if r and isinstance(r[ID_COL[title]], float):
                    floats.add((title, format(r[ID_COL[title]], ".14E")))
    expected = {(q["stream"], q["source_key"]) for q in truth["quarantine"] if q["reason"] == "id_numeric_cell"}
    assert floats and floats == expected
    assert all(re_key.endswith("E+17") for _, re_key in floats)


def test_checksum_errors_match_truth(rosters, truth, id_reason):
    observed = set()
    for sheets in rosters.values():
        for title, (_, rows) in sheets.items():
            for r in rows[2:-1]:
                if r and isinstance(r[ID_COL[title]], str):
                    key = r[ID_COL[title]].strip()
                    reason = id_reason(key[:-2] if title == "残疾人" else key)
                    if reason:
                        observed.add((title, key, reason))
    expected = {(q["stream"], q["source_key"], q["reason"]) for q in truth["quarantine"]
                if q["source"] == "civil-affairs" and q["reason"] != "id_numeric_cell"}
    assert observed == expected


def test_villages_by_name_with_and_without_suffix_and_mixed_dates(county, rosters):
    grids = json.loads((county / "grids.geojson").read_text(encoding="utf-8"))["features"]
    full = {f["properties"]["name"] for f in grids if f["properties"]["level"] == 2}
    short = {n.removesuffix("社区").removesuffix("村") for n in full}
    seen, kinds = set(), set()
    for sheets in rosters.values():
        for title, (_, rows) in sheets.items():
            for r in rows[2:-1]:
                if not r or r[0] is None:
                    continue
                seen.add(r[VILLAGE_COL[title]])
                date = r[3] if title == "高龄老人" else r[-2] if title in ("低保对象", "特困供养") else r[-1]
                kinds.add(type(date).__name__ if not isinstance(date, str) else
                          "年" if "年" in date else "dot" if "." in date else "other")
    assert seen <= full | short and seen & full and seen & short
    assert {"datetime", "int", "年", "dot"} <= kinds


def test_disability_card_is_id_plus_category_and_grade(rosters):
    for sheets in rosters.values():
        for r in sheets["残疾人"][1][2:-1]:
            if r and r[0] is not None and isinstance(r[2], str):
                card = r[2].strip().replace(" ", "")
                assert card[-2] in "1234567" and card[-1] in "1234"
                assert r[4] == f"{card[-1]}级"
