"""The county's rules in hub.yaml: ledger categories over the defaults, the annex, bad values refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import load_config
from hub.errors import ConfigError
from hub.township.categories import LEDGER_CATEGORIES, CategoryMap
from hub.township.periods import Period
from hub.township.rules import TownshipRules


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text("database: sqlite:///hub.db\nsources: {}\n" + text, encoding="utf-8")
    return path


def test_defaults_follow_grid_work() -> None:
    m = CategoryMap()
    assert [m.of("dispute", c) for c in ("土地山林", "劳资纠纷", "物业纠纷", "邻里纠纷")] == [
        "经济财政", "劳动保障", "城区管理", "综治司法"]
    assert (m.of("incident", "盗窃"), m.of("hazard", "重大"), m.of("household"), m.of("care", "独居老人")) == (
        "综治司法", "城区管理", "人口计生", "社会事务")
    assert all(v in LEDGER_CATEGORIES for rows in m.mapping.values() for v in rows.values())


def test_county_override_merges_over_the_defaults(tmp_path: Path) -> None:
    cfg = load_config(config(tmp_path, "ledger:\n  categories:\n    dispute: {婚姻家庭: 社会事务}\n"
                                       "assessment:\n  weights: {closure_rate: 1}\n  sample_share: 0.1\n"))
    rules = TownshipRules.from_config(cfg)
    assert rules.categories.of("dispute", "婚姻家庭") == "社会事务"
    assert rules.categories.of("dispute", "土地山林") == "经济财政"  # the rest of the defaults stay
    assert rules.assessment.weights == {"closure_rate": 1.0} and rules.assessment.sample_share == 0.1


@pytest.mark.parametrize(("text", "says"), [
    ("ledger:\n  categories:\n    dispute: {邻里纠纷: 治安}\n", "ledger.categories.dispute.邻里纠纷"),
    ("assessment:\n  weights: {speed: 1}\n", "assessment.weights.speed"),
    ("assessment:\n  sample_share: 0\n", "assessment.sample_share"),
    ("calendar:\n  schedule: [x.yaml]\n", "calendar"),
])
def test_bad_rules_are_one_clear_line(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(config(tmp_path, text))
    assert says in str(err.value) and "\n" not in str(err.value)


def test_periods() -> None:
    assert (Period.parse("2026Q3").start.isoformat(), Period.parse("2026q3").end.isoformat()) == ("2026-07-01", "2026-09-30")
    assert Period.parse("2026-02").end.isoformat() == "2026-02-28" and Period.parse("2026Q1").previous().label == "2025Q4"
    assert Period.parse("2026-01").previous().label == "2025-12"
    with pytest.raises(Exception, match="expected a quarter like 2026Q3"):
        Period.parse("2026Q5")
