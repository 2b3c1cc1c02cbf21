"""The population connector against the real shapes of §1: shared seconds, tombstones, ID quirks, days."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    Table,
    create_engine,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.pool import NullPool
from stdnum.iso7064 import mod_11_2

from hub.context import HubContext
from hub.db.models import QuarantinedRow, SourceRecord
from hub.db.session import transaction
from hub.errors import HubError
from hub.plugins import get_host
from hub.stages import sync
from hub.synth.population import metadata, t_rk_hu, t_rk_ry

T0 = dt.datetime(2026, 10, 30, 9, 0, 0)


def citizen_id(birth: str, seq: int, region: str = "130203") -> str:
    body = f"{region}{birth}{seq:03d}"
    return body + mod_11_2.calc_check_digit(body)


def person(ryid: int, gxsj: dt.datetime, **over: Any) -> dict[str, Any]:
    row = {"ryid": ryid, "xm": "张伟", "xbdm": "1", "mzdm": "01", "csrq": "19800101",
           "sfzh": citizen_id("19800101", ryid % 1000), "hh": "H0001", "yhzgx": "02", "lxdh": "13812345678",
           "xzz": None, "gxsj": gxsj, "zxbz": "0", "zxyy": None}
    return row | over


def household(hh: str, gxsj: dt.datetime, **over: Any) -> dict[str, Any]:
    row = {"hh": hh, "hzxm": "张伟", "hzsfzh": citizen_id("19800101", 1), "hjdz": "河北省唐山市路北区唐山镇东村1号",
           "cjdm": "130203101201", "zh": "007", "gxsj": gxsj, "zxbz": "0"}
    return row | over


def write_tables(url: str, persons: list[dict], households: list[dict] | None = None) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(t_rk_ry), persons)
            conn.execute(insert(t_rk_hu), households or [household("H0001", T0)])
    finally:
        engine.dispose()


def execute(url: str, *statements: Any) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for stmt in statements:
                conn.execute(stmt)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def source_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'population.db'}"
    return request.getfixturevalue("mariadb_url")


@pytest.fixture
def hub_for(tmp_path: Path, config_writer: Callable) -> Callable[..., HubContext]:
    def make(url: str, batch_size: int | None = None) -> HubContext:
        os.environ["HUB_DATABASE"] = f"sqlite:///{tmp_path / 'store.db'}"
        os.environ["HUB_LANDING"] = str(tmp_path / "landing")
        try:
            return HubContext.from_config(config_writer(tmp_path, url, batch_size), host=get_host())
        finally:
            os.environ.pop("HUB_DATABASE")
            os.environ.pop("HUB_LANDING")

    return make


def read_all(ctx: HubContext, stream: str, state: dict) -> Iterator[tuple[list[dict], dict]]:
    spec, connector = ctx.source("population")
    for batch in connector.stream(spec, stream).read(dict(state)):
        yield batch.records.to_pylist(), batch.state


def records(ctx: HubContext, stream: str) -> dict[str, SourceRecord]:
    with transaction(ctx.db_url) as session:
        rows = session.scalars(select(SourceRecord).where(SourceRecord.source == "population",
                                                          SourceRecord.stream == stream)).all()
        session.expunge_all()
        return {r.source_key: r for r in rows}


def test_rows_sharing_a_second_split_across_batches(source_url: str, hub_for: Callable) -> None:
    """Seven rows share one second and batches of 3 cut through it: resuming from any batch's
    state reads exactly the rows after it, and the hub loads every row once."""
    same = T0 + dt.timedelta(hours=1)
    rows = [person(100 + i, T0) for i in range(2)] + [person(200 + i, same) for i in (5, 1, 7, 3, 2, 6, 4)]
    rows += [person(50, same + dt.timedelta(seconds=1))]
    write_tables(source_url, rows)
    ctx = hub_for(source_url, batch_size=3)
    expected = [str(r["ryid"]) for r in sorted(rows, key=lambda r: (r["gxsj"], r["ryid"]))]
    batches = list(read_all(ctx, "persons", {}))
    assert [r["ryid"] for b, _ in batches for r in b] == expected
    assert [len(b) for b, _ in batches] == [3, 3, 3, 1]
    for i, (_, state) in enumerate(batches):
        rest = [r["ryid"] for b, _ in read_all(ctx, "persons", state) for r in b]
        assert rest == expected[3 * (i + 1):], f"resuming after batch {i} skipped or repeated rows"
    first = sync(ctx, "population", resolve=False)
    assert first.load.streams["persons"]["read"] == len(rows) and first.load.streams["persons"]["unchanged"] == 0
    assert set(records(ctx, "persons")) == set(expected)
    assert sync(ctx, "population", resolve=False).extract.rows == 0
    # a row touched later in the same second as the cursor, with a higher key, is still picked up
    execute(source_url, insert(t_rk_ry).values(person(51, same + dt.timedelta(seconds=1))))
    later = sync(ctx, "population", resolve=False)
    assert later.extract.streams["persons"].rows == 1 and later.load.changed == 1
    assert "51" in records(ctx, "persons")


def test_cancelled_rows_become_tombstones_with_reasons(source_url: str, hub_for: Callable) -> None:
    rows = [person(1, T0), person(2, T0, zxbz="1", zxyy="死亡"), person(3, T0, zxbz="1", zxyy="迁出"),
            person(4, T0, zxbz="1", zxyy=None), person(5, T0, zxbz="1", zxyy=" ")]
    write_tables(source_url, rows, [household("H0001", T0), household("H0002", T0, zxbz="1")])
    ctx = hub_for(source_url)
    info = sync(ctx, "population", resolve=False)
    assert info.load.streams["persons"] == {"read": 5, "loaded": 1, "unchanged": 0, "quarantined": 0, "tombstoned": 4}
    persons = records(ctx, "persons")
    assert {k: (r.deleted, r.delete_reason) for k, r in persons.items()} == {
        "1": (False, None), "2": (True, "死亡"), "3": (True, "迁出"), "4": (True, "cancelled"), "5": (True, "cancelled")}
    homes = records(ctx, "households")
    assert homes["H0002"].deleted and homes["H0002"].delete_reason == "cancelled" and not homes["H0001"].deleted
    # a moved-out person who moves back: zxbz returns to 0 with a newer gxsj
    execute(source_url, update(t_rk_ry).where(t_rk_ry.c.ryid == 3).values(zxbz="0", zxyy=None,
                                                                           gxsj=T0 + dt.timedelta(days=1)))
    back = sync(ctx, "population", resolve=False)
    assert back.load.streams["persons"]["loaded"] == 1
    assert not records(ctx, "persons")["3"].deleted


def test_id_quirks_are_normalised_and_wrong_check_digits_quarantined(source_url: str, hub_for: Callable) -> None:
    good = citizen_id("19750314", 21)
    seq = next(s for s in range(1000) if citizen_id("19680501", s).endswith("X"))
    with_x = citizen_id("19680501", seq)
    old = citizen_id("19560720", 41)
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    fullwidth = good.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    as_written = {1: good, 2: old[:6] + old[8:17], 3: with_x[:-1] + "x", 4: fullwidth, 5: f"{good[:6]} {good[6:]} ",  # varchar(20) holds at most two spaces
                  6: wrong, 7: good[:9] + "O" + good[10:]}
    canonical = {1: good, 2: old, 3: with_x, 4: good, 5: good}
    write_tables(source_url, [person(k, T0, sfzh=v) for k, v in as_written.items()])
    ctx = hub_for(source_url)
    info = sync(ctx, "population", resolve=False)
    assert info.load.streams["persons"]["quarantined"] == 2
    stored = records(ctx, "persons")
    assert set(stored) == {"1", "2", "3", "4", "5"}
    for key, expected in canonical.items():
        data = stored[str(key)].data
        assert data["citizen_id_bidx"] == ctx.vault.blind_index(expected, kind="citizen_id"), key
        assert ctx.vault.decrypt(data["citizen_id_enc"]) == expected
        assert ctx.vault.decrypt(data["citizen_id_as_written_enc"]) == as_written[key]
        blob = json.dumps(data, ensure_ascii=False)
        assert expected not in blob and as_written[key].strip() not in blob and "13812345678" not in blob
    with transaction(ctx.db_url) as session:
        quarantined = {q.source_key: [r["check"] for r in q.reasons]
                       for q in session.scalars(select(QuarantinedRow).where(QuarantinedRow.source == "population"))}
    assert quarantined == {"6": ["id_checksum"], "7": ["id_format"]}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_ids_stay_text_when_the_vendor_typed_them_as_numbers(kind: str, tmp_path: Path,
                                                             request: pytest.FixtureRequest, hub_for: Callable) -> None:
    """A vendor schema with a BIGINT sfzh and zero-padded household numbers: no digit changes."""
    url = f"sqlite:///{tmp_path / 'numeric.db'}" if kind == "sqlite" else request.getfixturevalue("mariadb_url")
    numeric = MetaData()
    ry = Table("t_rk_ry", numeric, *(Column(c.name, BigInteger if c.name in ("ryid", "sfzh") else c.type,
                                            primary_key=c.primary_key, autoincrement=False) for c in t_rk_ry.columns))
    hu = Table("t_rk_hu", numeric, *(Column(c.name, c.type, primary_key=c.primary_key) for c in t_rk_hu.columns))
    old = citizen_id("19560720", 41)
    engine = create_engine(url, poolclass=NullPool)
    numeric.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(ry), [person(9007199254740993, T0, sfzh=int(old[:6] + old[8:17]), hh="000123")])
        conn.execute(insert(hu), [household("000123", T0)])
    engine.dispose()
    ctx = hub_for(url)
    (rows, state), = read_all(ctx, "persons", {})
    assert rows[0]["sfzh"] == old[:6] + old[8:17] and rows[0]["hh"] == "000123"
    assert rows[0]["ryid"] == "9007199254740993" and state["key"] == 9007199254740993
    assert rows[0]["gxsj"] == "2026-10-30 09:00:00" and state["gxsj"] == "2026-10-30 09:00:00"
    info = sync(ctx, "population", resolve=False)
    assert info.load.streams["persons"]["loaded"] == 1
    data = records(ctx, "persons")["9007199254740993"].data
    assert data["household_no"] == "000123"
    assert data["citizen_id_bidx"] == ctx.vault.blind_index(old, kind="citizen_id")


def rows_per_day(url: str, day0: dt.date) -> dict[str, dict[int, int]]:
    """Count source rows by the day their gxsj falls on (history counts as day 0), straight from the DB."""
    engine = create_engine(url, poolclass=NullPool)
    counts: dict[str, dict[int, int]] = {}
    with engine.connect() as conn:
        for stream, tbl in (("households", t_rk_hu), ("persons", t_rk_ry)):
            for (gxsj,) in conn.execute(select(tbl.c.gxsj)):
                day = max(0, (gxsj.date() - day0).days)
                counts.setdefault(stream, {}).setdefault(day, 0)
                counts[stream][day] += 1
    engine.dispose()
    return counts


def test_day_by_day_sync_loads_exactly_each_days_changes(tmp_path: Path, synth_county: Path,
                                                          population_as_of: Callable, hub_for: Callable) -> None:
    truth = json.loads((synth_county / "truth" / "days.json").read_text("utf-8"))
    day0 = dt.date.fromisoformat(truth["day0"])
    per_day = rows_per_day(f"sqlite:///{synth_county / 'population.db'}", day0)
    url = f"sqlite:///{tmp_path / 'population.db'}"
    db = population_as_of(url, 0)
    ctx = hub_for(url, batch_size=500)
    for entry in truth["days"]:
        assert db.day == entry["day"]
        info = sync(ctx, "population", resolve=False)
        for stream in ("households", "persons"):
            expected = entry["sources"]["population"][stream]
            counts = info.load.streams[stream]
            assert counts["read"] == expected["read"] == per_day[stream].get(db.day, 0), (db.day, stream)
            assert counts["quarantined"] == expected["quarantined"], (db.day, stream)
            assert counts["unchanged"] == 0, "a row read twice across days"
        assert sync(ctx, "population", resolve=False).extract.rows == 0, f"day {db.day}: second sync read rows"
        db.advance()
    stored = records(ctx, "persons")
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        cancelled = {str(k): r for k, r in conn.execute(select(t_rk_ry.c.ryid, t_rk_ry.c.zxyy)
                                                       .where(t_rk_ry.c.zxbz == "1"))}
    engine.dispose()
    assert cancelled, "the synthetic days cancelled nobody"
    assert {k: r.delete_reason for k, r in stored.items() if r.deleted} == cancelled


@pytest.mark.mariadb
def test_reads_what_synth_writes_into_mariadb(tmp_path: Path, mariadb_url: str, hub_for: Callable) -> None:
    from hub.synth import generate

    generate(tmp_path / "county", seed=11, residents=300, days=1, population_url=mariadb_url)
    truth = json.loads((tmp_path / "county" / "truth" / "days.json").read_text("utf-8"))
    ctx = hub_for(mariadb_url)
    info = sync(ctx, "population", resolve=False)
    for stream in ("households", "persons"):
        expected = sum(d["sources"]["population"][stream]["read"] for d in truth["days"])
        assert info.extract.streams[stream].rows == expected
        assert isinstance(info.extract.streams[stream].state_after["gxsj"], str)
    assert sync(ctx, "population", resolve=False).extract.rows == 0


def check_error(ctx: HubContext) -> str:
    spec, connector = ctx.source("population")
    with pytest.raises(HubError) as err:
        connector.check(spec)
    message = str(err.value)
    assert message and "\n" not in message
    return message


def test_check_names_what_is_wrong(tmp_path: Path, hub_for: Callable) -> None:
    url = f"sqlite:///{tmp_path / 'population.db'}"
    write_tables(url, [person(1, T0)])
    hub_for(url)  # a valid source passes
    ctx = hub_for(url)
    ctx.source("population")[1].check(ctx.source("population")[0])
    execute(url, text("ALTER TABLE t_rk_ry DROP COLUMN zxyy"))
    assert "table t_rk_ry" in check_error(ctx) and "lacks column(s) zxyy" in check_error(ctx)
    execute(url, text("DROP TABLE t_rk_hu"))
    assert "table t_rk_hu not found" in check_error(hub_for(url))
    assert "database file not found" in check_error(hub_for("sqlite:///nowhere.db"))
    assert not (tmp_path / "nowhere.db").exists(), "check created an empty database"
    assert "cannot use nosuchdb://" in check_error(hub_for("nosuchdb://host/db"))
    refused = check_error(hub_for("mysql+pymysql://clerk:s3cret-pw@127.0.0.1:1/renkou"))
    assert "cannot connect to mysql+pymysql://clerk:***@127.0.0.1:1/renkou" in refused and "s3cret" not in refused


def test_cli_check_and_sync_fail_in_one_line_without_the_password(tmp_path: Path, config_writer: Callable) -> None:
    config = config_writer(tmp_path, "mysql+pymysql://clerk:s3cret-pw@127.0.0.1:1/renkou")
    for command in (["sync", "population", "--no-resolve"],):  # `hub check`: the conformance suite
        proc = subprocess.run([sys.executable, "-m", "hub", "--config", str(config), *command], capture_output=True,
                              text=True, check=False, env={**os.environ, "HUB_DATABASE": f"sqlite:///{tmp_path}/s.db",
                                                           "HUB_LANDING": str(tmp_path / "landing")})
        assert proc.returncode != 0
        assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "s3cret" not in proc.stderr + proc.stdout and "Connection refused" in proc.stderr
