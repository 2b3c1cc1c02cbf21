from pathlib import Path

import pytest

from hub.config import load_config
from hub.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_DATABASE", raising=False)
    cfg = load_config(write(tmp_path, "database: sqlite:///var/hub.db\nlanding: var/landing\n"
                                      "sources:\n  g: {connector: grid-registry, path: grids.geojson}\n"))
    assert cfg.database_url == f"sqlite:///{(tmp_path / 'var/hub.db').resolve()}"
    assert cfg.landing_path == tmp_path / "var/landing"
    assert cfg.source("g").options() == {"path": "grids.geojson"}


def test_env_overrides_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DATABASE", "postgresql+psycopg://x@127.0.0.1/y")
    cfg = load_config(write(tmp_path, "database: sqlite:///var/hub.db\n"))
    assert cfg.database_url == "postgresql+psycopg://x@127.0.0.1/y"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: [1, 2\n", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("sources:\n  g: {path: x}\n", "sources.g.connector"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_config_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_source_lists_the_configured_ones(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "sources:\n  g: {connector: grid-registry, path: x}\n"))
    with pytest.raises(ConfigError, match="configured: g"):
        cfg.source("population")


def test_landing_runs_older_than_the_retention_are_pruned(tmp_path: Path) -> None:
    import os
    import time

    from hub.connector.landing import prune

    old, recent = tmp_path / "population" / "20260101T000000-aaaa", tmp_path / "population" / "20261129T000000-bbbb"
    for run in (old, recent):
        (run / "persons").mkdir(parents=True)
        (run / "persons" / "raw-00000.arrow").write_bytes(b"x")
    ten_days_ago = time.time() - 10 * 86400
    os.utime(old, (ten_days_ago, ten_days_ago))
    assert prune(tmp_path, "population", keep_days=7) == 1
    assert not old.exists() and recent.exists()
    assert prune(tmp_path, "population", keep_days=-1) == 0  # a negative retention keeps everything
    assert prune(tmp_path, "fire-safety", keep_days=7) == 0  # no runs yet: nothing to do


# Issue 18 item 4: a misspelt key is an error naming the key, the file, the line and the closest known key.

@pytest.mark.parametrize(
    ("text", "line", "key", "hint"),
    [
        ("database: sqlite:///var/hub.db\nlandng_keep_days: 3\n", 2, "landng_keep_days", "landing_keep_days"),
        ("databse: sqlite:///elsewhere.db\n", 1, "databse", "database"),
        ("api:\n  host: 0.0.0.0\n  prot: 9000\n", 3, "api.prot", "port"),
        ("resolve:\n  lowr: 0.4\n", 2, "resolve.lowr", "lower"),
    ],
)
def test_unknown_key_names_file_line_and_closest(tmp_path: Path, text: str, line: int, key: str, hint: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert f"{path} line {line}: unknown key '{key}'" in message
    assert f"did you mean '{hint}'?" in message and "\n" not in message


def test_unknown_key_without_a_close_one_lists_the_known(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'zzz' \(known: database, landing, "):
        load_config(write(tmp_path, "zzz: 1\n"))


def test_every_declared_field_is_a_known_key(tmp_path: Path) -> None:
    """Fields others add to the models (ledger, calendar, cipher, console, …) are known without a list."""
    from hub.config import HubConfig

    keys = [name for name in HubConfig.model_fields if name != "base_dir"]
    assert {"database", "landing", "landing_keep_days", "sources", "api"} <= set(keys)
    defaults = HubConfig().model_dump(include=set(keys), mode="json")
    import yaml

    cfg = load_config(write(tmp_path, yaml.safe_dump(defaults, allow_unicode=True)))
    assert cfg.landing_keep_days == defaults["landing_keep_days"]
    with pytest.raises(ConfigError, match="unknown key 'base_dir'"):
        load_config(write(tmp_path, "base_dir: /tmp\n"))


@pytest.mark.parametrize(
    ("source", "key", "hint"),
    [
        ("population:\n    connector: population\n    url: sqlite:///p.db\n    batchsize: 100\n",
         "sources.population.batchsize", "batch_size"),
        ("ps:\n    connector: public-security\n    base_url: http://127.0.0.1:1\n    token_env: T\n"
         "    page_sise: 50\n", "sources.ps.page_sise", "page_size"),
    ],
)
def test_connector_options_checked_against_what_the_connector_declares(
        tmp_path: Path, source: str, key: str, hint: str) -> None:
    from hub.context import HubContext

    path = write(tmp_path, "database: sqlite:///hub.db\nsources:\n  " + source)
    with pytest.raises(ConfigError) as err:
        HubContext.from_config(path)
    message = str(err.value)
    assert f"{path} line 6: unknown key '{key}'" in message or f"{path} line 7: unknown key '{key}'" in message
    assert f"did you mean '{hint}'?" in message


def test_a_misspelt_hub_key_of_a_source_fails_every_command(tmp_path: Path) -> None:
    from hub.context import HubContext

    path = write(tmp_path, "sources:\n  g:\n    connector: grid-registry\n    path: x\n    enabeld: false\n")
    with pytest.raises(ConfigError) as err:
        HubContext.from_config(path)
    assert f"{path} line 5: unknown key 'sources.g.enabeld'" in str(err.value)
    assert "did you mean 'enabled'?" in str(err.value)


def test_declared_connector_options_pass(tmp_path: Path) -> None:
    from hub.context import HubContext

    path = write(tmp_path, "sources:\n  population: {connector: population, url: 'sqlite:///p.db', batch_size: 10,"
                           " settle_seconds: 0, schedule: null, enabled: true}\n")
    spec, connector = HubContext.from_config(path).source("population")
    assert connector.options is not None and spec.options == {"url": "sqlite:///p.db", "batch_size": 10,
                                                               "settle_seconds": 0}
