"""The fire-safety connector: conformance, each §3 quirk in its real file shape, and day-by-day sync."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db.models import QuarantinedRow, SourceRecord
from hub.db.session import transaction
from hub.stages import sync
from hub.synth import generate
from hub.testing import ConformanceSetup, ConnectorConformance, context_for

UNIT_HEADER = ["单位编号", "单位名称", "统一社会信用代码", "单位地址", "法定代表人", "消防安全责任人", "责任人身份证号",
               "联系电话", "单位类别", "所属网格", "经度", "纬度", "更新时间"]
INSPECTION_HEADER = ["检查编号", "单位编号", "检查日期", "检查人员", "检查类型", "发现隐患数", "检查结论"]
HAZARD_HEADER = ["隐患编号", "检查编号", "隐患描述", "隐患等级", "整改期限", "整改状态", "整改完成日期"]
# valid MOD 11-2 check characters
ID_B = "130203198204017898"
CREDIT = "91130203MA07Y8KX4R"


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "gb18030") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def unit(no: str, name: str = "唐山镇便利店", *, credit: str = CREDIT, category: str = "一般单位", grid: str = "",
         lon: str = "118.201853", lat: str = "39.601556", phone: str = "13912345678", rid: str = ID_B,
         person: str = "张倩", when: str = "2026-11-01 08:00:00") -> list[str]:
    return [no, name, credit, "唐山镇幸福里社区38号楼", "周杰辉", person, rid, phone, category, grid, lon, lat, when]


def write_day(root: Path, day: str, units: list[list[str]] | None = None, inspections: list[list[str]] | None = None,
              hazards: list[list[str]] | None = None, encodings: dict[str, str] | None = None) -> Path:
    folder = root / "fire-safety" / day
    folder.mkdir(parents=True, exist_ok=True)
    enc = encodings or {}
    for fname, header, rows in (("单位.csv", UNIT_HEADER, units), ("检查记录.csv", INSPECTION_HEADER, inspections),
                                ("隐患.csv", HAZARD_HEADER, hazards)):
        if rows is not None:
            (folder / fname).write_bytes(csv_bytes(header, rows, enc.get(fname, "gb18030")))
    return folder


def hub_yaml(root: Path, path: str = "fire-safety") -> Path:
    config = root / "hub.yaml"
    config.write_text(f"sources:\n  fire-safety: {{connector: fire-safety, path: {path}}}\n", "utf-8")
    return config


def records(ctx, stream: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        rows = session.execute(select(SourceRecord.source_key, SourceRecord.data).where(
            SourceRecord.source == "fire-safety", SourceRecord.stream == stream))
        return {k: d for k, d in rows}


def quarantine(ctx, stream: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        rows = session.execute(select(QuarantinedRow.source_key, QuarantinedRow.reasons).where(
            QuarantinedRow.source == "fire-safety", QuarantinedRow.stream == stream))
        return {k: [r["check"] for r in reasons] for k, reasons in rows}


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(out, seed=7, residents=1500, days=3)
    return out


def day_sources(county: Path) -> list[list[Path]]:
    """The folders delivered on each day (a re-delivered folder replaces the earlier delivery)."""
    plan = json.loads((county / "truth" / "days.json").read_text("utf-8"))
    days = []
    for day in plan["days"]:
        files = day["sources"].get("fire-safety", {}).get("files", [])
        days.append([county / f for f in files])
    # the first delivery of a folder re-delivered later is kept under truth/replay
    for replay in (county / "truth" / "replay" / "fire-safety").glob("*"):
        for i, folders in enumerate(days[:-1]):
            days[i] = [replay if f.name == replay.name else f for f in folders]
    return days


def deliver(folders: list[Path], root: Path) -> None:
    for folder in folders:
        target = root / "fire-safety" / folder.name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target)


@pytest.fixture
def conformance(county: Path, tmp_path: Path) -> ConformanceSetup:
    days = day_sources(county)
    deliver(days[0], tmp_path)
    pending = list(days[1:2])

    def advance() -> bool:
        if not pending:
            return False
        deliver(pending.pop(0), tmp_path)
        return True

    return ConformanceSetup(config_path=hub_yaml(tmp_path), source="fire-safety", advance=advance)


@pytest.fixture
def broken_conformance(tmp_path: Path) -> ConformanceSetup:
    return ConformanceSetup(config_path=hub_yaml(tmp_path, "no-such-folder"), source="fire-safety")


class TestFireSafetyConformance(ConnectorConformance):
    pass


def test_day_by_day_loads_each_days_changes(county: Path, tmp_path: Path) -> None:
    config = hub_yaml(tmp_path)
    ctx, _ = context_for(ConformanceSetup(config, "fire-safety"), tmp_path, "store")
    plan = json.loads((county / "truth" / "days.json").read_text("utf-8"))["days"]
    for day, folders in enumerate(day_sources(county)):
        deliver(folders, tmp_path)
        info = sync(ctx, "fire-safety", resolve=False)
        truth = plan[day]["sources"]["fire-safety"]
        for stream in ("units", "inspections", "hazards"):
            counts = info.load.streams[stream]
            assert counts["read"] == truth[stream]["read"], (day, stream, counts)
            dup = [k for k, checks in quarantine(ctx, stream).items() if "duplicate_key" in checks]
            assert not dup, f"day {day}: a legitimate correction was flagged as a duplicate: {dup}"
        again = sync(ctx, "fire-safety", resolve=False)
        assert again.extract.rows == 0, f"day {day}: a second sync the same day read rows again"
        if day == len(plan) - 1:  # the re-delivered folder's corrected phones are changes, not duplicates
            assert info.load.streams["units"]["unchanged"] == 0
            assert info.load.streams["inspections"]["unchanged"] == 0
            assert info.load.streams["hazards"]["unchanged"] > 0  # re-delivered as they were


def test_gb18030_only_names_utf8_bom_and_three_date_forms(tmp_path: Path) -> None:
    rare = "王𠈌㵘"  # 𠈌 (U+2020C) and 㵘 exist in GB18030 but not in GBK
    with pytest.raises(UnicodeEncodeError):
        rare.encode("gbk")
    write_day(tmp_path, "20261101", units=[unit("DW1", "㵘记小吃店", person=rare)],
              inspections=[["JC1", "DW1", "2026/3/5", "李东波", "日常", "0", "合格"],
                           ["JC2", "DW1", "2026-03-05", "李东波", "专项", "0", "合格"],
                           ["JC3", "DW1", "20260305", "李东波", "复查", "0", "合格"]],
              encodings={"检查记录.csv": "utf-8-sig"})
    ctx, _ = context_for(ConformanceSetup(hub_yaml(tmp_path), "fire-safety"), tmp_path, "store")
    info = sync(ctx, "fire-safety", resolve=False)
    assert info.load.streams["units"]["loaded"] == 1 and info.load.streams["inspections"]["loaded"] == 3
    stored = records(ctx, "units")["DW1"]
    assert stored["org_name"] == "㵘记小吃店" and stored["responsible_name"] == rare
    dates = {k: v["inspected_on"] for k, v in records(ctx, "inspections").items()}
    assert dates == {"JC1": "2026-03-05", "JC2": "2026-03-05", "JC3": "2026-03-05"}


def test_redelivered_folder_newer_values_win(tmp_path: Path) -> None:
    write_day(tmp_path, "20261101", units=[unit("DW1", phone="13900000001"), unit("DW2", phone="13900000002"),
                                           unit("DW3", phone="13900000003")])
    write_day(tmp_path, "20261102", units=[unit("DW2", phone="13900000022", when="2026-11-02 09:00:00")])
    ctx, _ = context_for(ConformanceSetup(hub_yaml(tmp_path), "fire-safety"), tmp_path, "store")
    first = sync(ctx, "fire-safety", resolve=False)
    # both folders pending in one run: DW2 comes once, from the newer folder; no duplicate_key
    assert first.load.streams["units"] == {"read": 3, "loaded": 3, "unchanged": 0, "quarantined": 0, "tombstoned": 0}
    before = records(ctx, "units")
    # 20261101 re-delivered with corrections: DW1 corrected, DW3 the same, DW2 corrected but superseded by 20261102
    write_day(tmp_path, "20261101", units=[unit("DW1", phone="13900000011", name="唐山镇便利店(更正)"),
                                           unit("DW2", phone="13900000099"), unit("DW3", phone="13900000003")])
    again = sync(ctx, "fire-safety", resolve=False)
    assert again.load.streams["units"] == {"read": 2, "loaded": 1, "unchanged": 1, "quarantined": 0, "tombstoned": 0}
    after = records(ctx, "units")
    assert after["DW1"]["org_name"] == "唐山镇便利店(更正)"
    assert after["DW1"]["responsible_phone_bidx"] != before["DW1"]["responsible_phone_bidx"]
    assert after["DW2"] == before["DW2"] and after["DW3"] == before["DW3"]
    assert sync(ctx, "fire-safety", resolve=False).extract.rows == 0


def test_small_premises_without_credit_code_and_odd_coordinates(tmp_path: Path) -> None:
    write_day(tmp_path, "20261101", units=[
        unit("DW1", "李记理发店", credit="", category="九小场所"),
        unit("DW2", lon="39.601556", lat="118.201853"),  # swapped: passed through, resolve detects it
        unit("DW3", lon="", lat="", grid=""),
        unit("DW4", credit="91130203MA07Y8KX4A"),  # wrong check character: loaded without it, a field entry
    ])
    ctx, _ = context_for(ConformanceSetup(hub_yaml(tmp_path), "fire-safety"), tmp_path, "store")
    info = sync(ctx, "fire-safety", resolve=False)
    assert info.load.streams["units"]["loaded"] == 4 and info.load.withheld["units"] == 1
    stored = records(ctx, "units")
    assert stored["DW1"]["credit_code"] is None and stored["DW1"]["category"] == "九小场所"
    assert (stored["DW2"]["lon"], stored["DW2"]["lat"]) == (39.601556, 118.201853)
    assert stored["DW3"]["lon"] is None and stored["DW3"]["grid_code"] is None
    assert stored["DW4"]["credit_code"] is None and stored["DW4"]["org_name"]  # a bad field is not a bad record
    assert quarantine(ctx, "units") == {"DW4": ["credit_code_checksum"]}
    assert "13912345678" not in json.dumps(stored, ensure_ascii=False) and ID_B not in json.dumps(stored)


def test_quoted_fields_broken_lines_and_bad_bytes_are_quarantined(tmp_path: Path) -> None:
    folder = write_day(tmp_path, "20261101", units=[unit("DW1")])
    good = csv_bytes(HAZARD_HEADER, [["YH1", "JC1", "疏散通道堵塞,安全出口锁闭\n灭火器过期", "一般", "2026-11-15", "待整改", ""]])
    body = (good + "YH2,JC1,防火门常开,一般\r\n".encode("gb18030")  # 4 fields of 7
            + b"YH3,JC1,\xff\xfe\xff,\xd2\xbb\xb0\xe3,2026-11-15,\xb4\xfd\xd5\xfb\xb8\xc4,\r\n"  # not GB18030
            + "YH4,JC1,\"应急照明损坏\"x,一般,2026-11-15,待整改,\r\n".encode("gb18030")  # stray quote
            + "YH5,JC1,电动自行车室内充电,重大,2026-11-20,待整改,\r\n".encode("gb18030"))
    (folder / "隐患.csv").write_bytes(body)
    ctx, _ = context_for(ConformanceSetup(hub_yaml(tmp_path), "fire-safety"), tmp_path, "store")
    info = sync(ctx, "fire-safety", resolve=False)
    assert info.load.streams["hazards"] == {"read": 5, "loaded": 2, "unchanged": 0, "quarantined": 3, "tombstoned": 0}
    assert records(ctx, "hazards")["YH1"]["summary"] == "疏散通道堵塞,安全出口锁闭 灭火器过期"
    assert set(quarantine(ctx, "hazards")) == {"YH2", "YH3", "YH4"}
    assert all(checks == ["unreadable"] for checks in quarantine(ctx, "hazards").values())


def test_extra_column_passes_with_a_warning(tmp_path: Path) -> None:
    folder = write_day(tmp_path, "20261101")
    (folder / "检查记录.csv").write_bytes(csv_bytes([*INSPECTION_HEADER, "备注"],
                                                 [["JC1", "DW1", "2026-11-01", "李东波", "日常", "0", "合格", "夜查"]]))
    ctx, _ = context_for(ConformanceSetup(hub_yaml(tmp_path), "fire-safety"), tmp_path, "store")
    info = sync(ctx, "fire-safety", resolve=False)
    assert info.load.streams["inspections"]["loaded"] == 1
    assert any("备注" in w for w in info.validate.streams["inspections"].warnings)


def test_undecodable_file_fails_the_run_in_one_line(tmp_path: Path) -> None:
    folder = write_day(tmp_path, "20261101", units=[unit("DW1")])
    (folder / "隐患.csv").write_bytes(b"\xff\xff\xff\xff,\x80\x80\r\nYH1,JC1\r\n")
    hub_yaml(tmp_path)
    env = {**os.environ, "HUB_SECRET_KEY": "test-secret"}
    proc = subprocess.run([sys.executable, "-m", "hub", "sync", "fire-safety", "--no-resolve"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "20261101/隐患.csv" in errors[0] and "GB18030" in errors[0], proc.stderr
