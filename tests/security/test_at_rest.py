"""Files at rest: private whatever the umask, spreadsheet cells that cannot run, landing kept only as
long as a stage needs it, and the special-population category never in clear in the store."""

from __future__ import annotations

import csv
import os
import stat
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from hub.connector.landing import RunFolder, prune_all, release, write_table
from hub.context import HubContext
from hub.db.models import AuditEntry, EntityLink
from hub.db.session import get_engine, transaction
from hub.exports import cell_row, cell_text
from hub.resolve.crosswalk import export_links


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def hub_dir(tmp_path: Path) -> HubContext:
    (tmp_path / "hub.yaml").write_text("database: sqlite:///var/hub.db\nlanding: var/landing\n", encoding="utf-8")
    old = os.umask(0o022)
    try:
        ctx = HubContext.from_config(tmp_path / "hub.yaml")
        ctx.ensure_store()
        yield ctx
    finally:
        get_engine(ctx.db_url).dispose()
        os.umask(old)


def test_the_store_and_landing_are_private_whatever_the_umask(hub_dir: HubContext) -> None:
    import pyarrow as pa

    os.umask(0o022)  # even when something widened the umask again after the hub started
    store = Path(hub_dir.db_url.removeprefix("sqlite:///"))
    assert _mode(store) == 0o600
    for companion in store.parent.glob("hub.db-*"):
        assert _mode(companion) == 0o600, companion
    folder = RunFolder(hub_dir.landing, "population", "run-1")
    raw = write_table(folder.stream_dir("persons") / "raw-00000.arrow", pa.table({"sfzh": ["110105194912310021"]}))
    manifest = folder.write_json("extract.json", {"streams": {}})
    assert _mode(raw) == _mode(manifest) == 0o600
    for d in (hub_dir.landing, hub_dir.landing / "population", folder.path, raw.parent):
        assert _mode(d) == 0o700, d


def test_a_loaded_run_keeps_no_arrow_file_and_old_folders_of_every_source_go(hub_dir: HubContext) -> None:
    import pyarrow as pa

    folder = RunFolder(hub_dir.landing, "civil-affairs", "run-2")
    for name in ("raw-00000.arrow", "valid.arrow", "quarantine.arrow"):
        write_table(folder.stream_dir("低保对象") / name, pa.table({"sfzh": ["110105194912310021"]}))
    folder.write_json("extract.json", {"streams": {}})
    assert release(hub_dir.landing, "civil-affairs", "run-2") == 3
    assert not list(folder.path.rglob("*.arrow")) and folder.has("extract.json")  # a retried load still finds it
    stale = RunFolder(hub_dir.landing, "stopped-source", "run-old")
    write_table(stale.stream_dir("s") / "raw-00000.arrow", pa.table({"x": [1]}))
    month_ago = time.time() - 30 * 86400
    os.utime(stale.path, (month_ago, month_ago))
    fresh = RunFolder(hub_dir.landing, "stopped-source", "run-new")
    fresh.write_json("extract.json", {})
    assert prune_all(hub_dir.landing, keep_days=7) == 1
    assert not stale.path.exists() and fresh.path.exists()


def test_spreadsheet_cells_cannot_start_a_formula() -> None:
    for bad in ("=HYPERLINK(\"http://x\",\"点我\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert cell_text(bad) == "'" + bad
    for fine in ("王芳", "110105194912310021", "", "a=b", None, -3, 2.5):
        assert cell_text(fine) == fine
    assert cell_row(["=1+1", 7]) == ["'=1+1", 7]


def test_links_export_is_private_formula_safe_and_audited(hub_dir: HubContext, tmp_path: Path) -> None:
    with transaction(hub_dir.db_url) as s:
        s.execute(insert(EntityLink), [
            {"source": "fire-safety", "stream": "units", "source_key": "=HYPERLINK(\"http://evil\",\"x\")",
             "entity_type": "organization", "entity_id": "O0000001", "method": "credit_code"},
            {"source": "population", "stream": "persons", "source_key": "P1", "entity_type": "person",
             "entity_id": "P0000001", "method": "citizen_id"},
        ])
    os.umask(0o022)
    out = tmp_path / "exports" / "links.csv"
    assert export_links(hub_dir, out) == 2
    assert _mode(out) == 0o600
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert ["fire-safety", "units", "'=HYPERLINK(\"http://evil\",\"x\")", "organization", "O0000001"] in rows
    with transaction(hub_dir.db_url) as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.route == "links export"))
    assert entry is not None and entry.method == "CLI" and entry.person_count == 1
    assert entry.user_name and entry.user_name.startswith("cli:") and entry.path == str(out.resolve())
