"""The civil-affairs connector: conformance, each §2 quirk on a real workbook, and month semantics."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hub_civil_affairs.connector import CivilAffairsConnector
from hub_civil_affairs.roster import SHEETS
from sqlalchemy import select

from hub.connector import SourceSpec
from hub.db.models import QuarantinedRow, SourceRecord
from hub.db.session import transaction
from hub.errors import SourceError
from hub.privacy import Vault
from hub.stages import sync
from hub.stages.load import stored_source_key
from hub.testing import ConformanceSetup, ConnectorConformance, context_for, stored_records

SOURCE = "civil-affairs"


@pytest.fixture
def conformance(rosters: Path, kit: SimpleNamespace) -> ConformanceSetup:
    def advance() -> bool:
        kit.write_roster(rosters, "202610", kit.month_b())
        return True

    return ConformanceSetup(config_path=rosters.parent / "hub.yaml", source=SOURCE, advance=advance)


@pytest.fixture
def broken_conformance(tmp_path: Path, kit: SimpleNamespace) -> ConformanceSetup:
    return ConformanceSetup(config_path=kit.write_config(tmp_path, "no-such-folder"), source=SOURCE)


class TestCivilAffairsConformance(ConnectorConformance):
    pass


VAULT = Vault("test-secret-key")


def keys_of(state: dict) -> dict[str, str]:
    """The roster keys a state holds; they are citizen IDs, so the state only holds them sealed."""
    assert isinstance(state["keys"], str)
    return VAULT.unseal(state["keys"])


def read_stream(folder: Path, sheet: str, state: dict[str, Any] | None = None) -> tuple[list[dict], dict]:
    """Every row one read of a stream emits, and the state it ends on."""
    spec = SourceSpec(SOURCE, {"path": str(folder)}, vault=VAULT)
    stream = CivilAffairsConnector().stream(spec, sheet)
    rows: list[dict] = []
    after = dict(state or {})
    for batch in stream.read(dict(state or {})):
        rows.extend(batch.records.to_pylist())
        after = batch.state
    return rows, after


def records(ctx, stream: str) -> dict[str, SourceRecord]:  # type: ignore[no-untyped-def]
    """Stored records by their key as written; the store itself holds only a token for it (an ID)."""
    with transaction(ctx.db_url) as session:
        found = list(session.scalars(select(SourceRecord).where(SourceRecord.source == SOURCE,
                                                                SourceRecord.stream == stream)))
    assert all(r.source_key.startswith("~") for r in found), "a roster ID stored in clear as a source key"
    return {ctx.vault.decrypt(r.data["_source_key_enc"]): r for r in found}


def quarantined(ctx) -> dict[tuple[str, str], list[str]]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        rows = session.scalars(select(QuarantinedRow).where(QuarantinedRow.source == SOURCE))
        return {(q.stream, q.source_key): [r["check"] for r in q.reasons] for q in rows}


def test_sheet_shape_quirks_are_read_not_guessed(rosters: Path, kit: SimpleNamespace) -> None:
    rows, state = read_stream(rosters, "低保对象")
    # merged title, a preamble line, header on row 3, two blank rows, the 合计 footer and a note after it
    assert [r["姓名"] for r in rows] == ["朱磊", "侯琴", "王琴", "李娜", "赵丽"]
    by_name = {r["姓名"]: r for r in rows}
    assert by_name["侯琴"]["身份证号码"] == kit.cid(2)  # trimmed: the source key as written
    numeric = by_name["李娜"]["身份证号码"]
    assert numeric == format(float(kit.cid(4)), ".14E") and "E+17" in numeric and numeric != kit.cid(4)
    assert by_name["朱磊"]["审批日期"] == "2025-10-10"           # a date cell
    assert by_name["王琴"]["审批日期"] == "46086"                # an Excel serial, passed through
    assert by_name["李娜"]["审批日期"] == "2026.3.5"
    assert by_name["赵丽"]["审批日期"] == "2026年3月5日"
    assert by_name["王琴"]["所属村(社区)"] == "东" and by_name["朱磊"]["所属村(社区)"] == "东村"
    assert "备注" in rows[0]  # the clerk's extra column passes through
    assert {r["_month"] for r in rows} == {"202609"} and {r["_op"] for r in rows} == {"upsert"}
    assert state["month"] == "202609" and len(keys_of(state)) == 5
    assert all(len(d) == 8 for d in keys_of(state).values()), "one short digest per key"
    assert all(key not in json.dumps(state) for key in keys_of(state)), "a roster ID in clear in the state"


def test_disability_card_is_split_into_id_category_grade(rosters: Path, kit: SimpleNamespace) -> None:
    card = f" {kit.cid(23, '19800808')} 61 "
    kit.write_roster(rosters, "202609", [kit.Sheet("残疾人", [kit.canjiren(21, "何峰"), kit.canjiren(23, "钱七", card=card)])])
    rows, _ = read_stream(rosters, "残疾人")
    first, spaced = rows
    assert first["残疾人证号"] == kit.cid(21, "19700505") + "42"
    assert (first["证号.身份证号码"], first["证号.残疾类别码"], first["证号.残疾等级码"]) == (kit.cid(21, "19700505"), "4", "2")
    assert spaced["残疾人证号"] == card.strip()  # the key: as written, trimmed
    assert (spaced["证号.身份证号码"], spaced["证号.残疾类别码"], spaced["证号.残疾等级码"]) == (kit.cid(23, "19800808"), "6", "1")


def test_sync_quarantines_numeric_id_and_normalises_dates(tmp_path: Path, rosters: Path, kit: SimpleNamespace) -> None:
    ctx, _ = context_for(ConformanceSetup(rosters.parent / "hub.yaml", SOURCE), tmp_path, "store")
    info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["低保对象"] == {"read": 5, "loaded": 4, "unchanged": 0, "quarantined": 1, "tombstoned": 0}
    numeric_key = format(float(kit.cid(4)), ".14E")
    assert quarantined(ctx) == {("低保对象", stored_source_key(ctx, SOURCE, "低保对象", numeric_key)): ["id_numeric_cell"]}
    loaded = records(ctx, "低保对象")
    assert numeric_key not in loaded, "a float ID must never be rounded into a record"
    dates = {k: r.data["approved_on"] for k, r in loaded.items()}
    assert dates[kit.cid(3)] == "2026-03-05" and dates[kit.cid(5)] == "2026-03-05" and dates[kit.cid(1)] == "2025-10-10"
    assert loaded[kit.cid(3)].data["village"] == "东" and loaded[kit.cid(3)].data["roster_month"] == "202609"
    assert loaded[kit.cid(5)].data["status"] == "停保"
    assert all(kit.cid(1) not in json.dumps(r.data) for r in loaded.values()), "IDs are stored blind-indexed only"
    cards = records(ctx, "残疾人")
    assert {r.data["disability_category"] for r in cards.values()} == {"4", "7"}
    assert sorted(r.data["disability_grade"] for r in cards.values()) == [2, 3]
    elderly = records(ctx, "高龄老人")
    assert sorted(r.data["lives_alone"] for r in elderly.values()) == [False, True]
    assert any("备注" in w for w in info.validate.streams["低保对象"].warnings), "an extra column is warned about"


def test_next_month_emits_joins_changes_leaves_only(rosters: Path, kit: SimpleNamespace) -> None:
    _, state_a = read_stream(rosters, "低保对象")
    _, tekun_a = read_stream(rosters, "特困供养")
    kit.write_roster(rosters, "202610", kit.month_b())
    rows, state_b = read_stream(rosters, "低保对象", state_a)
    news = {(r["身份证号码"], r["_op"], r["_reason"]) for r in rows}
    # 王琴: same date written another way, village with its suffix now: not a change; 李娜: unchanged
    assert news == {(kit.cid(1), "upsert", None), (kit.cid(6), "upsert", None), (kit.cid(5), "delete", "left roster")}
    assert {r["_month"] for r in rows} == {"202610"}
    assert state_b["month"] == "202610" and kit.cid(5) not in keys_of(state_b) and kit.cid(6) in keys_of(state_b)
    assert read_stream(rosters, "低保对象", state_b)[0] == [], "a second read of the same month reads nothing"
    # 特困供养 is missing from October's workbook: nobody left, and October counts as read
    tekun_rows, tekun_b = read_stream(rosters, "特困供养", tekun_a)
    assert tekun_rows == [] and tekun_b["month"] == "202610" and keys_of(tekun_b) == keys_of(tekun_a)


def test_missing_sheet_is_not_everyone_leaving(tmp_path: Path, rosters: Path, kit: SimpleNamespace) -> None:
    setup = ConformanceSetup(rosters.parent / "hub.yaml", SOURCE)
    ctx, _ = context_for(setup, tmp_path, "store")
    sync(ctx, SOURCE, resolve=False)
    kit.write_roster(rosters, "202610", kit.month_b())
    info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["特困供养"]["tombstoned"] == 0
    assert info.load.streams["低保对象"] == {"read": 3, "loaded": 2, "unchanged": 0, "quarantined": 0, "tombstoned": 1}
    assert not any(r.deleted for r in records(ctx, "特困供养").values())
    assert records(ctx, "低保对象")[kit.cid(5)].deleted and records(ctx, "低保对象")[kit.cid(5)].delete_reason == "left roster"
    assert records(ctx, "低保对象")[kit.cid(1)].data["monthly_amount"] == 1500
    # November brings 特困供养 back without 张阳: now, and only now, that is a leave
    nov = kit.month_b()
    nov.append(kit.Sheet("特困供养", [kit.tekun(11, "李建", "集中")]))
    kit.write_roster(rosters, "202611", nov)
    info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["特困供养"] == {"read": 1, "loaded": 0, "unchanged": 0, "quarantined": 0, "tombstoned": 1}
    assert sync(ctx, SOURCE, resolve=False).extract.rows == 0


def test_several_months_at_once_equal_month_by_month(tmp_path: Path, rosters: Path, kit: SimpleNamespace) -> None:
    """Three months in one run load exactly what three monthly runs load: each month's own difference is
    emitted (so an older month's bad row is still seen and quarantined), the newest change wins at load."""
    setup = ConformanceSetup(rosters.parent / "hub.yaml", SOURCE)
    stepwise, _ = context_for(setup, tmp_path, "stepwise")
    sync(stepwise, SOURCE, resolve=False)
    kit.write_roster(rosters, "202610", kit.month_b())
    sync(stepwise, SOURCE, resolve=False)
    nov = kit.month_b()
    nov[0].rows = [r for r in nov[0].rows if r["姓名"] != "孙强"] + [kit.dibao(5, "赵丽", "赵丽")]  # one leaves, one rejoins
    kit.write_roster(rosters, "202611", nov)
    sync(stepwise, SOURCE, resolve=False)
    at_once, _ = context_for(setup, tmp_path, "at-once")
    info = sync(at_once, SOURCE, resolve=False)
    assert stored_records(at_once, SOURCE) == stored_records(stepwise, SOURCE)
    assert info.load.streams["低保对象"]["quarantined"] == 1  # the numeric ID, once; no false duplicate_key
    rows, _ = read_stream(rosters, "低保对象")
    assert len({(r["身份证号码"], r["_month"]) for r in rows}) == len(rows), "a key twice within one month"
    assert [r["_month"] for r in rows] == sorted(r["_month"] for r in rows), "months emitted in order"
    months = {r["身份证号码"]: (r["_month"], r["_op"]) for r in rows}  # the last emission of each key
    assert months[kit.cid(6)] == ("202611", "delete") and months[kit.cid(5)] == ("202611", "upsert")
    assert months[kit.cid(1)] == ("202610", "upsert") and months[kit.cid(3)] == ("202609", "upsert")


def test_redelivered_month_emits_its_corrections(rosters: Path, kit: SimpleNamespace) -> None:
    _, state = read_stream(rosters, "低保对象")
    fixed = kit.month_a()
    fixed[0].rows[0] = kit.dibao(1, "朱磊", "朱磊", amount=1300)
    kit.write_roster(rosters, "202609", fixed)
    rows, after = read_stream(rosters, "低保对象", state)
    assert [(r["身份证号码"], r["月保障金额(元)"]) for r in rows] == [(kit.cid(1), "1300")]
    assert read_stream(rosters, "低保对象", after)[0] == []


def test_duplicate_key_in_one_month_is_emitted_twice_and_quarantined(tmp_path: Path, rosters: Path,
                                                                     kit: SimpleNamespace) -> None:
    sheets = kit.month_a()
    sheets[0].rows.append(kit.dibao(1, "朱磊", "朱磊", amount=999))
    kit.write_roster(rosters, "202609", sheets)
    assert [r["身份证号码"] for r in read_stream(rosters, "低保对象")[0]].count(kit.cid(1)) == 2
    ctx, _ = context_for(ConformanceSetup(rosters.parent / "hub.yaml", SOURCE), tmp_path, "store")
    sync(ctx, SOURCE, resolve=False)
    assert quarantined(ctx)[("低保对象", stored_source_key(ctx, SOURCE, "低保对象", kit.cid(1)))] == ["duplicate_key"]
    assert records(ctx, "低保对象")[kit.cid(1)].data["monthly_amount"] == 1200  # the first row stands


def test_row_without_id_is_quarantined_not_dropped(tmp_path: Path, rosters: Path, kit: SimpleNamespace) -> None:
    sheets = kit.month_a()
    sheets[0].rows.append(kit.dibao(7, "无证", "无证", ident=""))
    kit.write_roster(rosters, "202609", sheets)
    ctx, _ = context_for(ConformanceSetup(rosters.parent / "hub.yaml", SOURCE), tmp_path, "store")
    info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["低保对象"]["quarantined"] == 2
    assert any(s == "低保对象" and k is None for s, k in quarantined(ctx))


@pytest.mark.parametrize("damage", ["corrupt", "no_header", "no_key_column"])
def test_unreadable_workbook_is_one_clear_line(rosters: Path, kit: SimpleNamespace, damage: str) -> None:
    path = rosters / "民政对象_202610.xlsx"
    if damage == "corrupt":
        path.write_bytes(b"PK\x03\x04 not really a workbook")
        expected = "民政对象_202610.xlsx: cannot be read"
    else:
        header = ["序号", "名字", "证件", "性别"] if damage == "no_header" else \
            [h for h in kit.HEADERS["低保对象"] if h != "身份证号码"]
        kit.write_roster(rosters, "202610", [kit.Sheet("低保对象", [kit.dibao(1, "朱磊", "朱磊")], header=header)])
        expected = "no header row" if damage == "no_header" else "key column '身份证号码' missing"
    with pytest.raises(SourceError, match=expected) as err:
        read_stream(rosters, "低保对象")
    assert "\n" not in str(err.value)


def test_cli_discover_and_a_corrupt_roster(rosters: Path) -> None:
    """The user's view: discover names raw -> canonical columns; a broken file is one line, exit non-zero."""
    def hub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hub", *args], cwd=rosters.parent, capture_output=True,
                              text=True, env={**os.environ, "COLUMNS": "200"}, check=False)

    proc = hub("discover", SOURCE)
    assert proc.returncode == 0, proc.stderr
    assert all(spec.name in proc.stdout for spec in SHEETS)
    assert "证号.身份证号码 -> citizen_id" in proc.stdout and "_month -> roster_month" in proc.stdout
    (rosters / "民政对象_202610.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    proc = hub("sync", SOURCE, "--no-resolve")
    assert proc.returncode != 0 and "民政对象_202610.xlsx: cannot be read" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_empty_folder_check_fails_and_lock_files_are_ignored(tmp_path: Path, rosters: Path) -> None:
    shutil.copy(rosters / "民政对象_202609.xlsx", rosters / "~$民政对象_202610.xlsx")
    (rosters / "民政对象_202613.xlsx").write_bytes(b"")  # month 13: not a roster name
    rows, state = read_stream(rosters, "高龄老人")
    assert state["month"] == "202609" and len(rows) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no 民政对象_YYYYMM.xlsx roster"):
        CivilAffairsConnector().check(SourceSpec(SOURCE, {"path": str(empty)}))
