"""The gate on hand-made batches: severities, masked reasons, keys, tombstones, grid registry, drift."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from stdnum.cn import ric

from hub.contracts.model import parse_contract
from hub.errors import ConfigError, SchemaDriftError
from hub.quality.checks import CORE_CHECKS, CheckEnv
from hub.quality.gate import KEY, GateResult, apply_contract, check_drift, stream_tables

CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: urn:test:people
name: people
version: 1.0.0
status: active
customProperties: [{property: source, value: test}]
schema:
  - name: people
    physicalName: people
    customProperties: [{property: driftPolicy, value: {policy}}]
    properties:
      - {name: pid, physicalName: id, required: true, primaryKey: true, customProperties: [{property: normalize, value: code}]}
      - name: citizen_id
        physicalName: sfzh
        required: true
        classification: pii
        customProperties: [{property: normalize, value: citizen_id}, {property: piiKind, value: citizen_id}]
        quality:
          - {type: custom, engine: great-expectations, severity: warning, implementation: {check: citizen_id_region_known}}
      - name: birth_date
        physicalName: csrq
        customProperties: [{property: normalize, value: date}, {property: identifying, value: true}]
        quality:
          - {type: custom, engine: great-expectations, severity: error, implementation: {check: birth_date_range}}
          - {type: custom, engine: great-expectations, severity: warning, implementation: {check: birth_date_matches_id}}
      - name: phone
        physicalName: lxdh
        classification: pii
        customProperties: [{property: normalize, value: phone}, {property: piiKind, value: phone}, {property: invalidSeverity, value: warning}]
      - name: gender
        physicalName: xb
        customProperties: [{property: normalize, value: text}, {property: identifying, value: true}]
        quality:
          - {type: custom, engine: great-expectations, severity: error, implementation: {check: enum, kwargs: {value_set: [M, F]}}}
      - name: grid_code
        physicalName: wg
        customProperties: [{property: normalize, value: code}, {property: identifying, value: true}]
        quality:
          - {type: custom, engine: great-expectations, severity: error, implementation: {check: grid_code_known}}
"""
GOOD = "11010519491231002X"
UNKNOWN_REGION = "99010519491231002" + ric.calc_check_digit("990105194912310020")
CHECKS = {c.name: c for c in CORE_CHECKS}


def contract(tmp_path: Path, policy: str = "fail"):  # type: ignore[no-untyped-def]
    path = tmp_path / "test.people.odcs.yaml"
    path.write_text(CONTRACT.replace("{policy}", policy), encoding="utf-8")
    return parse_contract(path)[0]


def row(**kw: object) -> dict[str, object]:
    return {"id": "1", "sfzh": GOOD, "csrq": "19491231", "lxdh": "13812345678", "xb": "M", "wg": "130203101201"} | kw


def run(tmp_path: Path, rows: list[dict[str, object]], grid_codes: set[str] | None = None):  # type: ignore[no-untyped-def]
    result = GateResult()
    env = CheckEnv(grid_codes_loader=lambda: grid_codes)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    table = pa.Table.from_pylist([{k: r.get(k) for k in columns} for r in rows])
    apply_contract(contract(tmp_path), table, result, CHECKS, env)
    valid, quarantined = stream_tables(result)
    reasons = {q[KEY]: json.loads(q["_reasons"]) for q in quarantined.to_pylist()}
    return result, valid, reasons


def test_errors_quarantine_warnings_pass_and_reasons_hide_pii(tmp_path: Path) -> None:
    rows = [row(id="1"), row(id="2", sfzh="110105194912310021"), row(id="3", csrq="18000101"),
            row(id="4", lxdh="12345"), row(id="5", csrq="19500101"), row(id="6", xb="X"), row(id="7", sfzh=None),
            row(id="8", sfzh=UNKNOWN_REGION)]
    result, valid, reasons = run(tmp_path, rows, grid_codes={"130203101201"})
    assert sorted(reasons) == ["2", "3", "6", "7"]
    assert [r["check"] for r in reasons["2"]] == ["id_checksum"]
    assert reasons["2"][0]["value"] == "110105********0021"  # masked, never the clear ID
    assert GOOD not in json.dumps(reasons) and "110105194912310021" not in json.dumps(reasons)
    assert [r["check"] for r in reasons["3"] if r["severity"] == "error"] == ["birth_date_range"]
    assert [(r["check"], r["value"]) for r in reasons["6"]] == [("enum", "X")]
    assert [(r["check"], r["column"]) for r in reasons["7"]] == [("required", "citizen_id")]
    by_key = {r[KEY]: r for r in valid.to_pylist()}
    assert set(by_key) == {"1", "4", "5", "8"}
    assert by_key["4"]["phone"] is None and json.loads(by_key["4"]["_warnings"])[0]["value"] == "*****"
    assert [w["check"] for w in json.loads(by_key["5"]["_warnings"])] == ["birth_date_matches_id"]
    assert [w["check"] for w in json.loads(by_key["8"]["_warnings"])] == ["id_region_unknown"]
    assert by_key["1"]["_warnings"] is None and by_key["1"]["citizen_id"] == GOOD
    assert result.checks["birth_date_range:birth_date"] == {"passed": 7, "failed": 1}


def test_grid_codes_checked_against_the_registry_only_once_loaded(tmp_path: Path) -> None:
    rows = [row(id="1"), row(id="2", wg="130203101299")]
    _, _, reasons = run(tmp_path, rows, grid_codes={"130203101201"})
    assert [(r["check"], r["value"]) for r in reasons["2"]] == [("grid_code_unknown", "130203101299")]
    result, valid, reasons = run(tmp_path, rows, grid_codes=None)
    assert not reasons and valid.num_rows == 2
    assert any("grid registry not loaded" in w for w in result.warnings)


def test_duplicate_key_in_a_batch_tombstones_and_unreadable_rows(tmp_path: Path) -> None:
    rows = [row(id="1"), row(id="1", csrq="19500101"), {"id": "9", "_op": "delete", "_reason": "死亡"},
            row(id="5", _unreadable="broken line 12"), row(id=" ")]
    _, valid, reasons = run(tmp_path, rows, grid_codes={"130203101201"})
    assert [r["check"] for r in reasons["1"] if r["severity"] == "error"] == ["duplicate_key"]
    assert [r["check"] for r in reasons["5"]] == ["unreadable"]
    assert [(r["check"], r["column"]) for r in reasons[None]] == [("required", "pid")]
    by_key = {r[KEY]: r for r in valid.to_pylist()}
    assert by_key["1"]["birth_date"].isoformat() == "1949-12-31"  # the first of the two stays
    assert by_key["9"]["_op"] == "delete" and by_key["9"]["_reason"] == "死亡"


def test_drift_missing_renamed_retyped_and_extras(tmp_path: Path) -> None:
    c = contract(tmp_path)
    with pytest.raises(SchemaDriftError, match=r"test.people .*required column 'sfzh' \(citizen_id\) missing.*'id_no'"):
        check_drift(c, ["id", "id_no", "csrq"])
    warnings = check_drift(c, ["id", "sfzh", "note"])
    assert warnings == ["extra columns ignored in test.people: note"]
    schema = pa.schema([("id", pa.string()), ("sfzh", pa.list_(pa.string()))])
    with pytest.raises(SchemaDriftError, match="'sfzh'.*arrives as list"):
        check_drift(c, schema.names, schema)
    with pytest.raises(SchemaDriftError, match="none of 25 values parses as date"):
        run(tmp_path, [row(id=str(i), csrq=f"{i}-{i}") for i in range(25)], {"130203101201"})
    lenient = contract(tmp_path, "warn")
    assert "missing" in check_drift(lenient, ["id"])[0]


def test_unknown_check_is_a_clear_config_error(tmp_path: Path) -> None:
    path = tmp_path / "test.people.odcs.yaml"
    path.write_text(CONTRACT.replace("{policy}", "fail").replace("check: grid_code_known", "check: no_such_check"))
    with pytest.raises(ConfigError, match="unknown check 'no_such_check'"):
        apply_contract(parse_contract(path)[0], pa.Table.from_pylist([row()]), GateResult(), CHECKS)


UNITS = """\
apiVersion: v3.1.0
kind: DataContract
id: urn:test:units
name: units
version: 1.0.0
status: active
customProperties: [{property: source, value: test}]
schema:
  - name: units
    physicalName: units
    properties:
      - {name: unit_no, physicalName: unitno, required: true, primaryKey: true, customProperties: [{property: normalize, value: code}]}
      - {name: org_name, physicalName: name, required: true, customProperties: [{property: normalize, value: text}]}
      - {name: address, physicalName: addr, customProperties: [{property: normalize, value: text}]}
      - name: person_id
        physicalName: rid
        classification: pii
        customProperties: [{property: normalize, value: citizen_id}, {property: piiKind, value: citizen_id},
                           {property: identifying, value: false}]
      - {name: person_id_as_written, physicalName: rid, classification: pii, customProperties: [{property: normalize, value: code}]}
      - {name: history, physicalName: history, customProperties: [{property: normalize, value: keep}]}
"""


def test_a_failing_non_identifying_field_is_withheld_not_the_row(tmp_path: Path) -> None:
    path = tmp_path / "test.units.odcs.yaml"
    path.write_text(UNITS, encoding="utf-8")
    units = parse_contract(path)[0]
    assert [c.name for c in units.columns if c.identifying] == ["unit_no", "org_name"]
    rows = [{"unitno": "1", "name": "鸿运五金店", "addr": "东村12号", "rid": GOOD, "history": "[]"},
            {"unitno": "2", "name": "康乐足浴", "addr": "东村\t13号\r\n(后院)", "rid": "110105194912310021", "history": "[]"},
            {"unitno": "3", "name": "王记\x00超市", "addr": "东村14号", "rid": GOOD, "history": "[]"},
            {"unitno": "4", "name": "佳美理发店", "addr": "东村\x1f15号", "rid": GOOD, "history": '[{"note":"a\\u0000b"}]'}]
    result = GateResult()
    apply_contract(units, pa.Table.from_pylist(rows), result, CHECKS, CheckEnv())
    valid, quarantined = stream_tables(result)
    by_key = {r[KEY]: r for r in valid.to_pylist()}
    assert set(by_key) == {"1", "2", "4"} and quarantined.column(KEY).to_pylist() == ["3"]
    refused = json.loads(quarantined.column("_reasons")[0].as_py())
    assert [(r["check"], r["column"], r["value"]) for r in refused] == [("control_character", "org_name", "王记\\x00超市")]
    # the bad ID is withheld with its twin (same raw column), everything else of the row is kept
    two = by_key["2"]
    assert two["person_id"] is None and two["person_id_as_written"] is None and two["org_name"] == "康乐足浴"
    assert two["address"] == "东村 13号 (后院)"  # tab and line breaks are free text's, folded
    fields = json.loads(two["_fields"])
    assert [(f["column"], [r["check"] for r in f["reasons"]]) for f in fields] == [("person_id", ["id_checksum"])]
    assert "110105194912310021" not in two["_fields"] and json.loads(two["_raw"])["rid"] == "110105194912310021"
    four = json.loads(by_key["4"]["_fields"])
    assert sorted((f["column"], f["reasons"][0]["check"]) for f in four) == [
        ("address", "control_character"), ("history", "control_character")]  # \\u0000 in kept JSON text too
    assert by_key["4"]["address"] is None and by_key["4"]["history"] is None
    assert by_key["1"]["_fields"] is None and by_key["1"]["_raw"] is None and by_key["1"]["person_id"] == GOOD
    assert result.withheld == 2
    # a tombstone keeps the values it carries, but never a control character
    result = GateResult()
    apply_contract(units, pa.Table.from_pylist([{"unitno": "9", "name": "注销\x00商店", "addr": "东村", "rid": None,
                                                  "history": None, "_op": "delete"}]), result, CHECKS, CheckEnv())
    valid, quarantined = stream_tables(result)
    assert quarantined.num_rows == 0
    assert [(r["_op"], r["org_name"], r["address"]) for r in valid.to_pylist()] == [("delete", None, "东村")]
