"""The plugin host: discovery through entry points, in-process registration, loud misspellings."""

from __future__ import annotations

import re
from pathlib import Path

import pluggy
import pytest

from hub.connector import Connector, SourceSpec, Stream
from hub.errors import ConfigError
from hub.plugins import PluginHost, hookimpl, hookspecs

ROOT = Path(__file__).resolve().parents[1]


def test_installed_plugins_are_discovered_through_entry_points() -> None:
    host = PluginHost()
    infos = {i.name: i for i in host.describe()}
    assert infos["grid-registry"].distribution == "hub-grid-registry"
    assert "grid-registry" in infos["grid-registry"].connectors
    # built-ins come through the same entry-point group
    assert infos["core"].distribution == "gridhub"
    assert "grid-registry" in host.connectors()


class _DummyConnector(Connector):
    name = "dummy"

    def check(self, source: SourceSpec) -> None:
        return None

    def streams(self, source: SourceSpec) -> list[Stream]:
        return []


class _DummyPlugin:
    @hookimpl
    def register_connectors(self, register):  # type: ignore[no-untyped-def]
        register(_DummyConnector())


def test_in_process_plugin_registers_and_unregisters() -> None:
    host = PluginHost()
    plugin = _DummyPlugin()
    host.register(plugin, name="dummy")
    try:
        assert isinstance(host.connector("dummy"), _DummyConnector)
    finally:
        host.unregister(plugin)
    with pytest.raises(ConfigError, match="unknown connector 'dummy'"):
        host.connector("dummy")


class _MisspeltPlugin:
    @hookimpl
    def register_conectors(self, register):  # type: ignore[no-untyped-def]
        raise AssertionError("never called")


def test_misspelt_hook_fails_loudly() -> None:
    host = PluginHost()
    with pytest.raises(pluggy.PluginValidationError, match="register_conectors"):
        host.register(_MisspeltPlugin(), name="misspelt")


def test_a_plugin_registering_a_non_connector_is_refused() -> None:
    class Bad:
        @hookimpl
        def register_connectors(self, register):  # type: ignore[no-untyped-def]
            register(object())

    host = PluginHost()
    bad = Bad()
    host.register(bad, name="bad")
    try:
        with pytest.raises(Exception, match="not a hub Connector"):
            host.connectors()
    finally:
        host.unregister(bad)


def test_every_hook_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    hooks = [name for name in dir(hookspecs) if name.startswith("register_")]
    assert hooks
    for name in hooks:
        assert re.search(rf"`{name}\(", readme), f"hook {name} is not documented in README.md"


def test_every_plugin_folder_is_an_installable_package() -> None:
    import importlib.metadata as md

    for project in sorted((ROOT / "plugins").glob("hub-*/pyproject.toml")):
        dist = project.parent.name
        eps = [ep for ep in md.distribution(dist).entry_points if ep.group == "hub"]
        assert eps, f"{dist} registers no `hub` entry point"
        assert eps[0].value == dist.replace("-", "_"), f"{dist} should import as {dist.replace('-', '_')}"
