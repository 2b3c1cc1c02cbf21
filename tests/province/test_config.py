"""hub.yaml for a province: counties, each with its sources; mistakes are one line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import load_config
from hub.errors import ConfigError
from hub.orchestration.tasks import dag_counties, dag_sources

PROVINCE = """\
database: sqlite:///var/hub.db
counties:
  "130102":
    name: 长安区
    sources:
      population: {connector: population, url: "sqlite:///a.db"}
      fire-safety: {connector: fire-safety, path: fs, enabled: false}
  "130104":
    sources:
      population: {connector: population, url: "sqlite:///b.db"}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(text, "utf-8")
    return path


def test_county_sources_join_the_hub_under_qualified_names(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, PROVINCE))
    assert sorted(config.sources) == ["130102.fire-safety", "130102.population", "130104.population"]
    assert config.counties["130102"].name == "长安区"
    assert config.source("130104.population").options() == {"url": "sqlite:///b.db"}
    # the DAG files read the same file cheaply: one sync DAG per enabled county source, the counties to map
    assert [s.dag_id for s in dag_sources(tmp_path / "hub.yaml")] == [
        "gridhub_sync__130102.population", "gridhub_sync__130104.population"]
    assert dag_counties(tmp_path / "hub.yaml") == ["130102", "130104"]


@pytest.mark.parametrize(("text", "message"), [
    (PROVINCE.replace('"130104":', '"130100":'), "'130100' is not a county division code"),
    (PROVINCE.replace('"130104":', '"1301":'), "'1301' is not a county division code"),
    (PROVINCE.replace("    name: 长安区", "    nmae: 长安区"), "line 4: unknown key 'counties.130102.nmae' (did you mean 'name'?)"),
])
def test_province_mistakes_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_source_twice_is_refused(tmp_path: Path) -> None:
    text = PROVINCE + 'sources:\n  "130104.population": {connector: population, url: "sqlite:///c.db"}\n'
    with pytest.raises(ConfigError, match="'130104.population' is configured twice"):
        load_config(_write(tmp_path, text))


def test_single_county_config_has_no_counties(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "sources:\n  population: {connector: population, url: \"sqlite:///a.db\"}\n"))
    assert config.counties == {} and list(config.sources) == ["population"]
    assert dag_counties(tmp_path / "hub.yaml") == []
