"""Drop folders exported by other hands to the same spec (legacy-systems.md §3), with their own quirks.

Each file is written byte by byte in a shape our generator never makes and read by the real connector,
gate and store. The promise under test: every row read ends loaded, unchanged or quarantined with a
machine-readable reason; never a silent drop, never a crash; a re-run reads nothing new.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db.models import QuarantinedRow, SourceRecord
from hub.db.session import transaction
from hub.stages import sync
from hub.testing import ConformanceSetup, context_for

SOURCE = "fire-safety"
UNIT_HEADER = "单位编号,单位名称,统一社会信用代码,单位地址,法定代表人,消防安全责任人,责任人身份证号,联系电话,单位类别,所属网格,经度,纬度,更新时间"
INSPECTION_HEADER = "检查编号,单位编号,检查日期,检查人员,检查类型,发现隐患数,检查结论"
HAZARD_HEADER = "隐患编号,检查编号,隐患描述,隐患等级,整改期限,整改状态,整改完成日期"
ID_B = "130203198204017898"  # valid MOD 11-2 check character
PHONE = "13912345678"


def unit(no: str, *, name: str = "唐山镇便利店", address: str = "唐山镇幸福里社区38号楼", lon: str = "118.201853",
         lat: str = "39.601556", when: str = "2026-11-01 08:00:00") -> str:
    return ",".join([no, name, "", address, "周杰辉", "张倩", ID_B, PHONE, "九小场所", "", lon, lat, when])


def context(root: Path):  # type: ignore[no-untyped-def]
    config = root / "hub.yaml"
    config.write_text(f"sources:\n  {SOURCE}: {{connector: {SOURCE}, path: drop}}\n", "utf-8")
    (root / "drop").mkdir(exist_ok=True)
    return context_for(ConformanceSetup(config, SOURCE), root, "store")[0]


def put(root: Path, relative: str, data: bytes) -> None:
    path = root / "drop" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def stored(ctx, stream: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        rows = session.execute(select(SourceRecord.source_key, SourceRecord.data).where(
            SourceRecord.source == SOURCE, SourceRecord.stream == stream))
        return {k: d for k, d in rows}


def quarantined(ctx, stream: str) -> dict[str, list[dict]]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        rows = session.execute(select(QuarantinedRow.source_key, QuarantinedRow.reasons).where(
            QuarantinedRow.source == SOURCE, QuarantinedRow.stream == stream))
        return {k: reasons for k, reasons in rows}


def test_utf8_without_bom_trailing_commas_and_excel_blank_rows_load_whole(tmp_path: Path) -> None:
    """Another tool's units file: UTF-8 without a BOM, LF, a padded header with a trailing comma, every
    row ending in an empty field, Excel's `,,,,` rows, blank lines, full-width coordinates, a JDBC-style
    timestamp and a quoted address holding a comma, a quote and a line break."""
    rows = [
        unit("DW1", name="王𠈌记小吃店", when="2026/03/05 14:22:01.0"),
        unit("DW2", address='"唐山镇北村""东头"",3号\n后院"', lon="１１８．２０１８５３", lat="３９．６０１５５６",
             when="20260305142201"),
        ",,,,,,,,,,,,",
        "",
        "   ",
        unit("DW3", lon="", lat=""),
    ]
    header = " " + UNIT_HEADER.replace(",", " , ") + " ,"
    put(tmp_path, "20261101/单位.csv", (header + "\n" + "".join(r + ",\n" for r in rows) + "\n").encode("utf-8"))
    ctx = context(tmp_path)
    info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["units"] == {"read": 3, "loaded": 3, "unchanged": 0, "quarantined": 0, "tombstoned": 0}
    units = stored(ctx, "units")
    assert units["DW1"]["org_name"] == "王𠈌记小吃店"
    assert units["DW1"]["updated_at"].startswith("2026-03-05") and "14:22:01" in units["DW1"]["updated_at"]
    assert "14:22:01" in units["DW2"]["updated_at"]  # the time of day survives both layouts
    assert units["DW2"]["address"] == '唐山镇北村"东头",3号 后院'
    assert (units["DW2"]["lon"], units["DW2"]["lat"]) == (118.201853, 39.601556)
    assert units["DW3"]["lon"] is None and units["DW3"]["lat"] is None
    assert sync(ctx, SOURCE, resolve=False).extract.rows == 0


def test_folder_layout_quirks_stray_files_and_odd_dates(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Upper-case `.CSV`, a zero-byte file, a header-only file, a day without some files, blank lines
    above the header, `.DS_Store`/`readme.txt`, a mis-named folder (named in a warning, never silently
    skipped) and the four date layouts; then a stray file added to a loaded folder changes no record."""
    put(tmp_path, "20261101/单位.csv", (UNIT_HEADER + "\r\n" + unit("DW1") + "\r\n").encode("gb18030"))
    put(tmp_path, "20261101/检查记录.CSV", ("\r\n" + INSPECTION_HEADER + "\r\n" + "\r\n".join([
        "JC1,DW1,2026/3/5,李东波,日常,0,合格", "JC2,DW1,2026-03-05,李东波,专项,0,合格",
        "JC3,DW1,20260305,李东波,复查,0,合格", "JC4,DW1,2026-03-05 14:22:01,李东波,日常,0,合格"]) + "\r\n"
    ).encode("gb18030"))
    put(tmp_path, "20261101/隐患.csv", b"")
    put(tmp_path, "20261101/.DS_Store", b"\x00\x00\x00\x01Bud1\x00")
    put(tmp_path, "20261102/隐患.csv", (HAZARD_HEADER + "\r\n").encode("gb18030"))
    put(tmp_path, "20261102/readme.txt", "更正说明".encode("gb18030"))
    put(tmp_path, "2026-11-03/单位.csv", (UNIT_HEADER + "\r\n" + unit("DW9") + "\r\n").encode("gb18030"))
    put(tmp_path, "notes.txt", b"stray file at the top")
    ctx = context(tmp_path)
    with caplog.at_level(logging.WARNING):
        info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["units"]["loaded"] == 1 and info.load.streams["inspections"]["loaded"] == 4
    assert info.load.streams["hazards"]["read"] == 0
    assert {k: v["inspected_on"] for k, v in stored(ctx, "inspections").items()} == dict.fromkeys(
        ("JC1", "JC2", "JC3", "JC4"), "2026-03-05")
    assert any("2026-11-03" in r.getMessage() and "YYYYMMDD" in r.getMessage() for r in caplog.records)
    put(tmp_path, "20261101/Thumbs.db", b"\x00")  # a re-delivery that only adds junk
    again = sync(ctx, SOURCE, resolve=False)
    assert again.load.streams["units"]["loaded"] == 0 and again.load.streams["units"]["unchanged"] == 1
    assert sync(ctx, SOURCE, resolve=False).extract.rows == 0


def test_misfit_rows_in_a_utf8_file_are_quarantined_with_reasons(tmp_path: Path) -> None:
    """A UTF-8 file (no BOM) with a GBK-encoded row pasted in, a row with content past the last column,
    one short row and one with a stray quote: each quarantined as `unreadable` naming file and line;
    the good rows around them load. No reason holds the phone or ID in clear."""
    good = unit("DW1") + "\n"
    body = (UNIT_HEADER + "\n" + good).encode("utf-8")
    body += unit("DW2", name="李记理发店").encode("gbk") + b"\n"
    body += (unit("DW3") + ",夜查,\n").encode("utf-8")
    body += "DW4,张记五金,,\n".encode()
    body += unit("DW5", name='"老王"面馆').encode("utf-8") + b"\n"
    body += unit("DW6").encode("utf-8") + b"\n"
    put(tmp_path, "20261101/单位.csv", body)
    ctx = context(tmp_path)
    info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["units"] == {"read": 6, "loaded": 2, "unchanged": 0, "quarantined": 4, "tombstoned": 0}
    bad = quarantined(ctx, "units")
    assert set(bad) == {"DW2", "DW3", "DW4", "DW5"} and set(stored(ctx, "units")) == {"DW1", "DW6"}
    reasons = {k: next(r["value"] for r in v if r["check"] == "unreadable") for k, v in bad.items()}
    assert reasons["DW2"] == "20261101/单位.csv line 3: bytes not valid utf-8"
    assert "15 fields" in reasons["DW3"] and "4 fields" in reasons["DW4"]
    text = json.dumps(bad, ensure_ascii=False)
    assert PHONE not in text and ID_B not in text


def test_jdbc_and_compact_timestamps_keep_their_time_of_day() -> None:
    """The shared datetime normaliser: `2026/03/05 14:22:01.0` used to lose its time silently."""
    from hub.quality.normalize import Invalid, datetime

    assert datetime("2026/03/05 14:22:01.0") == dt.datetime(2026, 3, 5, 14, 22, 1)
    assert datetime("20260305142201") == dt.datetime(2026, 3, 5, 14, 22, 1)
    assert datetime("2026-3-5 8:05:09.25") == dt.datetime(2026, 3, 5, 8, 5, 9, 250000)
    with pytest.raises(Invalid):
        datetime("20260230142201")
