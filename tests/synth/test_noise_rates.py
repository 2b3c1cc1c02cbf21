"""Each quirk occurs at its configured rate (within 4 sigma), measured from the raw files."""

from __future__ import annotations

import csv
import io
import math
import sqlite3

import openpyxl

from hub.synth.noise import PROFILES, profile

HEAVY = profile("heavy")


def _within(hits: int, n: int, rate: float) -> None:
    sigma = math.sqrt(rate * (1 - rate) / n)
    assert abs(hits / n - rate) <= 4 * sigma + 1 / n, f"{hits}/{n} = {hits / n:.4f}, configured {rate}"


def test_population_rates(heavy_county, id_reason):
    con = sqlite3.connect(heavy_county / "population.db")
    con.row_factory = sqlite3.Row
    rows = con.execute("SELECT * FROM t_rk_ry").fetchall()
    reasons = [id_reason(r["sfzh"]) for r in rows]
    n = len(rows)  # duplicates carry no hard faults: they dilute the rate by ~rate², far inside the bound
    _within(reasons.count("id_checksum"), n, HEAVY.id_checksum)
    _within(reasons.count("id_format"), n, HEAVY.id_format)
    _within(sum("-" in r["csrq"] for r in rows), len(rows), HEAVY.csrq_dashed)
    active = con.execute("SELECT count(DISTINCT ryid) FROM t_rk_ry WHERE zxbz='0'").fetchone()[0]
    dups = con.execute("SELECT count(*) FROM (SELECT xm FROM t_rk_ry GROUP BY replace(replace(sfzh,' ',''),'x','X') "
                       "HAVING count(*) > 1)").fetchone()[0]
    _within(dups, active, HEAVY.duplicate_person)


def test_excel_numeric_ids_and_village_suffix_rates(heavy_county):
    ids, floats, villages, short = 0, 0, 0, 0
    for path in sorted((heavy_county / "civil-affairs").glob("*.xlsx")):
        ws = openpyxl.load_workbook(path)["高龄老人"]
        for r in list(ws.iter_rows(values_only=True))[2:-1]:
            if not r or r[0] is None:
                continue
            ids += 1
            floats += isinstance(r[2], float)
            villages += 1
            short += not r[6].endswith(("村", "社区"))
    # IDs ending in X cannot become numbers: about 1 in 11 are excluded
    _within(floats, ids, HEAVY.excel_numeric_id * 10 / 11)
    assert floats > 0 and short / villages > 0.5


def test_fire_safety_coordinate_rates(heavy_county):
    folder = min((heavy_county / "fire-safety").iterdir())
    rows = list(csv.DictReader(io.StringIO((folder / "单位.csv").read_bytes().decode("gb18030"))))
    blank = sum(not r["经度"] for r in rows)
    _within(blank, len(rows), HEAVY.coords_blank)
    swapped = sum(bool(r["经度"]) and float(r["经度"]) < 90 for r in rows)
    _within(swapped, len(rows) - blank, HEAVY.coords_swapped)


def test_the_none_profile_is_clean(tmp_path, id_reason):
    from hub.synth import generate

    s = generate(tmp_path, residents=500, days=2, noise="none")
    assert s.quarantined == 0
    con = sqlite3.connect(tmp_path / "population.db")
    assert all(id_reason(r[0]) is None and len(r[0]) == 18 for r in con.execute("SELECT sfzh FROM t_rk_ry"))
    newest = sorted((tmp_path / "dispute-mediation").glob("*.jsonl"))[-1]
    assert newest.read_text(encoding="utf-8").endswith("\n")  # no torn line
    assert len(list((tmp_path / "fire-safety").rglob("*.csv"))) == 9  # no re-delivery copy, all GB18030
    assert set(PROFILES) == {"default", "none", "heavy"}
