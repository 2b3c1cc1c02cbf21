"""The dispute-mediation connector: conformance, each §5 quirk in the real log shape, day-by-day sync."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hub_dispute_mediation.case_book import party_kind
from hub_dispute_mediation.event_log import Cursor
from sqlalchemy import select

from hub.db.models import QuarantinedRow, SourceRecord, StreamState
from hub.db.session import transaction
from hub.stages import sync
from hub.synth import generate
from hub.testing import ConformanceSetup, ConnectorConformance, context_for, stored_records

SOURCE = "dispute-mediation"
# valid MOD 11-2 check characters
ID_1, ID_2 = "130203195405045074", "130203195603178601"


def line(seq: int, kind: str, case_no: str, data: dict, ts: str = "2026-11-01T09:00:00+08:00") -> str:
    return json.dumps({"seq": seq, "ts": ts, "type": kind, "case_no": case_no, "data": data},
                      ensure_ascii=False, separators=(",", ":")) + "\n"


def accepted(seq: int, case_no: str, parties: list[dict] | None = None) -> str:
    parties = parties if parties is not None else [
        {"role": "申请人", "name": "陈洋", "id_no": ID_1, "phone": "13933286353"},
        {"role": "被申请人", "name": "唐山宏达建材有限公司", "id_no": "91130203MA07Y8KX4R", "phone": None},
    ]
    return line(seq, "case.accepted", case_no, {"category": "劳资纠纷", "grid_code": "130203101204009",
                                                "location": "唐山镇北村9组277号", "summary": "拖欠工资纠纷",
                                                "level": "村级", "parties": parties})


def hub_yaml(root: Path, path: str = "dispute-mediation") -> Path:
    config = root / "hub.yaml"
    config.write_text(f"sources:\n  {SOURCE}: {{connector: {SOURCE}, path: {path}}}\n", "utf-8")
    (root / "dispute-mediation").mkdir(exist_ok=True)
    return config


def write_log(root: Path, name: str, text: str) -> None:
    (root / "dispute-mediation" / name).write_bytes(text.encode("utf-8"))


def cases(ctx, stream: str = "cases") -> dict[str, dict]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        rows = session.execute(select(SourceRecord.source_key, SourceRecord.data).where(
            SourceRecord.source == SOURCE, SourceRecord.stream == stream))
        return {k: d for k, d in rows}


def quarantine(ctx) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        rows = session.execute(select(QuarantinedRow.source_key, QuarantinedRow.reasons).where(
            QuarantinedRow.source == SOURCE))
        return {k: [r["check"] for r in reasons] for k, reasons in rows}


def context(root: Path, tag: str = "store"):  # type: ignore[no-untyped-def]
    return context_for(ConformanceSetup(hub_yaml(root), SOURCE), root, tag)[0]


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(out, seed=7, residents=1500, days=3)
    return out


def day_files(county: Path) -> list[list[Path]]:
    plan = json.loads((county / "truth" / "days.json").read_text("utf-8"))
    return [[county / f for f in d["sources"][SOURCE]["files"]] for d in plan["days"]]


def deliver(files: list[Path], root: Path) -> None:
    for f in files:
        shutil.copyfile(f, root / "dispute-mediation" / f.name)


@pytest.fixture
def conformance(county: Path, tmp_path: Path) -> ConformanceSetup:
    config = hub_yaml(tmp_path)
    days = day_files(county)
    deliver(days[0], tmp_path)
    pending = list(days[1:2])

    def advance() -> bool:
        if not pending:
            return False
        deliver(pending.pop(0), tmp_path)
        return True

    return ConformanceSetup(config_path=config, source=SOURCE, advance=advance)


@pytest.fixture
def broken_conformance(tmp_path: Path) -> ConformanceSetup:
    return ConformanceSetup(config_path=hub_yaml(tmp_path, "no-such-folder"), source=SOURCE)


class TestDisputeMediationConformance(ConnectorConformance):
    pass


def expected_cases(files: list[Path], seen: set[int]) -> set[str]:
    """Cases touched by the complete, not yet seen events of a day's files (the last line may be torn)."""
    touched = set()
    for f in files:
        for raw in f.read_text("utf-8").splitlines(keepends=True):
            if not raw.endswith("\n"):
                continue
            event = json.loads(raw)
            if event["seq"] not in seen:
                seen.add(event["seq"])
                touched.add(event["case_no"])
    return touched


def test_day_by_day_equals_one_pass_and_reads_only_changes(county: Path, tmp_path: Path) -> None:
    daily, whole = tmp_path / "daily", tmp_path / "whole"
    daily.mkdir()
    whole.mkdir()
    ctx = context(daily)
    seen: set[int] = set()
    for day, files in enumerate(day_files(county)):
        deliver(files, daily)
        info = sync(ctx, SOURCE, resolve=False)
        touched = expected_cases(files, seen)
        assert info.extract.streams["cases"].rows == len(touched), day
        assert set(info.extract.streams["cases"].state_after["cases"]) >= touched
        assert sync(ctx, SOURCE, resolve=False).extract.rows == 0, f"day {day}: second sync read rows"
    one_pass = context(whole)
    deliver([f for files in day_files(county) for f in files], whole)
    sync(one_pass, SOURCE, resolve=False)
    assert stored_records(ctx, SOURCE) == stored_records(one_pass, SOURCE)


def test_torn_last_line_is_left_then_picked_up_when_completed(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    complete = accepted(1, "TJ1") + line(2, "case.assigned", "TJ1", {"mediator": "王伟东", "department": "北村调解委员会"})
    torn = line(3, "case.resolved", "TJ1", {"agreement": "双方达成调解协议", "amount": 2000})
    write_log(tmp_path, "events-20261101.jsonl", complete + torn[:25])
    first = sync(ctx, SOURCE, resolve=False)
    assert first.load.streams["cases"]["loaded"] == 1 and not quarantine(ctx)
    assert cases(ctx)["TJ1"]["status"] == "assigned"
    assert first.extract.streams["cases"].state_after["cursor"]["offset"] == len(complete.encode())
    assert sync(ctx, SOURCE, resolve=False).extract.rows == 0  # still torn: nothing new
    write_log(tmp_path, "events-20261101.jsonl", complete + torn)  # the writer rewrites the file, completed
    sync(ctx, SOURCE, resolve=False)
    case = cases(ctx)["TJ1"]
    assert case["status"] == "resolved" and case["amount"] == 2000.0
    assert [h["seq"] for h in json.loads(case["history"])] == [1, 2, 3]


def test_duplicated_seq_is_applied_once(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    progress = line(2, "case.progress", "TJ1", {"note": "已电话联系双方"})
    write_log(tmp_path, "events-20261101.jsonl", accepted(1, "TJ1") + progress)
    sync(ctx, SOURCE, resolve=False)
    # a vendor restore delivers seq 2 again at the top of the next file
    write_log(tmp_path, "events-20261102.jsonl", progress + line(3, "case.closed", "TJ1", {"feedback": "满意"}))
    sync(ctx, SOURCE, resolve=False)
    history = json.loads(cases(ctx)["TJ1"]["history"])
    assert [h["seq"] for h in history] == [1, 2, 3] and cases(ctx)["TJ1"]["status"] == "closed"
    cursor = Cursor()
    assert [cursor.admit(s) for s in (1, 2, 2, 5, 3, 3, 4, 1)] == [True, True, False, True, True, False, True, False]
    assert cursor.gaps == [] and cursor.seq == 5


def test_event_for_a_case_accepted_in_an_older_file_and_run(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    write_log(tmp_path, "events-20261101.jsonl", accepted(1, "TJ1") + accepted(2, "TJ2"))
    sync(ctx, SOURCE, resolve=False)
    write_log(tmp_path, "events-20261102.jsonl",
              line(3, "case.assigned", "TJ1", {"mediator": "王伟东", "department": "北村调解委员会"},
                   ts="2026-11-02T10:00:00+08:00"))
    info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["cases"]["loaded"] == 1  # TJ1 only; TJ2 untouched
    case = cases(ctx)["TJ1"]
    assert case["category"] == "劳资纠纷" and case["grid_code"] == "130203101204009"  # from the older run
    assert case["mediator"] == "王伟东" and case["status"] == "assigned"
    assert case["accepted_at"] == "2026-11-01 09:00:00" and case["assigned_at"] == "2026-11-02 10:00:00"
    assert info.load.streams["case-parties"]["read"] == 0


def test_malformed_middle_line_is_quarantined_not_dropped(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    write_log(tmp_path, "events-20261101.jsonl", accepted(1, "TJ1") + '{"seq":2,"ts":"2026-11-01T1\n'
              + "garbage without seq\n" + line(4, "case.progress", "TJ1", {"note": "实地查看现场"}))
    info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["cases"] == {"read": 3, "loaded": 1, "unchanged": 0, "quarantined": 2, "tombstoned": 0}
    bad = quarantine(ctx)
    offset = len((accepted(1, "TJ1") + '{"seq":2,"ts":"2026-11-01T1\n').encode())
    assert set(bad) == {"seq:2", f"events-20261101.jsonl:{offset}"}
    assert all(checks[0] == "unreadable" for checks in bad.values())
    assert cases(ctx)["TJ1"]["status"] == "in_progress"


def test_parties_persons_and_organisations_pii_protected(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    write_log(tmp_path, "events-20261101.jsonl", accepted(1, "TJ1", [
        {"role": "申请人", "name": "陈洋", "id_no": ID_1, "phone": "13933286353"},
        {"role": "被申请人", "name": "姜秀华", "id_no": ID_2.lower(), "phone": "not a phone"},
        {"role": "被申请人", "name": "张记便利店", "id_no": None, "phone": None},
    ]))
    info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["case-parties"]["loaded"] == 3
    parties = cases(ctx, "case-parties")
    assert set(parties) == {"TJ1#0", "TJ1#1", "TJ1#2"}
    assert [parties[f"TJ1#{i}"]["party_kind"] for i in range(3)] == ["person", "person", "organisation"]
    # the case's place travels with each party: what tells two same-named shops apart in resolve
    assert {(p["case_grid_code"], p["case_address"]) for p in parties.values()} == {
        ("130203101204009", "唐山镇北村9组277号")}
    assert parties["TJ1#1"]["phone_bidx"] is None  # an unreadable phone is a warning, not a quarantine
    with transaction(ctx.db_url) as session:
        states = {s.stream: json.dumps(s.state) for s in session.scalars(select(StreamState))}
    stored = json.dumps(cases(ctx, "case-parties")) + json.dumps(cases(ctx))
    for secret in (ID_1, "13933286353"):
        assert secret not in stored and secret not in states["cases"] and secret not in states["case-parties"]
    assert party_kind("唐山宏达建材有限公司", "91130203MA07Y8KX4R") == "organisation"
    assert party_kind("陈洋", None) == "person"


def test_late_lower_seq_fills_its_gap_without_rolling_status_back() -> None:
    from hub_dispute_mediation.case_book import case_row, fold
    from hub_dispute_mediation.event_log import Event

    case: dict = {}
    cursor = Cursor()
    events = [Event(1, "2026-11-01T09:00:00+08:00", "case.accepted", "TJ1", {"category": "其他", "parties": []}),
              Event(3, "2026-11-03T09:00:00+08:00", "case.resolved", "TJ1", {"agreement": "和解", "amount": None}),
              Event(2, "2026-11-02T09:00:00+08:00", "case.assigned", "TJ1", {"mediator": "王伟东"})]
    for event in events:
        assert cursor.admit(event.seq)
        case = fold(case, event)
    row = case_row("TJ1", case)
    assert row["status"] == "resolved" and row["mediator"] == "王伟东"
    assert row["assigned_at"] == "2026-11-02T09:00:00+08:00" and row["updated_at"] == "2026-11-03T09:00:00+08:00"
    assert [h["seq"] for h in json.loads(row["history"])] == [1, 2, 3]
