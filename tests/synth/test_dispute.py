"""§5 the append-only event log: seq, the torn last line, re-delivered seq, parties who are residents."""

from __future__ import annotations

import json


def _files(county):
    return sorted((county / "dispute-mediation").glob("events-*.jsonl"))


def test_seq_increases_by_one_except_recorded_redeliveries(county, truth, days_plan):
    events, torn = [], []
    files = _files(county)
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        if lines[-1]:
            torn.append((path, lines[-1]))
        events += [json.loads(x) for x in lines[:-1]]
    assert len(torn) == 1 and torn[0][0] == files[-1]  # only the newest file, only its last line
    try:
        json.loads(torn[0][1])
        raise AssertionError("torn line parses")
    except json.JSONDecodeError:
        pass
    seqs = [e["seq"] for e in events]
    dup = [s for i, s in enumerate(seqs) if s in seqs[:i]]
    assert dup and len(dup) == sum(f["fault"] == "duplicate_seq" for f in truth["faults"])
    assert sorted(set(seqs)) == list(range(1, max(seqs) + 1))
    assert any(f["fault"] == "torn_line" for f in truth["faults"])
    total = sum(d["sources"]["dispute-mediation"]["cases"]["read"] for d in days_plan["days"])
    assert total == len(events)
    assert set(days_plan["days"][-1]["sources"]["dispute-mediation"]["files"]) == {f"dispute-mediation/{files[-1].name}"}


def test_cases_flow_and_events_for_older_cases(county):
    accepted_in: dict[str, str] = {}
    later_file_events = 0
    types = set()
    for path in _files(county):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            types.add(e["type"])
            if e["type"] == "case.accepted":
                d = e["data"]
                assert d["category"] in ("婚姻家庭", "邻里纠纷", "土地山林", "劳资纠纷", "物业纠纷", "损害赔偿", "其他")
                assert d["level"] in ("村级", "镇级", "县级") and len(d["grid_code"]) == 15
                assert all(p["role"] in ("申请人", "被申请人") for p in d["parties"])
                accepted_in.setdefault(e["case_no"], path.name)
            else:
                assert e["case_no"] in accepted_in  # never an event before its case exists
                later_file_events += accepted_in[e["case_no"]] < path.name
    assert {"case.accepted", "case.assigned", "case.resolved", "case.closed"} <= types
    assert later_file_events > 0


def test_parties_are_residents_or_organisations(truth):
    parties = [e for e in truth["entities"] if e["source"] == "dispute-mediation"]
    residents = {e["entity_uid"] for e in truth["entities"] if e["source"] == "population"}
    orgs = {e["entity_uid"] for e in truth["entities"] if e["stream"] == "units" and e["entity_type"] == "organization"}
    assert parties and all("#" in e["source_key"] for e in parties)
    for e in parties:
        assert e["entity_uid"] in (residents if e["entity_type"] == "person" else orgs)
    assert {e["entity_type"] for e in parties} == {"person", "organization"}
