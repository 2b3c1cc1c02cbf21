"""A bad field is not a bad record, and the quarantine closes (issue 14, items 2, 5 and 6).

Real runs over a hand-made fire-safety drop folder (GB18030 CSV, as legacy-systems.md §3 says the
department writes it) on a grid registry synthesised for the quality tests: a unit whose
责任人身份证号 or credit code fails its check loads, is resolved onto its grid as an organisation,
and leaves one field-scoped entry; a unit whose name holds a NUL is refused whole; two full
refreshes keep one open entry per problem; a corrected delivery closes them; replay and dismiss
still work on field entries; and on PostgreSQL the store keeps syncing after the NUL.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from stdnum.cn import uscc

from hub.context import HubContext
from hub.db.models import EntityLink, Organization, QuarantinedRow, Run, RunStream, SourceRecord
from hub.db.session import transaction
from hub.stages import sync
from hub.stages.replay import replay

from .conftest import make_context
from .test_pipeline import hub_cli  # noqa: F401  (the real CLI, in-process)

HEADER = ["单位编号", "单位名称", "统一社会信用代码", "单位地址", "法定代表人", "消防安全责任人", "责任人身份证号",
          "联系电话", "单位类别", "所属网格", "经度", "纬度", "更新时间"]
GOOD_ID = "11010519491231002X"
BAD_ID = "110105194912310021"  # check character wrong
GOOD_CREDIT = "91130203" + "MA0" + "7XK2B9"  # 17 characters, the check character added below
GOOD_CREDIT += uscc.calc_check_digit(GOOD_CREDIT)
BAD_CREDIT = GOOD_CREDIT[:17] + ("0" if GOOD_CREDIT[17] != "0" else "1")


def _grid(county: Path) -> str:
    features = json.loads((county / "grids.geojson").read_text(encoding="utf-8"))["features"]
    return next(f["properties"]["code"] for f in features if f["properties"]["level"] == 3)


def _unit(no: str, name: str, grid: str, *, rid: str = GOOD_ID, credit: str = "", when: str = "2026-11-02 09:00:00",
          person: str = "王建国", phone: str = "13812345678") -> list[str]:
    return [no, name, credit, "唐山镇东村12号", "李明", person, rid, phone, "一般单位", grid, "", "", when]


def _deliver(folder: Path, day: str, rows: list[list[str]]) -> None:
    """One day's 单位.csv, written the way the department's system writes it (GB18030, quoted CSV)."""
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([HEADER, *rows])
    (folder / day).mkdir(parents=True, exist_ok=True)
    (folder / day / "单位.csv").write_bytes(out.getvalue().encode("gb18030"))


def _config(home: Path, county: Path, fire: Path, database: str | None = None) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "hub.yaml"
    config.write_text(f"""\
database: {database or f'sqlite:///{home / "hub.db"}'}
landing: {home / 'landing'}
sources:
  grid-registry: {{connector: grid-registry, path: {county / 'grids.geojson'}}}
  fire-safety:   {{connector: fire-safety, path: {fire}}}
""", encoding="utf-8")
    return config


def _entries(ctx: HubContext, status: str | None = None) -> list[QuarantinedRow]:
    with transaction(ctx.db_url) as session:
        query = select(QuarantinedRow).where(QuarantinedRow.source == "fire-safety").order_by(QuarantinedRow.id)
        if status:
            query = query.where(QuarantinedRow.status == status)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def _problems(entries: list[QuarantinedRow]) -> list[tuple[str | None, str, str | None, str]]:
    """(source_key, scope, column, check) of every error an entry holds."""
    return sorted((e.source_key, e.scope, e.column_name, r["check"]) for e in entries for r in e.reasons
                  if r.get("severity", "error") == "error")


def _ledger(ctx: HubContext, run_id: str) -> dict[str, int]:
    with transaction(ctx.db_url) as session:
        s = session.scalar(select(RunStream).where(RunStream.run_id == run_id, RunStream.stream == "units"))
        return {k: getattr(s, k) for k in ("read", "loaded", "unchanged", "quarantined", "tombstoned", "withheld")}


@pytest.fixture
def town(county: Path, tmp_path: Path) -> tuple[Path, Path, str]:
    fire = tmp_path / "fire-safety"
    grid = _grid(county)
    _deliver(fire, "20261102", [
        _unit("DW900001", "东村鸿运五金店", grid),
        _unit("DW900002", "东村康乐足浴中心", grid, rid=BAD_ID, person="赵小红", phone="13900001111"),
        _unit("DW900003", "东村王记\x00超市", grid),
        _unit("DW900004", "东村佳美理发店", grid, credit=BAD_CREDIT),
    ])
    return county, fire, grid


def test_a_bad_field_loads_the_unit_onto_its_grid_with_a_field_entry(town, tmp_path: Path, hub_cli) -> None:  # noqa: F811
    county, fire, grid = town
    config = _config(tmp_path / "hub", county, fire)
    ctx = make_context(config)
    sync(ctx, "grid-registry", resolve=False)
    info = sync(ctx, "fire-safety")
    assert _ledger(ctx, info.run_id) == {"read": 4, "loaded": 3, "unchanged": 0, "quarantined": 1, "tombstoned": 0,
                                         "withheld": 2}
    with transaction(ctx.db_url) as session:
        stored = {r.source_key: r.data for r in session.scalars(
            select(SourceRecord).where(SourceRecord.source == "fire-safety", SourceRecord.stream == "units"))}
        links = {(k, t): e for k, t, e in session.execute(
            select(EntityLink.source_key, EntityLink.entity_type, EntityLink.entity_id)
            .where(EntityLink.source == "fire-safety", EntityLink.stream == "units"))}
        org = session.get(Organization, links[("DW900002", "organization")])
        assert org.name == "东村康乐足浴中心" and org.grid_code == grid  # on its grid, as an organisation
        assert ("DW900002#责任人", "person") in links  # the mention still links, by name and phone
        assert ("DW900003", "organization") not in links
        assert session.get(Organization, links[("DW900004", "organization")]).credit_code is None
    assert set(stored) == {"DW900001", "DW900002", "DW900004"}
    withheld = stored["DW900002"]
    assert withheld["responsible_citizen_id_bidx"] is None and withheld["responsible_citizen_id_enc"] is None
    assert withheld["responsible_name"] == "赵小红" and withheld["responsible_phone_bidx"]  # the rest is kept
    assert stored["DW900001"]["responsible_citizen_id_bidx"]
    assert stored["DW900004"]["credit_code"] is None and stored["DW900004"]["org_name"] == "东村佳美理发店"
    assert _problems(_entries(ctx)) == [
        ("DW900002", "field", "responsible_citizen_id", "id_checksum"),
        ("DW900003", "record", None, "control_character"),
        ("DW900004", "field", "credit_code", "credit_code_checksum"),
    ]
    listed = json.loads(hub_cli(config, "quarantine", "list", "--json").stdout)
    by_key = {r["source_key"]: r for r in listed}
    assert (by_key["DW900002"]["scope"], by_key["DW900002"]["column"]) == ("field", "responsible_citizen_id")
    assert (by_key["DW900003"]["scope"], by_key["DW900003"]["column"]) == ("record", None)
    assert BAD_ID not in json.dumps(listed) and "110105********0021" in json.dumps(listed)  # masked in the reason
    assert "\\x00" in by_key["DW900003"]["reasons"][0]["value"]  # the NUL shown, never stored
    fields = json.loads(hub_cli(config, "quarantine", "list", "--scope", "field", "--json").stdout)
    assert {r["source_key"] for r in fields} == {"DW900002", "DW900004"}
    ledger = json.loads(hub_cli(config, "runs", "fire-safety", "--json").stdout)
    assert [(r["loaded"], r["quarantined"], r["withheld"]) for r in ledger if r["stream"] == "units"] == [(3, 1, 2)]
    shown = json.loads(hub_cli(config, "quarantine", "show", str(by_key["DW900002"]["id"]), "--json").stdout)
    assert shown["raw_column"] == "责任人身份证号" and shown["value"] == BAD_ID  # the raw value, for the steward


def test_full_refreshes_keep_one_open_entry_and_a_corrected_row_closes_it(town, tmp_path: Path) -> None:
    county, fire, grid = town
    ctx = make_context(_config(tmp_path / "hub", county, fire))
    sync(ctx, "grid-registry", resolve=False)
    first = sync(ctx, "fire-safety", resolve=False)
    second = sync(ctx, "fire-safety", resolve=False, full_refresh=True)
    third = sync(ctx, "fire-safety", resolve=False, full_refresh=True)
    assert _ledger(ctx, third.run_id) == {"read": 4, "loaded": 0, "unchanged": 3, "quarantined": 1, "tombstoned": 0,
                                          "withheld": 2}
    entries = _entries(ctx)
    assert len(entries) == 3 and all(e.status == "open" for e in entries)  # one per problem, not one per run
    assert {e.run_id for e in entries} == {first.run_id} and {e.seen_run_id for e in entries} == {third.run_id}
    assert second.run_id != third.run_id
    # the department corrects two of them the next day (same keys again, newer values)
    _deliver(fire, "20261103", [
        _unit("DW900002", "东村康乐足浴中心", grid, rid=GOOD_ID, person="赵小红", phone="13900001111",
              when="2026-11-03 10:00:00"),
        _unit("DW900003", "东村王记超市", grid, when="2026-11-03 10:00:00"),
    ])
    fixed = sync(ctx, "fire-safety", resolve=False)
    assert _ledger(ctx, fixed.run_id) == {"read": 2, "loaded": 2, "unchanged": 0, "quarantined": 0, "tombstoned": 0,
                                          "withheld": 0}
    after = {e.source_key: e for e in _entries(ctx)}
    for key in ("DW900002", "DW900003"):
        assert (after[key].status, after[key].resolved_run_id) == ("resolved", fixed.run_id)
        assert after[key].resolved_at is not None
    assert after["DW900004"].status == "open"  # not delivered again: nothing says it was fixed
    with transaction(ctx.db_url) as session:
        record = session.scalar(select(SourceRecord).where(SourceRecord.source_key == "DW900002"))
        assert record.data["responsible_citizen_id_bidx"] == ctx.vault.blind_index(GOOD_ID, kind="citizen_id")
    # a later full refresh reads the old folder again (bad DW900002 of 11-02, then the fix of 11-03): the newest wins
    again = sync(ctx, "fire-safety", resolve=False, full_refresh=True)
    assert [(e.source_key, e.status) for e in _entries(ctx, "open")] == [("DW900004", "open")]
    assert _ledger(ctx, again.run_id)["quarantined"] == 0


def test_replay_and_dismiss_work_on_field_entries(town, tmp_path: Path, hub_cli) -> None:  # noqa: F811
    county, fire, _ = town
    config = _config(tmp_path / "hub", county, fire)
    ctx = make_context(config)
    sync(ctx, "grid-registry", resolve=False)
    sync(ctx, "fire-safety", resolve=False)
    entries = {e.source_key: e for e in _entries(ctx)}
    # replaying a field that still fails: the record loads as it was, the entry stays open with today's reasons
    info = replay(ctx, [entries["DW900002"].id])
    run = next(iter(info.runs.values()))
    assert _ledger(ctx, run.run_id) == {"read": 1, "loaded": 0, "unchanged": 1, "quarantined": 0, "tombstoned": 0,
                                        "withheld": 1}
    assert {e.source_key: e.status for e in _entries(ctx)}["DW900002"] == "open"
    # dismissed: it stays dismissed when the same bad value comes again
    done = hub_cli(config, "quarantine", "dismiss", str(entries["DW900004"].id), "--note", "premises closed, checked")
    assert done.returncode == 0, done.stderr
    sync(ctx, "fire-safety", resolve=False, full_refresh=True)
    statuses = sorted((e.source_key, e.status) for e in _entries(ctx))
    assert statuses == [("DW900002", "open"), ("DW900003", "open"), ("DW900004", "dismissed")]
    # the county relaxes the contract (the responsible person's ID is a warning there): replay closes the entry
    override = tmp_path / "hub" / "contracts"
    override.mkdir()
    import yaml

    spec_path = Path(__import__("hub_fire_safety").__file__).parent / "contracts" / "fire-safety.units.odcs.yaml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    for prop in spec["schema"][0]["properties"]:
        if prop["name"] == "responsible_citizen_id":
            prop["customProperties"].append({"property": "invalidSeverity", "value": "warning"})
    (override / "fire-safety.units.odcs.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    config.write_text(config.read_text() + f"contracts: [{override}]\n", encoding="utf-8")
    proc = hub_cli(config, "quarantine", "replay", str(entries["DW900002"].id))
    assert proc.returncode == 0, proc.stderr
    assert "loaded with a field still withheld 0" in proc.stdout
    replayed = {e.source_key: e for e in _entries(make_context(config))}["DW900002"]
    assert replayed.status == "replayed" and replayed.resolved_run_id


def test_postgres_keeps_syncing_after_a_nul_in_a_unit_name(town, tmp_path: Path, postgres_url: str) -> None:
    county, fire, grid = town
    ctx = make_context(_config(tmp_path / "hub", county, fire, database=postgres_url))
    sync(ctx, "grid-registry", resolve=False)
    first = sync(ctx, "fire-safety")  # extract, validate, load and resolve
    assert [(e.source_key, e.scope) for e in _entries(ctx, "open") if e.source_key == "DW900003"] == [
        ("DW900003", "record")]
    _deliver(fire, "20261103", [_unit("DW900005", "东村新开便利店", grid, when="2026-11-03 10:00:00"),
                                _unit("DW900006", "东村\x07\x1b[31m彩票站", grid, when="2026-11-03 10:00:00")])
    second = sync(ctx, "fire-safety")  # the next delivery and the next resolve still go through
    with transaction(ctx.db_url) as session:
        states = [session.get(Run, r).state for r in (first.run_id, second.run_id)]
        names = set(session.scalars(select(Organization.name)))
    assert states == ["success", "success"]
    assert any("便利店" in n for n in names) and not any("\x00" in n or "\x07" in n for n in names)
    assert ("DW900006", "record", None, "control_character") in _problems(_entries(ctx))


def test_hub_quarantine_list_refuses_an_unknown_scope(town, tmp_path: Path, hub_cli) -> None:  # noqa: F811
    county, fire, _ = town
    config = _config(tmp_path / "hub", county, fire)
    make_context(config)
    proc = hub_cli(config, "quarantine", "list", "--scope", "row")
    assert proc.returncode != 0 and "unknown scope 'row'" in (proc.stderr + proc.stdout)
    assert "Traceback" not in proc.stderr and isinstance(proc, subprocess.CompletedProcess)


def test_copies_left_by_earlier_versions_fold_into_one_open_entry(town, tmp_path: Path) -> None:
    """A store written before entries were kept one per problem holds an open copy per run: the next
    run that sees the row keeps the newest and closes the others, saying why."""
    county, fire, _ = town
    ctx = make_context(_config(tmp_path / "hub", county, fire))
    sync(ctx, "grid-registry", resolve=False)
    sync(ctx, "fire-safety", resolve=False)
    refused = next(e for e in _entries(ctx) if e.source_key == "DW900003")
    with transaction(ctx.db_url) as session:  # two more copies, as earlier versions wrote them (no scope, no hash)
        for run_id in ("20261101T000000-aaaa", "20261101T000001-bbbb"):
            session.add(QuarantinedRow(run_id=run_id, source="fire-safety", stream="units", source_key="DW900003",
                                       reasons=refused.reasons, raw_enc=refused.raw_enc, status="open"))
    assert len([e for e in _entries(ctx, "open") if e.source_key == "DW900003"]) == 3
    sync(ctx, "fire-safety", resolve=False, full_refresh=True)
    copies = [e for e in _entries(ctx) if e.source_key == "DW900003"]
    assert [e.status for e in copies] == ["resolved", "resolved", "open"]
    assert all("superseded" in (e.note or "") for e in copies[:2])
    assert len(_entries(ctx, "open")) == 3  # one per problem across the stream
