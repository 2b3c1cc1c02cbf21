"""extract.json is what load commits as the new stream state: written without ``dataclasses.asdict``'s
deep copy (issue 19), it must still hold every stream's counts and both states exactly."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from hub.connector.landing import RunFolder
from hub.stages.extract import ExtractInfo, StreamExtract


def test_manifest_is_what_asdict_gave_and_reads_back(tmp_path: Path) -> None:
    cases = {f"MD{i:05d}": {"hash": f"h{i}", "parties": [f"p{i}", None], "at": "2026-11-05 09:00:00"}
             for i in range(300)}
    info = ExtractInfo(run_id="r1", source="dispute-mediation", connector="dispute-mediation", streams={
        "cases": StreamExtract(rows=3, files=1, state_before={"cursor": {"f.xlsx": 10}, "cases": cases},
                               state_after={"cursor": {"f.xlsx": 13}, "cases": {**cases, "MD99999": {"hash": "x"}}},
                               unchanged=2),
        "case-parties": StreamExtract(),
    })
    assert info.manifest() == asdict(info)
    folder = RunFolder(tmp_path, "dispute-mediation", "r1")
    folder.write_json("extract.json", info.manifest())
    back = folder.read_json("extract.json")
    assert back == json.loads(json.dumps(asdict(info)))
    assert back["streams"]["cases"]["state_after"]["cases"]["MD99999"] == {"hash": "x"}
    assert back["streams"]["cases"]["unchanged"] == 2
