"""§1 population: t_rk_hu and t_rk_ry in any SQLAlchemy database (SQLite by default).

Rows are never deleted: the database holds each row's latest state, and gxsj says on
which day it last changed, so "state as of day k" is the rows with gxsj up to that day.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from sqlalchemy import CHAR, BigInteger, Column, DateTime, MetaData, String, Table, create_engine, insert
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME

from hub.synth import noise as nz
from hub.synth.days import DAY0, history_stamp
from hub.synth.truth import Truth
from hub.synth.world import Person, World

SOURCE = "population"
Gxsj = DateTime().with_variant(
    SQLITE_DATETIME(storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"),
    "sqlite")
metadata = MetaData()
t_rk_hu = Table(
    "t_rk_hu", metadata,
    Column("hh", String(20), primary_key=True), Column("hzxm", String(50)), Column("hzsfzh", String(20)),
    Column("hjdz", String(200)), Column("cjdm", String(12)), Column("zh", String(3), nullable=True),
    Column("gxsj", Gxsj), Column("zxbz", CHAR(1)),
    mysql_charset="utf8mb4")
t_rk_ry = Table(
    "t_rk_ry", metadata,
    Column("ryid", BigInteger, primary_key=True, autoincrement=False), Column("xm", String(50)),
    Column("xbdm", CHAR(1)), Column("mzdm", CHAR(2)), Column("csrq", String(10)), Column("sfzh", String(20)),
    Column("hh", String(20)), Column("yhzgx", CHAR(2)), Column("lxdh", String(20), nullable=True),
    Column("xzz", String(200), nullable=True), Column("gxsj", Gxsj), Column("zxbz", CHAR(1)),
    Column("zxyy", String(10), nullable=True),
    mysql_charset="utf8mb4")
ZXYY = {"dead": "死亡", "moved": "迁出"}


def day_of(ts: dt.datetime) -> int:
    return max(0, (ts.date() - DAY0).days)


def person_rows(world: World, rng: random.Random, p: nz.NoiseProfile, truth: Truth) -> list[dict]:
    rows = []
    registered = [x for x in world.persons if x.ryid is not None]
    next_ryid = max((x.ryid for x in registered), default=10_000_000) + 1
    households = [h for h in world.households if h.status == "0"]
    for person in registered:
        key = str(person.ryid)
        row = _person_row(person, rng, p, truth, key)
        rows.append(row)
        truth.entity(SOURCE, "persons", key, "person", person.uid)
        if person.status == "active" and rng.random() < p.duplicate_person:
            dup_key = str(next_ryid)
            other = rng.choice(households)
            dup = _person_row(person, rng, p, truth, dup_key, hard=False)
            dup.update(ryid=next_ryid, hh=other.hh, yhzgx="99", zxbz="0", zxyy=None,
                       gxsj=history_stamp(rng, max(person.birth, dt.date(2015, 1, 1))))
            next_ryid += 1
            rows.append(dup)
            truth.entity(SOURCE, "persons", dup_key, "person", person.uid)
            truth.fault(SOURCE, "persons", dup_key, "duplicate_person", f"same person as ryid {key}")
    return rows


def _person_row(person: Person, rng: random.Random, p: nz.NoiseProfile, truth: Truth, key: str,
                hard: bool = True) -> dict:
    sfzh = nz.write_id(rng, person.id18, p, allow_15=True, hard=hard)
    xm = nz.write_name(rng, person.name, p)
    truth.faults_of(SOURCE, "persons", key, sfzh)
    truth.faults_of(SOURCE, "persons", key, xm)
    birth = person.birth
    if rng.random() < p.birth_date_mismatch:
        birth = birth + dt.timedelta(days=rng.choice([-31, -1, 1, 10, 365]))
        truth.fault(SOURCE, "persons", key, "birth_date_mismatch", "csrq differs from the ID's birth date")
    if rng.random() < p.csrq_dashed:
        csrq = birth.isoformat()
        truth.fault(SOURCE, "persons", key, "date_variant", "YYYY-MM-DD")
    else:
        csrq = birth.strftime("%Y%m%d")
    return {
        "ryid": person.ryid, "xm": xm.text, "xbdm": person.sex, "mzdm": person.ethnicity, "csrq": csrq,
        "sfzh": sfzh.text, "hh": person.household.hh, "yhzgx": person.relation, "lxdh": person.phone,
        "xzz": person.xzz, "gxsj": person.changed, "zxbz": "0" if person.status == "active" else "1",
        "zxyy": ZXYY.get(person.status),
    }


def household_rows(world: World, rng: random.Random, truth: Truth) -> list[dict]:
    rows = []
    for h in world.households:
        head = h.head
        truth.entity(SOURCE, "households", h.hh, "household", h.uid)
        group_no = h.group.code[-3:]
        rows.append({
            "hh": h.hh, "hzxm": head.name, "hzsfzh": head.id18,
            "hjdz": f"河北省唐山市路北区{world.unit_address(head)}", "cjdm": h.village.code,
            "zh": group_no if rng.random() < 0.6 else None, "gxsj": h.changed, "zxbz": h.status,
        })
    return rows


def check(url: str) -> None:
    """Connect once up front, so a wrong URL fails before minutes of generation, not after."""
    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def write(world: World, out: Path, url: str | None, rng: random.Random, p: nz.NoiseProfile, truth: Truth,
          days: int) -> tuple[int, int]:
    """Write both tables in one transaction; return (households, persons) row counts."""
    if url is None:
        db = out / "population.db"
        db.unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    hu = household_rows(world, rng, truth)
    ry = person_rows(world, rng, p, truth)
    for stream, rows, key in (("households", hu, "hh"), ("persons", ry, "ryid")):
        for row in rows:
            d = day_of(row["gxsj"])
            bad = (SOURCE, stream, str(row[key])) in truth.quarantine
            truth.day(d, SOURCE, stream, 1, int(bad))
        for k in range(days + 1):
            truth.day(k, SOURCE, stream, 0)
    engine = create_engine(url)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as conn:
            for table, rows in ((t_rk_hu, hu), (t_rk_ry, ry)):
                for i in range(0, len(rows), 20_000):
                    conn.execute(insert(table), rows[i:i + 20_000])
    finally:
        engine.dispose()
    return len(hu), len(ry)

