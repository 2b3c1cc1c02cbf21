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
