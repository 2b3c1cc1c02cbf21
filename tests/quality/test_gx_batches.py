"""The gate's Great Expectations run loads each batch once, and says what GX's own ``batch.validate`` says.

``hub.quality.expectations.run_suite`` builds GX's validator from the batch definition directly instead
of ``get_batch(...).validate(...)``, which loaded (and fingerprinted) every batch twice. Every shipped
contract's landed batches from the synthetic county (faults included) are validated both ways: the
validation results (every expectation's counts, failing rows and values, the batch's spec and
fingerprint) must be the same, and ours must load the batch once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from great_expectations.execution_engine import PandasExecutionEngine

from hub.connector.landing import RunFolder, part_path, read_table
from hub.quality import expectations
from hub.quality.checks import CheckEnv, DomainCheck
from hub.quality.gate import GateResult, apply_contract
from hub.stages import sync
from hub.stages.extract import extract
from hub.stages.ledger import new_run_id
from hub.stages.validate import check_env

from .conftest import make_context, write_config

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
