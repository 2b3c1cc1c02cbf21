"""A day's trickle is checked at sync without importing GX; the quality pass builds its Data Docs page.

The population registry's first run (1,519 persons of the 1,500-resident county, 9 quarantined) is a
day-sized batch: above the old threshold of 100 rows, below 5,000. The sync must not import Great
Expectations (checked in a child process), must keep the run's raw and quarantine parts for the pass,
and the pass must build a page counting every row, fail loudly when the sync's quarantine differs from
GX's, and release the parts once the page is built; retention still prunes an old pending run.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from hub.connector.base import OP_COLUMN
from hub.connector.landing import (
    DOCS_BUILT,
    DOCS_PENDING,
    SEALED,
    RunFolder,
    part_path,
    prune,
    read_sealed_table,
    write_table,
)
from hub.quality.deferred import DocsMismatchError, awaited_runs, build_awaited_docs
from hub.quality.docs import docs_folder, site_index
from hub.stages import sync

from .conftest import TOKEN, TOKEN_ENV, make_context, write_config

ROOT = Path(__file__).resolve().parents[2]
CHILD_SYNC = """
import json, sys
from pathlib import Path
from hub.context import HubContext
from hub.plugins import get_host
from hub.stages.sync import sync
ctx = HubContext.from_config(Path(sys.argv[1]), host=get_host())
info = sync(ctx, "population", resolve=False)
print(json.dumps({"gx": sorted(m for m in sys.modules if m.split(".")[0] == "great_expectations")[:5],
                  "run_id": info.run_id, "data_docs": info.validate.data_docs,
                  "read": {s: v.read for s, v in info.validate.streams.items()},
                  "quarantined": {s: v.quarantined for s, v in info.validate.streams.items()},
                  "grids": sync(ctx, "grid-registry", resolve=False).run_id}))
"""


def _arrows(folder: RunFolder) -> set[str]:
    """Clear Arrow parts left in the run's folder."""
    return {str(p.relative_to(folder.path)) for p in folder.path.rglob("*.arrow")}


def _sealed(folder: RunFolder) -> set[str]:
    """Parts kept for the quality pass, encrypted at rest (named after the part they were)."""
    return {str(p.relative_to(folder.path)).removesuffix(SEALED) for p in folder.path.rglob("*" + SEALED)}


def _stored_result(ctx, source: str, stream: str, run_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """The GX validation results the docs project stored for this run's stream (what its page renders)."""
    folder = docs_folder(ctx) / "gx" / "uncommitted" / "validations" / source / stream / run_id
    return [json.loads(p.read_text(encoding="utf-8")) for p in folder.rglob("*.json")]


def test_a_days_run_syncs_without_gx_and_the_quality_pass_builds_its_page(county: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "hub", county)
    ctx = make_context(config)
    env = {**os.environ, TOKEN_ENV: TOKEN, "PYTHONPATH": str(ROOT)}
    env.pop("HUB_SUITE_DIRECT_ROWS", None)
    child = subprocess.run([sys.executable, "-c", CHILD_SYNC, str(config)], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr[-3000:]
    synced = json.loads(child.stdout.strip().splitlines()[-1])
    assert synced["gx"] == [], "the sync imported Great Expectations"
    assert 100 < synced["read"]["persons"] < 5000 and synced["quarantined"]["persons"] > 0
    assert synced["data_docs"] is None
    run_id = synced["run_id"]
    folder = RunFolder(ctx.landing, "population", run_id)
    raw = read_sealed_table(part_path(folder.path / "persons", "raw", 0), ctx.vault.open_bytes)
    live = int(pc.sum(pc.fill_null(pc.not_equal(raw.column(OP_COLUMN).cast(pa.string()), "delete"), True)).as_py())
    assert live > 100
    kept = _sealed(folder)  # load committed: valid parts released, raw and quarantine kept (sealed) for the pass
    assert "persons/raw-00000.arrow" in kept and "persons/quarantine-00000.arrow" in kept
    assert not any("valid" in name or "stored" in name for name in kept)
    assert _arrows(folder) == set(), "no clear part stays on disk after the load"
    ids = [v for v in raw.column("sfzh").to_pylist() if v and len(v) == 18][:50]
    on_disk = b"".join(p.read_bytes() for p in folder.path.rglob("*" + SEALED))
    assert len(ids) == 50 and not any(v.encode() in on_disk for v in ids), "a citizen ID in clear in a kept part"
    # the grid registry synced after it is a small run too: both await the pass
    assert folder.has(DOCS_PENDING) and {f.run_id for f in awaited_runs(ctx)} == {run_id, synced["grids"]}
    assert not site_index(ctx).exists()

    hub = [sys.executable, str(ROOT / ".venv" / "bin" / "hub"), "--config", str(config), "quality", "docs"]
    built = subprocess.run([*hub, "--build"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    assert f"population {run_id}: {sum(synced['read'].values())} rows re-checked" in built.stdout
    assert site_index(ctx).is_file()
    results = _stored_result(ctx, "population", "persons", run_id)
    assert len(results) == 1, "one merged page of the run's persons"
    counted = {r["result"].get("element_count") for r in results[0]["results"]}
    assert counted == {live}, "the page counts every live row of the run"
    failed = sum(r["result"].get("unexpected_count") or 0 for r in results[0]["results"])
    assert failed >= synced["quarantined"]["persons"]
    pages = list((docs_folder(ctx) / "site" / "validations" / "population" / "persons" / run_id).rglob("*.html"))
    assert len(pages) == 1 and "population.persons" in pages[0].read_text(encoding="utf-8")
    # the page is built: the run's clear personal data goes, and the run is no longer awaited
    assert folder.has(DOCS_BUILT) and not folder.has(DOCS_PENDING) and _arrows(folder) == _sealed(folder) == set()
    assert list(awaited_runs(ctx)) == []
    again = subprocess.run(hub, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "await" not in again.stdout and str(site_index(ctx)) in again.stdout


def test_a_corrupted_quarantine_part_fails_the_pass_loudly(county: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    from hub.orchestration.tasks import CONFIG_ENV, quality_docs_task

    monkeypatch.delenv("HUB_SUITE_DIRECT_ROWS", raising=False)
    config = write_config(tmp_path / "hub", county)
    ctx = make_context(config)
    run = sync(ctx, "population", resolve=False)
    folder = RunFolder(ctx.landing, "population", run.run_id)
    kept = part_path(folder.path / "persons", "quarantine", 0)
    quarantined = read_sealed_table(kept, ctx.vault.open_bytes)
    assert quarantined.num_rows == run.validate.streams["persons"].quarantined > 1
    dropped = json.loads(quarantined.column("_raw")[0].as_py())
    lost = write_table(tmp_path / "lost.arrow", quarantined.slice(1))  # the sync "lost" one quarantined row
    sealed = kept.with_name(kept.name + SEALED)
    sealed.write_text(ctx.vault.seal_bytes(lost.read_bytes()), encoding="ascii")
    monkeypatch.setenv(CONFIG_ENV, str(config))
    with caplog.at_level(logging.ERROR), pytest.raises(DocsMismatchError, match=run.run_id):
        quality_docs_task()  # the gridhub_quality DAG's build_data_docs task
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    n = quarantined.num_rows
    assert any(f"population/persons run {run.run_id}: GX quarantines {n} of" in m
               and f"the sync quarantined {n - 1} (1 rows differ)" in m for m in errors), errors
    for value in dropped.values():  # counts only: none of the row's values reach the log
        if isinstance(value, str) and len(value) >= 6:
            assert value not in caplog.text
    # still awaited, parts kept, for a steward to look at
    assert folder.has(DOCS_PENDING) and not folder.has(DOCS_BUILT) and sealed.is_file()
    assert [f.run_id for f in awaited_runs(ctx)] == [run.run_id]


def test_prune_keeps_a_pending_run_until_retention(county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("HUB_SUITE_DIRECT_ROWS", raising=False)
    ctx = make_context(write_config(tmp_path / "hub", county))
    pending = sync(ctx, "population", resolve=False)
    folder = RunFolder(ctx.landing, "population", pending.run_id)
    assert prune(ctx.landing, "population", 7) == 0  # the next sync's prune leaves it alone
    assert folder.has(DOCS_PENDING) and "persons/raw-00000.arrow" in _sealed(folder)
    # a run through GX at sync has its page: nothing kept, nothing awaited
    monkeypatch.setenv("HUB_SUITE_DIRECT_ROWS", "0")
    paged = sync(ctx, "population", resolve=False, full_refresh=True)
    assert paged.validate.data_docs is not None
    paged_folder = RunFolder(ctx.landing, "population", paged.run_id)
    assert _arrows(paged_folder) == _sealed(paged_folder) == set() and not paged_folder.has(DOCS_PENDING)
    # older than landing_keep_days: personal data's retention wins over the page, and the log says so
    old = time.time() - 8 * 86400
    os.utime(folder.path, (old, old))
    with caplog.at_level(logging.WARNING):
        assert prune(ctx.landing, "population", 7) == 1
    assert not folder.path.exists() and paged_folder.path.exists()
    assert any(pending.run_id in r.getMessage() and "never built" in r.getMessage() for r in caplog.records)
    assert list(awaited_runs(ctx)) == []
    build_awaited_docs(ctx)  # nothing left to build: no error
