"""Lines the event log's readers choke on (issue 14, item 6), through the real connector, gate and store.

A line nested too deep for the JSON parser (100,000 levels) or too deep to carry (200 levels) is a
quarantined line, not a failed source; a NUL written as ``\\u0000`` inside a case's summary keeps
the case and withholds the summary; a party whose ``id_no`` fails its check stays a party of its
case with that field withheld (a bad field is not a bad record).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from hub.db.models import QuarantinedRow, Run, SourceRecord
from hub.db.session import transaction
from hub.stages import sync
from hub.testing import ConformanceSetup, context_for

SOURCE = "dispute-mediation"
GOOD_ID = "130203195405045074"
BAD_ID = "130203195405045075"  # check character wrong


def event(seq: int, kind: str, case_no: str, data: object) -> str:
    return json.dumps({"seq": seq, "ts": "2026-11-01T09:00:00+08:00", "type": kind, "case_no": case_no, "data": data},
                      ensure_ascii=False, separators=(",", ":"))


def accepted(seq: int, case_no: str) -> str:
    return event(seq, "case.accepted", case_no, {
        "category": "邻里纠纷", "grid_code": "130203101204009", "location": "唐山镇北村9组277号", "summary": "漏水纠纷",
        "level": "村级", "parties": [{"role": "申请人", "name": "陈洋", "id_no": GOOD_ID, "phone": "13933286353"}]})


def context(root: Path):  # type: ignore[no-untyped-def]
    config = root / "hub.yaml"
    config.write_text(f"sources:\n  {SOURCE}: {{connector: {SOURCE}, path: log}}\n", "utf-8")
    return context_for(ConformanceSetup(config, SOURCE), root, "store")[0]


def put(root: Path, name: str, data: bytes) -> None:
    (root / "log").mkdir(exist_ok=True)
    (root / "log" / name).write_bytes(data)


def stored(ctx, stream: str = "cases") -> dict[str, dict]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        return {k: d for k, d in session.execute(select(SourceRecord.source_key, SourceRecord.data).where(
            SourceRecord.source == SOURCE, SourceRecord.stream == stream))}


def entries(ctx) -> list[tuple[str, str, str | None, str | None, list[str]]]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        return sorted((q.stream, q.scope, q.source_key, q.column_name, sorted(r["check"] for r in q.reasons))
                      for q in session.scalars(select(QuarantinedRow).where(QuarantinedRow.source == SOURCE)))


def test_deep_lines_are_quarantined_lines_and_bad_fields_stay_fields(tmp_path: Path) -> None:
    deep = '{"seq":2,"ts":"2026-11-01T10:00:00+08:00","type":"case.progress","case_no":"TJ1","data":{"note":' \
           + "[" * 100_000 + "]" * 100_000 + "}}"
    nested = event(3, "case.progress", "TJ1", {"note": json.loads("[" * 200 + "]" * 200)})
    nul = event(4, "case.accepted", "TJ2", {"category": "邻里纠纷", "grid_code": "130203101204009",
                                            "location": "唐山镇北村9组277号", "summary": "漏水\u0000纠纷", "level": "村级",
                                            "parties": [{"role": "申请人", "name": "陈洋", "id_no": BAD_ID,
                                                         "phone": "13933286353"}]})
    assert "\\u0000" in nul  # written as the JSON escape, as a vendor's serialiser does
    put(tmp_path, "events-20261101.jsonl", "\n".join([
        accepted(1, "TJ1"), deep, nested, nul,
        event(5, "case.closed", "TJ1", {"feedback": "满意"}),
    ]).encode("utf-8") + b"\n")
    ctx = context(tmp_path)
    info = sync(ctx, SOURCE, resolve=False)
    with transaction(ctx.db_url) as session:
        assert session.get(Run, info.run_id).state == "success"
    cases = stored(ctx)
    assert set(cases) == {"TJ1", "TJ2"}
    assert cases["TJ1"]["feedback"] == "满意"  # the events around the deep lines are folded in
    assert cases["TJ2"]["summary"] is None and cases["TJ2"]["category"] == "邻里纠纷"  # the case stays, its summary not
    parties = stored(ctx, "case-parties")
    assert parties["TJ2#0"]["name"] == "陈洋" and parties["TJ2#0"]["citizen_id_bidx"] is None
    got = entries(ctx)
    lines = {e[2]: e for e in got if e[2] in ("seq:2", "seq:3")}
    assert {k: (e[1], "unreadable" in e[4]) for k, e in lines.items()} == {"seq:2": ("record", True),
                                                                           "seq:3": ("record", True)}
    assert ("cases", "field", "TJ2", "summary", ["control_character"]) in got
    assert ("case-parties", "field", "TJ2#0", "citizen_id", ["id_checksum"]) in got
    assert len(got) == 4, got
    with transaction(ctx.db_url) as session:
        reasons = {q.source_key: q.reasons for q in session.scalars(select(QuarantinedRow))}
    assert "nested too deep" in reasons["seq:2"][0]["value"] and "nested too deep" in reasons["seq:3"][0]["value"]
    again = sync(ctx, SOURCE, resolve=False, full_refresh=True)  # the same problems, seen again: no new entries
    assert entries(ctx) == got
    for counts in again.load.streams.values():
        assert counts["read"] == counts["loaded"] + counts["unchanged"] + counts["quarantined"] + counts["tombstoned"]
