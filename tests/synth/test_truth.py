"""truth/ is complete, consistent with the files and free of clear IDs in details."""

from __future__ import annotations

import json
import re


def test_truth_is_sorted_csv_and_details_hold_no_clear_ids(county, truth):
    for name, rows in truth.items():
        keys = [tuple(r.values()) for r in rows]
        assert keys == sorted(keys), name
    assert not [f for f in truth["faults"] if re.search(r"\d{15}", f["detail"])]
    reasons = {q["reason"] for q in truth["quarantine"]}
    assert reasons <= {"id_format", "id_checksum", "id_birth_date", "id_numeric_cell", "credit_code_checksum",
                       "date_format", "required", "grid_code_unknown"}
    faulted = {(f["source"], f["stream"], f["source_key"], f["fault"]) for f in truth["faults"]}
    for q in truth["quarantine"]:
        assert (q["source"], q["stream"], q["source_key"], q["reason"]) in faulted


def test_every_entity_has_a_true_level3_grid(county, truth):
    grids = {f["properties"]["code"] for f in json.loads((county / "grids.geojson").read_text(encoding="utf-8"))["features"]
             if f["properties"]["level"] == 3}
    assigned = {(g["entity_type"], g["entity_uid"]): g["grid_code"] for g in truth["grid_assignment"]}
    assert set(assigned.values()) <= grids
    assert {t for t, _ in assigned} == {"person", "household", "building", "organization"}
    for e in truth["entities"]:
        assert (e["entity_type"], e["entity_uid"]) in assigned


def test_entities_cover_every_person_record_of_every_source(county, truth):
    import sqlite3

    keys = {(e["source"], e["stream"], e["source_key"]) for e in truth["entities"]}
    con = sqlite3.connect(county / "population.db")
    assert {("population", "persons", str(r[0])) for r in con.execute("SELECT ryid FROM t_rk_ry")} <= keys
    assert {("population", "households", r[0]) for r in con.execute("SELECT hh FROM t_rk_hu")} <= keys
    for day in sorted((county / "public-security" / "floating-persons").glob("day-*.jsonl")):
        for line in day.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            assert ("public-security", "floating-persons", rec["id"]) in keys
            assert (rec["employer"] is not None) == (("public-security", "floating-persons", rec["id"] + "#employer") in keys)
    counts = json.loads((county / "truth" / "counts.json").read_text(encoding="utf-8"))
    assert counts["entity_records"]["population"]["persons"] == con.execute("SELECT count(*) FROM t_rk_ry").fetchone()[0]
