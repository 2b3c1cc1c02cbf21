"""Assessment figures against a small county worked out by hand (tests/township/county.py).

2026Q3 as of Monday 12 October 2026 (Beijing). Working days after 30 September: 8, 9, 10 (the
make-up Saturday, 调休), 12 October.

东村 (with its groups):
- accepted: e1 e2 e3 e4 e5 e6 e7 e10 = 8 (e8 is a police incident, e9 is in Q4, e11 in Q2)
- finished: e1 (resolved Sat 10 Oct), e3 (12 Oct), e4 (passed up 9 Oct, county remit), e6, e7, e10 = 6;
  e5 was handed to the township's office within the village's remit: not finished
- on time: e1 (due 10 Oct), e3 (due 12 Oct), e6 (18 <= 20 Aug), e10 (due 10 Sep) = 4; e4 due 8 Oct, e7 due 15 Sep
- overdue open: e2, e5 (due 10 Oct) = 2
- passed up on time: 0 of 1 (e4)
- satisfaction: e1 满意, e10 不满意 -> 1 of 2
- hazards rectified on time: e6 of e6, e7 -> 1 of 2
- key units: 加油站 (inspected 3 Aug and 3 Sep: once counted), 敬老院 (last inspected in June) -> 1 of 2
西村: w1 on time and 基本满意, w2 overdue -> accepted 2, finished 1, on time 1, overdue 1, satisfaction 1/1,
inspection 1/1. 南村: nothing accepted, its key unit not inspected -> 0/1.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hub.db.session import transaction
from hub.events.calendar import covered
from hub.privacy import Vault
from hub.township.assessment import assess
from hub.township.periods import Period
from hub.township.rules import TownshipRules
from tests.township import county
from tests.township.county import G1, G2, V1, V2, V3, T, W, dispute

D = dt.date
HUB = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hub"


@pytest.fixture
def store(store_url: str) -> str:
    county.build(store_url, Vault(os.environ["HUB_SECRET_KEY"]))
    return store_url


def by_code(result) -> dict:  # type: ignore[no-untyped-def]
    return {g.code: g for g in result.grids}


def test_village_figures_by_hand(store: str) -> None:
    with transaction(store) as s:
        result = assess(s, "2026Q3", 2, D(2026, 10, 12))
    g = by_code(result)
    assert list(g) == [V1, V2, V3]
    east = g[V1]
    assert (east.accepted, east.finished, east.finished_on_time, east.overdue_open) == (8, 6, 4, 2)
    assert east.overdue_open_ids == ["e2", "e5"]
    assert (east.county_remit, east.passed_up_on_time) == (1, 0)
    assert (east.closed_with_feedback, east.satisfied) == (2, 1)
    assert (east.hazards_found, east.hazards_rectified_on_time) == (2, 1)
    assert (east.key_units, east.key_units_inspected) == (2, 1)
    assert east.rates == {"closure_rate": 0.75, "on_time_rate": 0.6667, "passed_up_on_time_rate": 0.0,
                          "satisfaction": 0.5, "hazards_rectified_on_time_rate": 0.5, "inspection_coverage": 0.5}
    west = g[V2]
    assert (west.accepted, west.finished, west.finished_on_time, west.overdue_open) == (2, 1, 1, 1)
    assert west.rates["satisfaction"] == 1.0 and west.rates["inspection_coverage"] == 1.0
    assert west.rates["passed_up_on_time_rate"] is None  # no county-remit case: no rate, not 0
    south = g[V3]
    assert south.accepted == 0 and south.rates["closure_rate"] is None and south.rates["inspection_coverage"] == 0.0


def test_group_level_counts_only_its_own_subtree(store: str) -> None:
    with transaction(store) as s:
        g = by_code(assess(s, "2026Q3", 3, D(2026, 10, 12)))
    assert list(g) == [G1, G2]
    assert (g[G1].accepted, g[G1].finished_on_time, g[G1].satisfied, g[G1].hazards_found) == (2, 2, 1, 1)
    assert (g[G1].key_units, g[G1].key_units_inspected) == (1, 1)
    assert (g[G2].accepted, g[G2].finished, g[G2].closed_with_feedback, g[G2].satisfied) == (2, 2, 1, 0)
    with transaction(store) as s:
        township = assess(s, "2026Q3", 1, D(2026, 10, 12)).grids
    assert [(t.code, t.accepted, t.finished) for t in township] == [(T, 10, 7)]


def test_a_day_earlier_reads_as_it_stood_then(store: str) -> None:
    # as of Sunday 11 October: e3 not yet resolved (and not yet due), e1 not yet closed with feedback
    with transaction(store) as s:
        east = by_code(assess(s, "2026Q3", 2, D(2026, 10, 11)))[V1]
    assert (east.finished, east.finished_on_time, east.overdue_open, east.closed_with_feedback) == (5, 3, 2, 1)


def test_month_period(store: str) -> None:
    with transaction(store) as s:
        g = by_code(assess(s, Period.parse("2026-07"), 2, D(2026, 10, 12)))
    assert (g[V2].accepted, g[V2].finished_on_time) == (1, 1) and g[V1].accepted == 0


@pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime (Debian package) is not installed")
def test_utc_server_clock_near_midnight_uses_beijings_date(store: str, tmp_path: Path) -> None:
    """16:30 UTC on 11 October is 00:30 on the 12th in Beijing: the whole command, on a UTC host."""
    cfg = county.write_config(tmp_path, store)
    env = {**os.environ, "TZ": "UTC", "HUB_CONFIG": str(cfg)}
    out = subprocess.run(["faketime", "2026-10-11 16:30:00", str(HUB), "assess", "--period", "2026Q3", "--json"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["as_of"] == "2026-10-12"
    east = next(g for g in doc["grids"] if g["code"] == V1)
    assert (east["finished"], east["finished_on_time"], east["satisfied"]) == (6, 4, 1)
    assert (east["hazards_rectified_on_time"], east["hazards_rectified_on_time_rate"]) == (1, 0.5)  # count and rate
    assert (east["passed_up_on_time"], east["passed_up_on_time_rate"], east["closure_rate"]) == (0, 0.0, 0.75)


SCHEDULE_2027 = """\
year: 2027
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-04}
workdays:
  - 2027-01-09   # a Saturday worked in exchange (调休)
"""


def test_county_supplied_year_schedule(store_url: str, tmp_path: Path) -> None:
    """Wed 30 Dec 2026, village remit: 31 Dec, then the county's 元旦 (1-4 Jan 2027), 5 and 6 Jan -> due 6 Jan.
    Fri 8 Jan: Sat 9 (make-up), Mon 11, Tue 12 -> due 12 Jan; resolved the 13th: late."""
    events = [dispute("n1", V1, "village", W(2026, 12, 30, 9), []),
              dispute("j1", V1, "village", W(2027, 1, 8, 9), [("resolved", W(2027, 1, 13, 9), None)])]
    county.build(store_url, Vault(os.environ["HUB_SECRET_KEY"]), events)
    (tmp_path / "calendar-2027.yaml").write_text(SCHEDULE_2027, encoding="utf-8")
    cfg = county.write_config(tmp_path, store_url, "calendar:\n  schedules: [calendar-2027.yaml]\n")
    from hub.config import load_config

    with_schedule = TownshipRules.from_config(load_config(cfg))
    with transaction(store_url) as s:
        dec = by_code(assess(s, "2026Q4", 2, D(2027, 1, 5), rules=with_schedule))[V1]
        jan = by_code(assess(s, "2027-01", 2, D(2027, 1, 20), rules=with_schedule))[V1]
        dec_packaged = by_code(assess(s, "2026Q4", 2, D(2027, 1, 5)))[V1]
        jan_packaged = by_code(assess(s, "2027-01", 2, D(2027, 1, 20)))[V1]
    assert (dec.accepted, dec.overdue_open, dec.provisional_due) == (1, 0, 0)  # due 6 Jan: not late on the 5th
    assert (jan.finished, jan.finished_on_time, jan.provisional_due) == (1, 0, 0)
    if covered(2027):  # a newer chinesecalendar knows 2027: the official schedule, nothing provisional
        assert dec_packaged.provisional_due == 0 and jan_packaged.provisional_due == 0
    else:  # Monday-Friday guess: 31 Dec, 1 Jan, 4 Jan -> due 4 Jan (late on the 5th); 11, 12, 13 Jan -> on time
        assert (dec_packaged.overdue_open, dec_packaged.provisional_due) == (1, 1)
        assert (jan_packaged.finished_on_time, jan_packaged.provisional_due) == (1, 1)


def test_bad_schedule_is_one_clear_line(store_url: str, tmp_path: Path) -> None:
    county.build(store_url, Vault(os.environ["HUB_SECRET_KEY"]), [])
    (tmp_path / "cal.yaml").write_text("year: 2027\nholidays: [2027-13-01]\n", encoding="utf-8")
    cfg = county.write_config(tmp_path, store_url, "calendar:\n  schedules: [cal.yaml]\n")
    out = subprocess.run([str(HUB), "--config", str(cfg), "assess", "--period", "2026Q4"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: calendar schedule {tmp_path / 'cal.yaml'}: month must be")
