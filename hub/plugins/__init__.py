"""The plugin host: one PluginManager("hub") loading the ``hub`` entry-point group.

Built-in parts (the core checks) are registered through the same entry-point group as any
third-party plugin, so there is one path, and it is tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

from hub.errors import ConfigError, HubError
from hub.plugins import hookspecs
from hub.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from hub.connector.base import Connector
    from hub.quality.checks import DomainCheck

__all__ = ["PluginHost", "PluginInfo", "get_host", "hookimpl"]

GROUP = "hub"


@dataclass
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    connectors: list[str] = field(default_factory=list)
    contract_paths: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


class PluginHost:
    """A typed facade over ``pm.hook`` (as tox does): callers never touch pluggy directly."""

    def __init__(self, *, load_entrypoints: bool = True) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        if load_entrypoints:
            try:
                self.pm.load_setuptools_entrypoints(GROUP)
            except Exception as exc:  # a broken third-party plugin must say which one
                raise HubError(f"failed to load a plugin from entry-point group {GROUP!r}: {exc}") from exc
        self.pm.check_pending()

    def register(self, plugin: object, name: str | None = None) -> str | None:
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        return name

    def unregister(self, plugin: object) -> None:
        self.pm.unregister(plugin)

    def connectors(self) -> dict[str, Connector]:
        from hub.connector.base import Connector

        found: dict[str, Connector] = {}

        def register(connector: Connector) -> None:
            if not isinstance(connector, Connector):
                raise HubError(f"plugin registered {connector!r}, which is not a hub Connector")
            if connector.name in found:
                raise HubError(f"two plugins register a connector named {connector.name!r}")
            found[connector.name] = connector

        self.pm.hook.register_connectors(register=register)
        return found

    def connector(self, name: str) -> Connector:
        connectors = self.connectors()
        try:
            return connectors[name]
        except KeyError:
            known = ", ".join(sorted(connectors)) or "none installed"
            raise ConfigError(f"unknown connector {name!r} (installed: {known})") from None

    def contract_paths(self) -> list[Path]:
        paths: list[Path] = []
        self.pm.hook.register_contract_paths(register=lambda p: paths.append(Path(p)))
        return paths

    def checks(self) -> dict[str, DomainCheck]:
        found: dict[str, DomainCheck] = {}

        def register(check: DomainCheck) -> None:
            found[check.name] = check

        self.pm.hook.register_checks(register=register)
        return found

    def describe(self) -> list[PluginInfo]:
        """Each plugin with its distribution, version and what it registers (``hub plugins``)."""
        dists = {id(p): d for p, d in self.pm.list_plugin_distinfo()}
        infos: list[PluginInfo] = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda np: np[0]):
            if plugin is None:
                continue
            dist = dists.get(id(plugin))
            info = PluginInfo(
                name=name,
                distribution=dist.metadata["name"] if dist else None,
                version=dist.version if dist else None,
            )
            _collect(plugin, info)
            infos.append(info)
        return infos


def _collect(plugin: object, info: PluginInfo) -> None:
    """Call one plugin's own hooks with collecting callbacks, to report what it registers."""
    if hasattr(plugin, "register_connectors"):
        plugin.register_connectors(register=lambda c: info.connectors.append(c.name))
    if hasattr(plugin, "register_contract_paths"):
        plugin.register_contract_paths(register=lambda p: info.contract_paths.append(str(p)))
    if hasattr(plugin, "register_checks"):
        plugin.register_checks(register=lambda c: info.checks.append(c.name))


@cache
def get_host() -> PluginHost:
    """The process-wide host; plugins are discovered once."""
    return PluginHost()

