"""The population load at scale: streamed a batch at a time with validation beside it, rows read
again unchanged costing nothing, and a crash mid-load leaving store and state as they were."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db.models import QuarantinedRow, Run, RunStream, SourceRecord, StreamState
from hub.db.session import transaction
from hub.stages import beside, sync
from hub.stages.extract import SEEN

from .conftest import make_context

ROOT = Path(__file__).resolve().parents[2]


def population_only(folder: Path, db: Path, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "hub.yaml"
    config.write_text(f"database: sqlite:///{folder / 'hub.db'}\nlanding: {folder / 'landing'}\nsources:\n"
                      f'  population: {{connector: population, url: "sqlite:///{db}"{extra}}}\n', encoding="utf-8")
    return config


def store(ctx) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What a load leaves: every record (id order, hash, tombstone, clear columns and blind indexes;
    ciphertexts differ by nonce), the quarantine entries and the committed stream state."""
    with transaction(ctx.db_url) as session:
        records = [(r.id, r.stream, r.source_key, r.content_hash, r.deleted, r.delete_reason,
                    {k: v for k, v in r.data.items() if not k.endswith("_enc")})
                   for r in session.scalars(select(SourceRecord).order_by(SourceRecord.id))]
        quarantine = [(q.id, q.stream, q.source_key, q.scope, q.column_name, q.raw_hash, q.status)
                      for q in session.scalars(select(QuarantinedRow).order_by(QuarantinedRow.id))]
        states = {(s.source, s.stream): {k: v for k, v in (s.state or {}).items() if k != SEEN}
                  for s in session.scalars(select(StreamState))}
    return {"records": records, "quarantine": quarantine, "states": states}


def source_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return sum(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("t_rk_hu", "t_rk_ry"))


def touch_persons(db: Path, n: int, *, phone: str | None = None) -> list[str]:
    """Stamp ``n`` persons as changed just now (inside the connector's settle window)."""
    now = dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")
    with sqlite3.connect(db) as conn:
        keys = [k for (k,) in conn.execute("SELECT ryid FROM t_rk_ry WHERE zxbz != '1' ORDER BY ryid LIMIT ?", (n,))]
        for key in keys:
            conn.execute("UPDATE t_rk_ry SET gxsj = ? WHERE ryid = ?", (now, key))
            if phone:
                conn.execute("UPDATE t_rk_ry SET lxdh = ? WHERE ryid = ?", (phone, key))
    return keys


def test_a_streamed_load_beside_validation_stores_what_the_sequential_load_stored(
        county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = county / "population.db"
    expected_rows = source_rows(db)
    sequential = make_context(population_only(tmp_path / "one", db))
    monkeypatch.setattr(beside, "BESIDE_MIN_ROWS", 10**9)
    first = sync(sequential, "population", resolve=False)
    assert not (sequential.landing / "population" / first.run_id / "validate.error").exists()
    # batches of 300 rows: several landing parts per stream, validated in a second process
    streamed = make_context(population_only(tmp_path / "two", db, ", batch_size: 300"))
    monkeypatch.setattr(beside, "BESIDE_MIN_ROWS", 1)
    started = []
    real_start = beside.ValidationWorker.start
    monkeypatch.setattr(beside.ValidationWorker, "start", lambda self: (started.append(self), real_start(self)))
    load_stage = sys.modules["hub.stages.load"]  # the package's ``load`` is the stage function

    def hashed_here(*_args: object) -> None:
        raise AssertionError("load hashed and encrypted rows the validating process had already done")

    monkeypatch.setattr(load_stage, "prepared", hashed_here)  # this process only; the validator forks before
    second = sync(streamed, "population", resolve=False)
    assert started, "the validator did not run beside the load"
    assert second.extract.streams["persons"].files > 3
    for info in (first, second):
        ledger = info.load.streams
        assert sum(s["read"] for s in ledger.values()) == expected_rows
        assert sum(s["loaded"] + s["tombstoned"] + s["quarantined"] for s in ledger.values()) == expected_rows
    assert first.load.streams == second.load.streams
    assert second.validate.streams["persons"].checks == first.validate.streams["persons"].checks
    assert store(streamed) == store(sequential)


def test_rows_read_again_unchanged_are_counted_unchanged_and_cost_no_validation(
        county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["hub.stages.extract"], "SEEN_MAX", 100)  # the first run reads far more: only its newest rows count
    db = shutil.copy2(county / "population.db", tmp_path / "population.db")
    touched = touch_persons(Path(db), 5)
    ctx = make_context(population_only(tmp_path / "hub", Path(db)))
    first = sync(ctx, "population", resolve=False)
    assert first.extract.streams["persons"].rows > 1000
    with transaction(ctx.db_url) as session:
        assert len(session.get(StreamState, ("population", "persons")).state[SEEN]) == 100
    before = store(ctx)
    again = sync(ctx, "population", resolve=False)  # the five are inside the settle window: read again
    persons = again.load.streams["persons"]
    assert persons["read"] == 5 and persons["unchanged"] == 5 and persons["loaded"] == 0
    assert again.extract.rows == 0  # nothing landed, so nothing validated
    assert again.validate.data_docs is None and again.validate.streams["persons"].read == 0
    assert store(ctx) == before
    with transaction(ctx.db_url) as session:
        ledger = session.scalars(select(RunStream).where(RunStream.run_id == again.run_id,
                                                         RunStream.stream == "persons")).one()
        assert (ledger.read, ledger.unchanged) == (5, 5)
        assert session.get(Run, again.run_id).state == "success"
    # one of them really changes: it is validated and loaded, the other four still cost nothing
    monkeypatch.setenv("HUB_SUITE_DIRECT_ROWS", "0")  # through GX, for its Data Docs page (a handful skips GX)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE t_rk_ry SET lxdh = '13912345678' WHERE ryid = ?", (touched[0],))
    changed = sync(ctx, "population", resolve=False)
    persons = changed.load.streams["persons"]
    assert (persons["read"], persons["loaded"], persons["unchanged"]) == (5, 1, 4)
    assert changed.validate.data_docs is not None


CRASHING_SYNC = """
import sys
from hub.context import HubContext
from hub.plugins import get_host
from hub.stages import beside, sync
beside.BESIDE_MIN_ROWS = 1
sync(HubContext.from_config(sys.argv[1], host=get_host()), "population", resolve=False)
"""


def test_a_crash_mid_load_leaves_store_and_state_as_they_were(county: Path, tmp_path: Path) -> None:
    db = Path(shutil.copy2(county / "population.db", tmp_path / "population.db"))
    config = population_only(tmp_path / "hub", db, ", batch_size: 200")
    ctx = make_context(config)
    sync(ctx, "population", resolve=False)
    before = store(ctx)
    touch_persons(db, 600, phone="13800000000")  # three batches of changes
    env = {**os.environ, "HUB_FAULT": "load:2"}
    proc = subprocess.run([sys.executable, "-c", CRASHING_SYNC, str(config)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]  # killed inside the load transaction
    assert store(ctx) == before
    done = sync(ctx, "population", resolve=False)  # the next run reads the same changes again
    assert done.load.streams["persons"]["loaded"] == 600
    with transaction(ctx.db_url) as session:
        phones = {r.data.get("phone_bidx") for r in session.scalars(
            select(SourceRecord).where(SourceRecord.stream == "persons"))}
    assert ctx.vault.blind_index("13800000000", kind="phone") in phones
