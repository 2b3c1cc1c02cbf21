"""§1 population read back with sqlite3 and SQLAlchemy: schema, world, change days, quirks."""

from __future__ import annotations

import collections
import datetime as dt
import sqlite3

HU = {"hh": "VARCHAR(20)", "hzxm": "VARCHAR(50)", "hzsfzh": "VARCHAR(20)", "hjdz": "VARCHAR(200)",
      "cjdm": "VARCHAR(12)", "zh": "VARCHAR(3)", "gxsj": "DATETIME", "zxbz": "CHAR(1)"}
RY = {"ryid": "BIGINT", "xm": "VARCHAR(50)", "xbdm": "CHAR(1)", "mzdm": "CHAR(2)", "csrq": "VARCHAR(10)",
      "sfzh": "VARCHAR(20)", "hh": "VARCHAR(20)", "yhzgx": "CHAR(2)", "lxdh": "VARCHAR(20)", "xzz": "VARCHAR(200)",
      "gxsj": "DATETIME", "zxbz": "CHAR(1)", "zxyy": "VARCHAR(10)"}


def _db(county):
    con = sqlite3.connect(county / "population.db")
    con.row_factory = sqlite3.Row
    return con


def test_tables_have_the_vendor_columns_and_types(county):
    con = _db(county)
    for table, spec in (("t_rk_hu", HU), ("t_rk_ry", RY)):
        cols = {r["name"]: r["type"] for r in con.execute(f"PRAGMA table_info({table})")}
        assert cols == spec
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")] == [
        "t_rk_hu", "t_rk_ry"]


def test_rows_are_consistent_and_cancellations_keep_rows(county):
    con = _db(county)
    households = {r["hh"] for r in con.execute("SELECT hh FROM t_rk_hu")}
    rows = con.execute("SELECT * FROM t_rk_ry").fetchall()
    assert all(r["hh"] in households for r in rows)
    assert {r["yhzgx"] for r in rows} == {"02", "10", "20", "30", "50", "99"}
    for r in rows:
        assert (r["zxbz"] == "0") == (r["zxyy"] is None)
        assert r["zxyy"] in (None, "死亡", "迁出")
        dt.datetime.strptime(r["gxsj"], "%Y-%m-%d %H:%M:%S")  # second resolution, as the vendor stores it
    assert len({r["gxsj"] for r in rows}) < len(rows)  # several rows share one timestamp
    assert all(len(r["cjdm"]) == 12 for r in con.execute("SELECT cjdm FROM t_rk_hu"))
    missing_group = con.execute("SELECT count(*) FROM t_rk_hu WHERE zh IS NULL").fetchone()[0]
    assert 0.2 < missing_group / len(households) < 0.6


def test_age_structure_is_a_real_township(county):
    con = _db(county)
    today = dt.date(2026, 10, 30)
    ages, alone_elderly = [], 0
    members = collections.Counter(r["hh"] for r in con.execute("SELECT hh FROM t_rk_ry WHERE zxbz='0'"))
    for r in con.execute("SELECT csrq, hh FROM t_rk_ry WHERE zxbz='0'"):
        born = dt.date.fromisoformat(r["csrq"]) if "-" in r["csrq"] else dt.datetime.strptime(r["csrq"], "%Y%m%d").date()
        age = (today - born).days // 365
        ages.append(age)
        alone_elderly += age >= 70 and members[r["hh"]] == 1
    n = len(ages)
    assert 0.12 < sum(a < 18 for a in ages) / n < 0.35
    assert 0.15 < sum(a >= 65 for a in ages) / n < 0.40
    assert 0.4 < sum(18 <= a < 65 for a in ages) / n < 0.7
    assert alone_elderly > 20


def test_change_days_births_deaths_moves_match_days_json(county, days_plan):
    con = _db(county)
    plan = {d["day"]: d for d in days_plan["days"]}
    for day in (1, 2, 3):
        date = plan[day]["date"]
        rows = con.execute("SELECT * FROM t_rk_ry WHERE substr(gxsj,1,10)=?", (date,)).fetchall()
        hu = con.execute("SELECT count(*) FROM t_rk_hu WHERE substr(gxsj,1,10)=?", (date,)).fetchone()[0]
        assert len(rows) == plan[day]["sources"]["population"]["persons"]["read"]
        assert hu == plan[day]["sources"]["population"]["households"]["read"]
        reasons = collections.Counter(r["zxyy"] for r in rows)
        assert reasons["死亡"] >= 1 and reasons["迁出"] >= 1
        births = [r for r in rows if r["csrq"].replace("-", "")[:6] >= "202609"]
        assert births, f"no newborn registered on day {day}"
    day0 = con.execute("SELECT count(*) FROM t_rk_ry WHERE gxsj <= '2026-10-30 23:59:59'").fetchone()[0]
    assert day0 == plan[0]["sources"]["population"]["persons"]["read"]


def test_id_quirks_are_exactly_the_quarantine_truth(county, truth, id_reason):
    con = _db(county)
    observed = {}
    fifteen = 0
    for r in con.execute("SELECT ryid, sfzh FROM t_rk_ry"):
        reason = id_reason(r["sfzh"])
        fifteen += len(r["sfzh"].replace(" ", "")) == 15
        if reason:
            observed[str(r["ryid"])] = reason
    expected = {q["source_key"]: q["reason"] for q in truth["quarantine"]
                if q["source"] == "population" and q["stream"] == "persons"}
    assert observed == expected
    assert fifteen == sum(f["source"] == "population" and f["fault"] == "id_15_digit" for f in truth["faults"])
    assert fifteen > 20


def test_duplicate_persons_resolve_to_one_entity(county, truth):
    con = _db(county)
    ent = {e["source_key"]: e["entity_uid"] for e in truth["entities"] if e["source"] == "population"
           and e["stream"] == "persons"}
    dups = [f for f in truth["faults"] if f["fault"] == "duplicate_person"]
    assert dups
    for f in dups:
        original = f["detail"].rsplit(" ", 1)[1]
        assert ent[f["source_key"]] == ent[original]
        a, b = (con.execute("SELECT sfzh, hh FROM t_rk_ry WHERE ryid=?", (int(k),)).fetchone()
                for k in (f["source_key"], original))
        assert a["hh"] != b["hh"]


def test_sqlalchemy_reads_the_same_rows(county):
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{county / 'population.db'}")
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM t_rk_ry")).scalar_one()
    engine.dispose()
    assert n == _db(county).execute("SELECT count(*) FROM t_rk_ry").fetchone()[0]
