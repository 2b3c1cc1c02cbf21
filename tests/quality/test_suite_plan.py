"""The gate checks a handful of rows without GX (issue 19's one changed row): same verdicts as GX.

Every shipped contract's landed batches from the synthetic county (faults included: bad IDs,
unknown grid codes, duplicate keys, blank required fields) go through the gate twice, once through
Great Expectations and once directly; the valid rows, the quarantined rows with their reasons, the
per-check counts and the warnings must be the same.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from hub.connector.landing import RunFolder, part_path, read_table
from hub.quality.gate import GateResult, apply_contract, stream_tables
from hub.stages import sync
from hub.stages.extract import extract
from hub.stages.ledger import new_run_id
from hub.stages.validate import check_env

from .conftest import make_context, write_config

SOURCES = ("grid-registry", "population", "civil-affairs", "fire-safety", "public-security", "dispute-mediation")


def _gate(monkeypatch: pytest.MonkeyPatch, direct_rows: int, contract, table: pa.Table, ctx):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUB_SUITE_DIRECT_ROWS", str(direct_rows))
    result = GateResult()
    apply_contract(contract, table, result, ctx.host.checks(), check_env(ctx))
    valid, quarantined = stream_tables(result)
    return {"valid": valid.to_pylist(), "quarantined": quarantined.to_pylist(), "checks": result.checks,
            "warnings": result.warnings, "suite_counted": result.suite_counted, "gx": len(result.validations)}


def test_direct_checks_agree_with_gx_on_every_shipped_contract(
        county: Path, ps_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SUITE_DIRECT_ROWS", "0")
    ctx = make_context(write_config(tmp_path / "hub", county, ps_url=ps_url))
    compared = quarantined = 0
    sync(ctx, "grid-registry", resolve=False)  # grid codes are checked against the loaded registry
    for source in SOURCES:
        run_id = new_run_id()
        info = extract(ctx, source, run_id, full_refresh=True)  # raw batches stay in the landing zone
        folder = RunFolder(ctx.landing, source, run_id)
        for stream, ext in info.streams.items():
            contract = ctx.contracts.get(info.connector, stream)
            for index in range(ext.files):
                table = read_table(part_path(folder.stream_dir(stream), "raw", index))
                # the whole batch, and its first rows as a one-changed-row run would land them
                for rows in (table, table.slice(0, 3)):
                    by_gx = _gate(monkeypatch, 0, contract, rows, ctx)
                    direct = _gate(monkeypatch, 10**9, contract, rows, ctx)
                    assert by_gx.pop("gx") == 1 and direct.pop("gx") == 0
                    assert direct == by_gx, f"{source}.{stream} part {index}: direct checks differ from GX"
                    compared += rows.num_rows
                    quarantined += len(by_gx["quarantined"])
    assert compared > 2000 and quarantined > 10, (compared, quarantined)  # the county's faults among them


def test_a_handful_of_rows_skips_gx_and_its_data_docs_page(
        county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SUITE_DIRECT_ROWS", "100000")
    ctx = make_context(write_config(tmp_path / "hub", county))
    outcome = sync(ctx, "grid-registry", resolve=False)
    assert outcome.validate.streams["grids"].read > 0
    assert outcome.validate.data_docs is None  # no GX run, so no page; the ledger still has every count
    assert outcome.validate.streams["grids"].checks


def test_a_large_runs_short_last_batch_still_goes_through_gx(
        county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SUITE_DIRECT_ROWS", "100")  # the county's batch stands for one above the threshold
    ctx = make_context(write_config(tmp_path / "hub", county))
    run_id = new_run_id()
    info = extract(ctx, "population", run_id, full_refresh=True)
    contract = ctx.contracts.get(info.connector, "persons")
    table = read_table(part_path(RunFolder(ctx.landing, "population", run_id).stream_dir("persons"), "raw", 0))
    assert table.num_rows > 100
    result = GateResult()
    apply_contract(contract, table.slice(3), result, ctx.host.checks(), check_env(ctx))
    apply_contract(contract, table.slice(0, 3), result, ctx.host.checks(), check_env(ctx))
    assert len(result.validations) == 2  # the Data Docs page of the run counts the last three rows too


def test_a_days_batch_is_checked_directly_unless_gx_is_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.quality import suite_plan

    monkeypatch.delenv("HUB_SUITE_DIRECT_ROWS", raising=False)
    assert suite_plan.direct_rows() == suite_plan.DIRECT_ROWS == 5000  # 770 roster rows, 177 cases a day at 200k
    with suite_plan.gx_forced():  # the quality pass re-checks a deferred run in GX, for its page
        assert suite_plan.direct_rows() == 0
    assert suite_plan.direct_rows() == 5000
    monkeypatch.setenv("HUB_SUITE_DIRECT_ROWS", "7")
    assert suite_plan.direct_rows() == 7
