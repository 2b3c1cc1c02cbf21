"""Fewer Great Expectations runs in a big run, and the same verdicts, ledger figures and Data Docs page.

``hub.quality.expectations.run_suite`` builds GX's validator from the batch definition directly instead
of ``get_batch(...).validate(...)``, which loaded (and fingerprinted) every batch twice: every shipped
contract's landed batches (faults included) are validated both ways and must give the same results.
``hub.stages.validate`` checks several raw parts of a stream in one GX validation (after the stream's
first, one part's): a population run in many small parts validated in groups and a part at a time must
write the same valid and quarantined parts, ledger figures and warnings, and merge into the same page;
a group whose parts repeat a key is checked a part at a time.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from great_expectations.execution_engine import PandasExecutionEngine

from hub.connector.landing import RunFolder, part_path, read_table
from hub.quality import expectations
from hub.quality.checks import CheckEnv, DomainCheck
from hub.quality.docs import merge
from hub.quality.gate import GateResult, apply_contract, prepare, suite_failures
from hub.stages import sync
from hub.stages.extract import extract
from hub.stages.ledger import new_run_id
from hub.stages.validate import check_env, group_failures, validate

from .conftest import make_context, write_config

validate_stage = importlib.import_module("hub.stages.validate")  # hub.stages.validate is also the stage function

SOURCES = ("grid-registry", "population", "civil-affairs", "fire-safety", "public-security", "dispute-mediation")


def _by_gx_batch(suite: Any, frame: pd.DataFrame, env: CheckEnv, checks: dict[str, DomainCheck]) -> Any:
    """GX's documented way: a batch from the definition, validated against the suite."""
    expectations._BINDINGS[suite.name] = expectations.Binding(frame=frame, env=env, checks=checks)
    try:
        batch = expectations._batch_definition().get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite, result_format="COMPLETE")
    finally:
        expectations._BINDINGS.pop(suite.name, None)


def _comparable(result: Any) -> dict[str, Any]:
    out = result.to_json_dict()
    out["meta"]["batch_markers"].pop("ge_load_time")  # the clock at load
    return out


def test_one_load_a_batch_and_the_same_results_as_batch_validate(
        county: Path, ps_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SUITE_DIRECT_ROWS", "0")
    ctx = make_context(write_config(tmp_path / "hub", county, ps_url=ps_url))
    sync(ctx, "grid-registry", resolve=False)  # grid codes are checked against the loaded registry
    loads: list[int] = []
    real_load = PandasExecutionEngine.get_batch_data_and_markers

    def counted_load(self: PandasExecutionEngine, batch_spec: Any) -> Any:
        loads.append(1)
        return real_load(self, batch_spec)

    monkeypatch.setattr(PandasExecutionEngine, "get_batch_data_and_markers", counted_load)
    real_run = expectations.run_suite
    pairs: list[tuple[Any, Any, int]] = []

    def both_ways(suite: Any, frame: pd.DataFrame, env: CheckEnv, checks: dict[str, DomainCheck]) -> Any:
        loads.clear()
        ours = real_run(suite, frame, env, checks)
        ours_loads = len(loads)
        pairs.append((ours[0], _by_gx_batch(suite, frame, env, checks), ours_loads))
        return ours

    monkeypatch.setattr(expectations, "run_suite", both_ways)
    for source in SOURCES:
        run_id = new_run_id()
        info = extract(ctx, source, run_id, full_refresh=True)
        folder = RunFolder(ctx.landing, source, run_id)
        for stream, ext in info.streams.items():
            contract = ctx.contracts.get(info.connector, stream)
            for index in range(ext.files):
                table = read_table(part_path(folder.stream_dir(stream), "raw", index))
                apply_contract(contract, table, GateResult(), ctx.host.checks(), check_env(ctx))
    failing = 0
    for ours, theirs, ours_loads in pairs:
        assert ours_loads == 1, f"{ours.suite_name}: the batch was loaded {ours_loads} times"
        assert _comparable(ours) == _comparable(theirs), f"{ours.suite_name}: results differ from batch.validate"
        assert ours.meta["batch_markers"].get("pandas_data_fingerprint")  # GX's fingerprint is still there
        failing += sum(not r.success for r in ours.results)
    assert len(pairs) >= len(SOURCES) and failing > 5, (len(pairs), failing)  # the county's faults among them


def _validated(ctx: Any, run_id: str, monkeypatch: pytest.MonkeyPatch, group_rows: int) -> dict[str, Any]:
    """One validate of the landed population run: its parts, its ledger figures and its merged pages."""
    monkeypatch.setattr(validate_stage, "GROUP_ROWS", group_rows)
    pages: dict[str, Any] = {}

    def keep_pages(ctx: Any, source: str, run_id: str, validations: dict[str, list[Any]]) -> None:
        pages.update({s: ([merge(v, set()).to_json_dict()] if v else [], len(v)) for s, v in validations.items()})
        return None

    monkeypatch.setattr(validate_stage, "_build_docs", keep_pages)
    info = validate(ctx, "population", run_id)
    folder = RunFolder(ctx.landing, "population", run_id)
    parts = {(stream, kind, i): read_table(part_path(folder.stream_dir(stream), kind, i)).to_pylist()
             for stream, sv in info.streams.items() for kind in ("valid", "quarantine")
             for i in range(len(list(folder.stream_dir(stream).glob(f"{kind}-*.arrow"))))}
    runs = {s: n for s, (_, n) in pages.items()}
    for page, _ in pages.values():
        for res in page:
            res["meta"]["batch_markers"].pop("ge_load_time")
    return {"info": info, "parts": parts, "pages": {s: p for s, (p, _) in pages.items()}, "runs": runs}


def test_parts_validated_in_groups_give_what_one_at_a_time_gives(
        county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SUITE_DIRECT_ROWS", "0")
    config = write_config(tmp_path / "hub", county)
    config.write_text(config.read_text(encoding="utf-8").replace(
        f'url: "sqlite:///{county / "population.db"}"}}', f'url: "sqlite:///{county / "population.db"}", batch_size: 150}}'),
        encoding="utf-8")
    ctx = make_context(config)
    run_id = new_run_id()
    extracted = extract(ctx, "population", run_id, full_refresh=True)
    assert extracted.streams["persons"].files >= 8
    alone = _validated(ctx, run_id, monkeypatch, 1)
    grouped = _validated(ctx, run_id, monkeypatch, 600)
    assert grouped["runs"]["persons"] < alone["runs"]["persons"] == extracted.streams["persons"].files
    assert grouped["parts"] == alone["parts"]
    assert grouped["info"] == alone["info"]
    assert grouped["pages"] == alone["pages"]
    assert sum(len(rows) for (_, kind, _), rows in alone["parts"].items() if kind == "quarantine") > 0
    assert any(stat["failed"] for stat in alone["info"].streams["persons"].checks.values())


def test_a_key_repeated_across_parts_keeps_each_parts_verdict(
        county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SUITE_DIRECT_ROWS", "0")
    ctx = make_context(write_config(tmp_path / "hub", county))
    run_id = new_run_id()
    info = extract(ctx, "population", run_id, full_refresh=True)
    contract = ctx.contracts.get(info.connector, "persons")
    table = read_table(part_path(RunFolder(ctx.landing, "population", run_id).stream_dir("persons"), "raw", 0))
    checks, env = ctx.host.checks(), check_env(ctx)
    for tables, joined in (([table.slice(0, 200), table.slice(200, 200), table.slice(400, 200)], True),
                           ([table.slice(0, 200), table.slice(200, 200), table.slice(100, 200)], False)):
        result = GateResult()
        suite_failures(contract, prepare(contract, table.slice(600, 50), result, checks), result, checks, env)
        parts = [prepare(contract, t, result, checks) for t in tables]
        before = len(result.validations)
        together = [[(f.rows, f.meta) for f in fs] for fs in group_failures(contract, parts, result, checks, env)]
        assert len(result.validations) - before == (1 if joined else 3)
        one_by_one = [[(f.rows, f.meta) for f in suite_failures(contract, p, result, checks, env)] for p in parts]
        assert together == one_by_one
