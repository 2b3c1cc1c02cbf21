"""Event logs written by other hands to the same spec (legacy-systems.md §5), with their own quirks.

Each log is written byte by byte in a shape our generator never makes and read by the real
connector, gate and store. The promise under test: every event read ends folded into its case or
quarantined with a machine-readable reason; never a silent drop, never a crash; a re-run reads
nothing; no clear citizen ID or phone in a log line.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db.models import QuarantinedRow, SourceRecord
from hub.db.session import transaction
from hub.stages import sync
from hub.testing import ConformanceSetup, context_for

SOURCE = "dispute-mediation"
ID_1 = "130203195405045074"  # valid MOD 11-2 check character
PHONE = "13933286353"


def event(seq: int | str, kind: str, case_no: str, data: object = None, ts: str = "2026-11-01T09:00:00+08:00") -> str:
    body: dict[str, object] = {"seq": seq, "ts": ts, "type": kind, "case_no": case_no}
    if data is not None:
        body["data"] = data
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def accepted(seq: int, case_no: str, parties: object = None) -> str:
    if parties is None:
        parties = [{"role": "申请人", "name": "陈洋", "id_no": ID_1, "phone": PHONE}]
    return event(seq, "case.accepted", case_no, {"category": "邻里纠纷", "grid_code": "130203101204009",
                                                 "location": "唐山镇北村9组277号", "summary": "漏水纠纷",
                                                 "level": "村级", "parties": parties})


def context(root: Path):  # type: ignore[no-untyped-def]
    config = root / "hub.yaml"
    config.write_text(f"sources:\n  {SOURCE}: {{connector: {SOURCE}, path: log}}\n", "utf-8")
    (root / "log").mkdir(exist_ok=True)
    return context_for(ConformanceSetup(config, SOURCE), root, "store")[0]


def put(root: Path, name: str, data: bytes) -> None:
    (root / "log").mkdir(exist_ok=True)
    (root / "log" / name).write_bytes(data)


def stored(ctx, stream: str = "cases") -> dict[str, dict]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        rows = session.execute(select(SourceRecord.source_key, SourceRecord.data).where(
            SourceRecord.source == SOURCE, SourceRecord.stream == stream))
        return {k: d for k, d in rows}


def quarantined(ctx, stream: str = "cases") -> dict[str, list[dict]]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        rows = session.execute(select(QuarantinedRow.source_key, QuarantinedRow.reasons).where(
            QuarantinedRow.source == SOURCE, QuarantinedRow.stream == stream))
        return {k: reasons for k, reasons in rows}


def seqs(case: dict) -> list[int]:
    return [h["seq"] for h in json.loads(case["history"])]


def test_bom_crlf_blank_lines_and_unterminated_last_lines(tmp_path: Path) -> None:
    """A file begun with a BOM, CRLF endings, blank lines, and files whose complete last event has no
    newline: every event is folded in the same run (the BOM line used to be quarantined)."""
    put(tmp_path, "events-20261101.jsonl", b"\xef\xbb\xbf" + "\r\n\r\n".join([
        accepted(1, "TJ1"), event(2, "case.assigned", "TJ1", {"mediator": "王伟东", "department": "北村调委会"})
    ]).encode("utf-8"))  # no newline after the last event of an older file
    put(tmp_path, "events-20261102.jsonl", ("\r\n" + event(3, "case.closed", "TJ1", {"feedback": "满意"},
                                                            ts="2026-11-02T09:00:00+08:00")).encode("utf-8"))
    ctx = context(tmp_path)
    info = sync(ctx, SOURCE, resolve=False)
    assert not quarantined(ctx)
    case = stored(ctx)["TJ1"]
    assert seqs(case) == [1, 2, 3] and case["status"] == "closed" and case["category"] == "邻里纠纷"
    assert info.load.streams["case-parties"]["loaded"] == 1
    assert sync(ctx, SOURCE, resolve=False).extract.rows == 0
    # the writer goes on appending to the newest file: only the new event is read
    put(tmp_path, "events-20261102.jsonl", ("\r\n" + event(3, "case.closed", "TJ1", {"feedback": "满意"},
                                                            ts="2026-11-02T09:00:00+08:00") + "\r\n"
                                            + event(4, "case.progress", "TJ1", {"note": "回访"}) + "\r\n"
                                            ).encode("utf-8"))
    assert sync(ctx, SOURCE, resolve=False).extract.streams["cases"].rows == 1
    assert seqs(stored(ctx)["TJ1"]) == [1, 2, 3, 4] and not quarantined(ctx)


def test_back_dated_file_and_older_file_rewritten_to_complete_its_torn_line(tmp_path: Path) -> None:
    """A day's file delivered after later days were read, and a torn last line of an older file that
    the writer completes by rewriting it: both used to be skipped for good once the cursor moved on."""
    torn = event(2, "case.assigned", "TJ1", {"mediator": "王伟东", "department": "北村调委会"})
    put(tmp_path, "events-20261101.jsonl", (accepted(1, "TJ1") + "\n" + torn[:30]).encode("utf-8"))
    put(tmp_path, "events-20261103.jsonl", (event(5, "case.progress", "TJ1", {"note": "实地查看"}) + "\n"
                                            + accepted(6, "TJ3") + "\n").encode("utf-8"))
    ctx = context(tmp_path)
    sync(ctx, SOURCE, resolve=False)
    assert set(quarantined(ctx)) == {"seq:2"}  # torn in an older file: visible, not silently held
    assert seqs(stored(ctx)["TJ1"]) == [1, 5]
    assert sync(ctx, SOURCE, resolve=False).extract.rows == 0
    put(tmp_path, "events-20261101.jsonl", (accepted(1, "TJ1") + "\n" + torn + "\n").encode("utf-8"))
    put(tmp_path, "events-20261102.jsonl", (event(3, "case.progress", "TJ1", {"note": "电话联系"}) + "\n"
                                            + accepted(4, "TJ2") + "\n").encode("utf-8"))
    info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["cases"]["loaded"] == 2  # TJ1 (seqs 2, 3) and TJ2; TJ3 untouched
    case = stored(ctx)["TJ1"]
    assert seqs(case) == [1, 2, 3, 5] and case["mediator"] == "王伟东" and case["status"] == "in_progress"
    assert "TJ2#0" in stored(ctx, "case-parties")
    assert sync(ctx, SOURCE, resolve=False).extract.rows == 0


def test_seq_redelivered_with_different_content_is_quarantined(tmp_path: Path) -> None:
    """After a vendor restore a seq comes back: the same event is applied once, quietly; a different
    event under a known seq is quarantined for the steward, never silently ignored."""
    note = event(2, "case.progress", "TJ1", {"note": "已电话联系双方"})
    put(tmp_path, "events-20261101.jsonl", (accepted(1, "TJ1") + "\n" + note + "\n").encode("utf-8"))
    ctx = context(tmp_path)
    sync(ctx, SOURCE, resolve=False)
    put(tmp_path, "events-20261102.jsonl", "\n".join([
        note, event(2, "case.progress", "TJ1", {"note": "双方拒绝调解"}), accepted(1, "TJ9"),
        event(3, "case.closed", "TJ1", {"feedback": "满意"})]).encode("utf-8") + b"\n")
    info = sync(ctx, SOURCE, resolve=False)
    bad = quarantined(ctx)
    assert set(bad) == {"seq:1", "seq:2"} and info.load.streams["cases"]["loaded"] == 1
    assert all("different content" in bad[k][0]["value"] for k in bad)
    case = stored(ctx)["TJ1"]
    assert seqs(case) == [1, 2, 3] and case["status"] == "closed"
    assert json.loads(case["history"])[1]["note"] == "已电话联系双方"  # the first delivery stays applied
    assert "TJ9" not in stored(ctx)


def test_off_spec_events_amounts_and_parties(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Valid JSON that is no event object, a seq as a string, an unknown type, an event without data,
    an amount written as text, parties JSON-encoded into a string, a party that is a bare string and
    parties without id_no/phone, stray files and a seq gap: each ends loaded or quarantined with a
    reason, and no log line holds an ID or phone."""
    put(tmp_path, "events-20261101.jsonl", "\n".join([
        accepted(1, "TJ1", json.dumps([{"role": "申请人", "name": "陈洋", "id_no": ID_1, "phone": PHONE},
                                       {"role": "被申请人", "name": "李强"}], ensure_ascii=False)),
        "[1, 2, 3]",
        event("3", "case.reopened", "TJ1", {"by": "镇司法所"}),
        event(4, "case.assigned", "TJ1"),
        event(5, "case.resolved", "TJ1", {"agreement": "赔偿", "amount": "2000元"}),
        accepted(7, "TJ2", ["王芳", {"role": "被申请人", "name": "唐山宏达建材有限公司", "id_no": None}]),
        event(8, "case.resolved", "TJ2", {"agreement": "和解", "amount": "1500"}),
    ]).encode("utf-8") + b"\n")
    put(tmp_path, "events-20261101.jsonl.bak", b"not read")
    put(tmp_path, "README.txt", b"not read")
    ctx = context(tmp_path)
    with caplog.at_level(logging.DEBUG):
        info = sync(ctx, SOURCE, resolve=False)
    assert info.load.streams["cases"] == {"read": 3, "loaded": 2, "unchanged": 0, "quarantined": 1, "tombstoned": 0}
    bad = quarantined(ctx)
    assert len(bad) == 1 and next(iter(bad.values()))[0]["value"].endswith(": not a JSON object")
    tj1, tj2 = stored(ctx)["TJ1"], stored(ctx)["TJ2"]
    assert seqs(tj1) == [1, 3, 4, 5] and tj1["status"] == "resolved" and tj1["amount"] is None
    assert info.validate.streams["cases"].checks["normalize.number:amount"]["failed"] == 1  # flagged, not lost
    assert tj2["amount"] == 1500.0 and tj1["party_count"] == 2
    parties = stored(ctx, "case-parties")
    assert set(parties) == {"TJ1#0", "TJ1#1", "TJ2#1"} and parties["TJ1#1"]["phone_bidx"] is None
    assert parties["TJ2#1"]["party_kind"] == "organisation"
    bad_party = quarantined(ctx, "case-parties")
    assert list(bad_party) == ["TJ2#0"] and bad_party["TJ2#0"][0]["check"] == "unreadable"
    assert ID_1 not in caplog.text and PHONE not in caplog.text
