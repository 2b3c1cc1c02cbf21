"""Load compares a few rows by key probes instead of reading the whole stream: the same store either way.

Two stores load the same population database, one probing keys (the default for small runs), one
reading each stream whole (PROBE_MAX = 0, the behaviour before); a fresh load, then changed, new
and cancelled rows. Records (ids, hashes, tombstones, data), quarantine and state must be equal.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from hub.stages import known_records, sync

from .conftest import make_context
from .test_population_scale import population_only, store


def _change(db: Path, now: str) -> None:
    with sqlite3.connect(db) as conn:
        keys = [k for (k,) in conn.execute("SELECT ryid FROM t_rk_ry WHERE zxbz != '1' ORDER BY ryid LIMIT 3")]
        conn.execute("UPDATE t_rk_ry SET lxdh = '13912345678', gxsj = ? WHERE ryid = ?", (now, keys[0]))
        conn.execute("UPDATE t_rk_ry SET zxbz = '1', gxsj = ? WHERE ryid = ?", (now, keys[1]))  # cancelled
        conn.execute("UPDATE t_rk_ry SET gxsj = ? WHERE ryid = ?", (now, keys[2]))  # only its stamp changes
        row = conn.execute("SELECT * FROM t_rk_ry WHERE ryid = ?", (keys[0],)).fetchone()
        cols = [c[1] for c in conn.execute("PRAGMA table_info(t_rk_ry)")]
        new = dict(zip(cols, row, strict=True)) | {"ryid": "NEW" + str(keys[0]), "gxsj": now}
        conn.execute(f"INSERT INTO t_rk_ry ({', '.join(new)}) VALUES ({', '.join('?' * len(new))})",
                     list(new.values()))


def test_probed_and_whole_reads_load_the_same_store(county: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    db = Path(shutil.copy2(county / "population.db", tmp_path / "population.db"))
    now = dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")  # one stamp: both stores see the same rows
    stores = {}
    runs = {}
    for name, probe_max in (("whole", 0), ("probed", known_records.PROBE_MAX)):
        monkeypatch.setattr(known_records, "PROBE_MAX", probe_max)
        copy = Path(shutil.copy2(db, tmp_path / f"population-{name}.db"))
        ctx = make_context(population_only(tmp_path / name, copy))
        first = sync(ctx, "population", resolve=False)
        _change(copy, now)
        second = sync(ctx, "population", resolve=False)
        runs[name] = (first.load.streams, second.load.streams)
        stores[name] = store(ctx)
    persons = runs["probed"][1]["persons"]
    assert persons["loaded"] >= 2 and persons["tombstoned"] == 1  # an update, an insert, a tombstone
    assert runs["probed"] == runs["whole"]
    assert stores["probed"] == stores["whole"]
