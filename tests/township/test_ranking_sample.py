"""The quarterly ranking's flag over four quarters, and the random household check's reproducibility."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.config import AssessmentConfig
from hub.db.models import AuditEntry, GridCell
from hub.db.session import transaction
from hub.privacy import Vault
from hub.township.ranking import rank
from hub.township.rules import TownshipRules
from hub.township.sample import draw
from tests.township import county
from tests.township.county import G1, V1, V2, V3, T, dispute

HUB = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hub"
V4 = "130203101204"
# closed (on time) cases of 4 accepted, per quarter: closure rates 1.0 / 0.75 / 0.5 / 0.25 rank them
FINISHED = {"2026Q1": {V1: 4, V2: 3, V3: 2, V4: 1},  # bottom two: V3, V4
            "2026Q2": {V1: 4, V2: 1, V3: 2, V4: 3},  # V2, V3
            "2026Q3": {V1: 1, V2: 4, V3: 2, V4: 3},  # V1, V3
            "2026Q4": {V1: 3, V2: 4, V3: 1, V4: 2}}  # V3, V4
MONDAYS = {"2026Q1": dt.date(2026, 1, 12), "2026Q2": dt.date(2026, 4, 13), "2026Q3": dt.date(2026, 7, 13),
           "2026Q4": dt.date(2026, 10, 12)}
ONLY_CLOSURE = TownshipRules(assessment=AssessmentConfig(weights={"closure_rate": 1.0}))


def quarter_events() -> list:
    events = []
    for q, per_village in FINISHED.items():
        day = dt.datetime.combine(MONDAYS[q], dt.time(9))
        for village, done in per_village.items():
            for i in range(4):
                steps = [("closed", day + dt.timedelta(days=1), "满意")] if i < done else []
                events.append(dispute(f"{q}-{village[-3:]}-{i}", village, "village", day, steps))
    return events


@pytest.fixture
def ranked_county(store_url: str) -> str:
    v4 = GridCell(code=V4, name="北村", level=2, parent_code=T, retired=False)
    county.build(store_url, Vault(os.environ["HUB_SECRET_KEY"]), quarter_events(), [v4])
    return store_url


def test_bottom_two_three_quarters_in_a_row_is_flagged(ranked_county: str, tmp_path: Path) -> None:
    with transaction(ranked_county) as s:
        q2 = {g.code: g for g in rank(s, "2026Q2", dt.date(2026, 7, 5), rules=ONLY_CLOSURE).grids}
        q3 = {g.code: g for g in rank(s, "2026Q3", dt.date(2026, 10, 5), rules=ONLY_CLOSURE).grids}
    assert [g.rank for g in q3.values()] == [1, 2, 3, 4]
    assert [c for c, g in q3.items() if g.bottom] == [V3, V1]
    assert q2[V3].bottom_streak == 2 and not q2[V3].flagged  # Q1, Q2: two in a row are not yet three
    assert q3[V3].bottom_streak == 3 and q3[V3].flagged
    assert not q3[V4].flagged and q3[V4].bottom_streak == 0  # bottom in Q1 only
    assert [h["rank"] for h in q3[V3].history] == [3, 3, 3]
    # the fourth quarter through the whole command, weights from hub.yaml
    cfg = county.write_config(tmp_path, ranked_county, "assessment:\n  weights: {closure_rate: 1.0}\n")
    out = subprocess.run([str(HUB), "--config", str(cfg), "assess", "ranking", "--period", "2026Q4", "--as-of",
                          "2027-01-05", "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    q4 = {g["code"]: g for g in json.loads(out.stdout)["grids"]}
    assert [q4[c]["rank"] for c in (V2, V1, V4, V3)] == [1, 2, 3, 4]
    assert q4[V3]["flagged"] and q4[V3]["bottom_streak"] == 3
    assert q4[V4]["bottom"] and not q4[V4]["flagged"]  # bottom in Q1 and Q4, not in a row
    assert not q4[V1]["flagged"] and q4[V1]["bottom_streak"] == 0


def test_ranking_is_quarterly(ranked_county: str) -> None:
    from hub.errors import HubError

    with transaction(ranked_county) as s, pytest.raises(HubError, match="quarterly"):
        rank(s, "2026-07", dt.date(2026, 8, 1))


@pytest.fixture
def households_county(store_url: str) -> str:
    vault = Vault(os.environ["HUB_SECRET_KEY"])
    extra = county.households(vault, G1, 100, "a") + county.households(vault, V2, 20, "b")
    county.build(store_url, vault, [], extra)
    return store_url


def test_sample_is_reproducible_and_sized_by_share(households_county: str, tmp_path: Path) -> None:
    with transaction(households_county) as s:
        first = draw(s, V1, "2026Q3")
        again = draw(s, V1, "2026Q3")
        other = draw(s, V1, "2026Q4")
        small = draw(s, V2, "2026Q3")
        larger = draw(s, V1, "2026Q3", share=0.1)
        assert draw(s, V3, "2026Q3").households == []  # no households: nothing to draw, no error
    ids = [h.household_id for h in first.households]
    assert len(ids) == 5 and first.households_in_grid == 100  # 5% of 100
    assert ids == [h.household_id for h in again.households]
    assert ids != [h.household_id for h in other.households]
    assert len(small.households) == 3  # 5% of 20 is 1: at least 3
    assert len(larger.households) == 10
    assert all(h.head_name and h.head_name.startswith("户主") for h in first.households)
    # the same draw from two separate processes (no per-process hash seed in it), and audited as a read
    cfg = county.write_config(tmp_path, households_county)
    runs = [subprocess.run([str(HUB), "--config", str(cfg), "assess", "sample", "--period", "2026Q3", "--grid", V1,
                            "--json"], capture_output=True, text=True, timeout=120) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    drawn = [[h["household_id"] for h in json.loads(r.stdout)["households"]] for r in runs]
    assert drawn[0] == drawn[1] == ids
    with transaction(households_county) as s:
        audits = list(s.scalars(select(AuditEntry).where(AuditEntry.route == "hub assess sample")))
    assert len(audits) == 2 and sorted(audits[0].person_ids) == sorted(h.head_person_id for h in first.households)
