"""Another county's population system, built to §1 by other hands: its own DDL, types and habits.

Each table here is created with the vendor's own SQL (not our generator's metadata): a DATE
``csrq``, a ``DATETIME(3)`` or Java-written varchar ``gxsj``, extra vendor columns, zero dates,
utf8mb4 names. What a user needs: every row ends loaded, tombstoned or quarantined with a
reason, a re-run reads nothing, and a row written in the second the read ended is not lost.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from stdnum.iso7064 import mod_11_2

from hub.context import HubContext
from hub.db.models import QuarantinedRow, SourceRecord
from hub.db.session import transaction
from hub.plugins import get_host
from hub.stages import sync

HU_DDL = ("CREATE TABLE t_rk_hu (hh varchar(20) PRIMARY KEY, hzxm varchar(50), hzsfzh varchar(20), "
          "hjdz varchar(200), cjdm varchar(12), zh varchar(3) NULL, gxsj datetime, zxbz char(1), "
          "lrr varchar(20)) DEFAULT CHARSET=utf8mb4")


def cid(birth: str, seq: int) -> str:
    body = f"130203{birth}{seq:03d}"
    return body + mod_11_2.calc_check_digit(body)


def run_sql(url: str, *statements: str, params: list[dict[str, Any]] | None = None) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for stmt in statements:
                conn.execute(text(stmt), params) if params and stmt.lstrip().upper().startswith("INSERT") \
                    else conn.execute(text(stmt))
    finally:
        engine.dispose()


def hub_for(tmp_path: Path, url: str, **options: Any) -> HubContext:
    extra = "".join(f", {k}: {v}" for k, v in options.items())
    config = tmp_path / "hub.yaml"
    config.write_text(f'sources:\n  population: {{connector: population, url: "{url}"{extra}}}\n', "utf-8")
    os.environ["HUB_DATABASE"] = f"sqlite:///{tmp_path / 'store.db'}"
    os.environ["HUB_LANDING"] = str(tmp_path / "landing")
    try:
        return HubContext.from_config(config, host=get_host())
    finally:
        os.environ.pop("HUB_DATABASE")
        os.environ.pop("HUB_LANDING")


def outcome(ctx: HubContext, stream: str) -> dict[str, Any]:
    """source_key -> 'loaded' | 'deleted' | sorted quarantine reasons."""
    with transaction(ctx.db_url) as session:
        out: dict[str, Any] = {r.source_key: "deleted" if r.deleted else "loaded" for r in session.scalars(
            select(SourceRecord).where(SourceRecord.source == "population", SourceRecord.stream == stream))}
        for q in session.scalars(select(QuarantinedRow).where(QuarantinedRow.source == "population",
                                                              QuarantinedRow.stream == stream)):
            out[q.source_key] = sorted(r["check"] for r in q.reasons if r["severity"] == "error")
    return out


def loaded_data(ctx: HubContext, stream: str) -> dict[str, dict[str, Any]]:
    with transaction(ctx.db_url) as session:
        return {r.source_key: dict(r.data) for r in session.scalars(
            select(SourceRecord).where(SourceRecord.source == "population", SourceRecord.stream == stream))}


@pytest.mark.mariadb
def test_mariadb_vendor_schema_with_date_csrq_millisecond_gxsj_and_zero_dates(tmp_path: Path,
                                                                             mariadb_url: str) -> None:
    """DATE csrq, DATETIME(3) gxsj, a zero date, utf8mb4 and traditional names, NULL/space-padded flags,
    extra vendor columns, and a URL without ``charset``: each row has one clear outcome."""
    ry_ddl = ("CREATE TABLE t_rk_ry (ryid bigint PRIMARY KEY, xm varchar(50), xbdm char(1), mzdm char(2), "
              "csrq date, sfzh varchar(20), hh varchar(20), yhzgx char(2), lxdh varchar(20) NULL, "
              "xzz varchar(200) NULL, gxsj datetime(3), zxbz varchar(2), zxyy varchar(10) NULL, "
              "czy varchar(20), bz text) DEFAULT CHARSET=utf8mb4")
    ins = ("INSERT INTO t_rk_ry (ryid, xm, xbdm, mzdm, csrq, sfzh, hh, yhzgx, lxdh, gxsj, zxbz, zxyy, czy) "
           "VALUES (:ryid, :xm, '1', '01', :csrq, :sfzh, :hh, '02', :lxdh, :gxsj, :zxbz, :zxyy, 'clerk')")
    stamp = "2026-10-30 09:00:00.250"
    rows = [
        {"ryid": 1, "xm": "𠀀 明", "csrq": "1980-01-01", "sfzh": cid("19800101", 1), "hh": "H0001 ", "lxdh": None,
         "gxsj": stamp, "zxbz": " 0", "zxyy": None},
        {"ryid": 2, "xm": "張偉", "csrq": "1980-01-01", "sfzh": cid("19800101", 2), "hh": "H0001", "lxdh": "13812345678",
         "gxsj": stamp, "zxbz": "0", "zxyy": None},
        {"ryid": 3, "xm": "李四", "csrq": "0000-00-00", "sfzh": cid("19800101", 3), "hh": "H0001", "lxdh": None,
         "gxsj": stamp, "zxbz": "0", "zxyy": None},
        {"ryid": 4, "xm": "王五", "csrq": "1980-01-01", "sfzh": None, "hh": "H0001", "lxdh": None,
         "gxsj": "2026-10-30 09:00:00.750", "zxbz": "0", "zxyy": None},
        {"ryid": 5, "xm": "赵六", "csrq": "1980-01-01", "sfzh": cid("19800101", 5), "hh": "H0001", "lxdh": None,
         "gxsj": "2026-10-30 09:00:00.750", "zxbz": "1 ", "zxyy": "死亡"},
        {"ryid": 6, "xm": "钱七", "csrq": "1980-01-01", "sfzh": cid("19800101", 6), "hh": "H0001", "lxdh": None,
         "gxsj": "2026-10-30 09:00:01", "zxbz": None, "zxyy": None},
    ]
    run_sql(mariadb_url, "SET SESSION sql_mode = ''", HU_DDL, ry_ddl, ins, params=rows)
    run_sql(mariadb_url, "INSERT INTO t_rk_hu VALUES ('H0001', '张伟', NULL, '东村1号', '130203101201', NULL, "
                         "'2026-10-30 09:00:00', '0', 'x')")
    no_charset = make_url(mariadb_url).set(query={}).render_as_string(hide_password=False)
    ctx = hub_for(tmp_path, no_charset, batch_size=2)
    info = sync(ctx, "population", resolve=False)
    assert info.load.streams["persons"]["read"] == 6
    assert outcome(ctx, "persons") == {"1": "loaded", "2": "loaded", "3": ["date_format"], "4": ["required"],
                                       "5": "deleted", "6": ["required"]}
    data = loaded_data(ctx, "persons")
    assert data["1"]["name"] == "𠀀明" and data["2"]["name"] == "张伟"
    assert data["1"]["household_no"] == "H0001" and data["1"]["birth_date"] == "1980-01-01"
    assert data["1"]["updated_at"].startswith("2026-10-30 09:00:00.25")
    assert outcome(ctx, "households") == {"H0001": "loaded"}
    assert sync(ctx, "population", resolve=False).extract.rows == 0, "a re-run read rows again"


@pytest.mark.mariadb
def test_varchar_gxsj_written_by_java_is_resumed_exactly(tmp_path: Path, mariadb_url: str) -> None:
    """gxsj kept as varchar text the way Java's Timestamp.toString() writes it (``…09:00:00.0``):
    batches cut inside one second neither skip nor repeat, and a re-run reads nothing."""
    ry_ddl = ("CREATE TABLE t_rk_ry (ryid varchar(32) PRIMARY KEY, xm varchar(50), xbdm char(1), mzdm char(2), "
              "csrq varchar(10), sfzh varchar(20), hh varchar(20), yhzgx char(2), lxdh varchar(20), "
              "xzz varchar(200), gxsj varchar(30), zxbz char(1), zxyy varchar(10)) DEFAULT CHARSET=utf8mb4")
    ins = ("INSERT INTO t_rk_ry (ryid, xm, xbdm, mzdm, csrq, sfzh, hh, yhzgx, gxsj, zxbz) "
           "VALUES (:ryid, '张伟', '1', '01', '19800101', :sfzh, 'H0001', '02', :gxsj, '0')")
    rows = [{"ryid": f"R{i:03d}", "sfzh": cid("19800101", i), "gxsj": "2026-10-30 09:00:00.0"} for i in range(7)]
    rows.append({"ryid": "R100", "sfzh": cid("19800101", 100), "gxsj": "2026-10-30 09:00:01.0"})
    run_sql(mariadb_url, HU_DDL, ry_ddl, ins, params=rows)
    run_sql(mariadb_url, "INSERT INTO t_rk_hu VALUES ('H0001', '张伟', NULL, '东村1号', '130203101201', NULL, "
                         "'2026-10-30 09:00:00', '0', NULL)")
    ctx = hub_for(tmp_path, mariadb_url, batch_size=3)
    spec, connector = ctx.source("population")
    batches = list(connector.stream(spec, "persons").read({}))
    for i, batch in enumerate(batches):
        rest = [k for b in connector.stream(spec, "persons").read(dict(batch.state))
                for k in b.records.column("ryid").to_pylist()]
        assert rest == [r["ryid"] for r in rows][3 * (i + 1):], f"resuming after batch {i} skipped or repeated rows"
    first = sync(ctx, "population", resolve=False)
    assert first.load.streams["persons"]["loaded"] == 8
    assert sync(ctx, "population", resolve=False).extract.rows == 0, "rows at the cursor were read again"


def db_now(url: str) -> dt.datetime:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if url.startswith("sqlite"):
                return dt.datetime.now().replace(microsecond=0)
            return conn.execute(text("SELECT NOW()")).scalar_one().replace(microsecond=0)
    finally:
        engine.dispose()


SETTLE = 3


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_row_written_in_the_second_the_read_ended_is_not_lost(kind: str, tmp_path: Path,
                                                               request: pytest.FixtureRequest) -> None:
    """The vendor's clerk saves a person (lower ryid) in the same second our read ended on: a cursor
    at ``(that second, highest ryid)`` would skip them for ever. Rows younger than ``settle_seconds``
    are loaded but the cursor stays before them, so the next run still sees the late one."""
    url = f"sqlite:///{tmp_path / 'p.db'}" if kind == "sqlite" else request.getfixturevalue("mariadb_url")
    ry_ddl = ("CREATE TABLE t_rk_ry (ryid bigint PRIMARY KEY, xm varchar(50), xbdm char(1), mzdm char(2), "
              "csrq varchar(10), sfzh varchar(20), hh varchar(20), yhzgx char(2), lxdh varchar(20), "
              "xzz varchar(200), gxsj datetime, zxbz char(1), zxyy varchar(10))")
    ins = ("INSERT INTO t_rk_ry (ryid, xm, xbdm, mzdm, csrq, sfzh, hh, yhzgx, gxsj, zxbz) "
           "VALUES (:ryid, '张伟', '1', '01', '19800101', :sfzh, 'H0001', '02', :gxsj, '0')")
    ddl = HU_DDL if kind == "mariadb" else HU_DDL.replace(" DEFAULT CHARSET=utf8mb4", "")
    run_sql(url, ddl, ry_ddl)
    now = db_now(url)
    stamp = now.isoformat(sep=" ")
    run_sql(url, "INSERT INTO t_rk_hu VALUES ('H0001', '张伟', NULL, '东村1号', '130203101201', NULL, "
                 "'2026-10-30 09:00:00', '0', NULL)")
    run_sql(url, ins, params=[{"ryid": k, "sfzh": cid("19800101", k), "gxsj": stamp} for k in (10, 11)])
    # 3 s: the first sync (a fresh process's first imports included) must end inside the window it tests
    ctx = hub_for(tmp_path, url, settle_seconds=SETTLE)
    assert sync(ctx, "population", resolve=False).load.streams["persons"]["loaded"] == 2
    run_sql(url, ins, params=[{"ryid": 5, "sfzh": cid("19800101", 5), "gxsj": stamp}])  # late, same second
    again = sync(ctx, "population", resolve=False)
    assert again.load.streams["persons"]["loaded"] == 1, "the late row of the cursor's second was skipped"
    assert again.load.streams["persons"]["unchanged"] == 2
    assert set(outcome(ctx, "persons")) == {"5", "10", "11"}
    while db_now(url) < now + dt.timedelta(seconds=SETTLE + 1):  # stamp + settle_seconds + the second's own width
        time.sleep(0.1)
    sync(ctx, "population", resolve=False)  # reads the now-settled second one last time
    assert sync(ctx, "population", resolve=False).extract.rows == 0, "settled rows are still re-read"


def cli(config: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", "--config", str(config), "sync", "population", "--no-resolve"],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "HUB_DATABASE": f"sqlite:///{tmp_path}/s.db",
                               "HUB_LANDING": str(tmp_path / "landing")})


@pytest.mark.mariadb
@pytest.mark.parametrize(("fault", "expected"), [
    ("password", "Access denied"), ("database", "Unknown database"), ("table", "not found in mysql+pymysql://")])
def test_mariadb_access_faults_are_one_line_and_nonzero(tmp_path: Path, mariadb_url: str, fault: str,
                                                        expected: str) -> None:
    url = make_url(mariadb_url)
    if fault == "password":
        url = url.set(password="wrong-pw-77")
    elif fault == "database":
        url = url.set(database="no_such_renkou")
    config = tmp_path / "hub.yaml"
    config.write_text(f'sources:\n  population: {{connector: population, '
                      f'url: "{url.render_as_string(hide_password=False)}"}}\n', "utf-8")
    proc = cli(config, tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert expected in proc.stderr and "wrong-pw-77" not in proc.stderr + proc.stdout
