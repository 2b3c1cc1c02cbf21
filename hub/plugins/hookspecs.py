"""The hooks a gridhub plugin may implement. Every hook here is documented in the README
(a test fails when one is not), and `check_pending()` rejects misspelt implementations.

Hooks follow llm's ``register_*(register)`` style: the plugin hands objects to a callback
and the core validates them, so a plugin cannot corrupt the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    from hub.connector.base import Connector
    from hub.quality.checks import DomainCheck

hookspec = pluggy.HookspecMarker("hub")
hookimpl = pluggy.HookimplMarker("hub")


@hookspec
def register_connectors(register: Callable[[Connector], None]) -> None:
    """Register connectors: call ``register(MyConnector())`` once per department system type.

    The connector's ``name`` is what a source's ``connector:`` key in hub.yaml refers to.
    """


@hookspec
def register_contract_paths(register: Callable[[Path], None]) -> None:
    """Register folders holding ODCS contracts (``<source>.<stream>.odcs.yaml``) this plugin ships."""


@hookspec
def register_checks(register: Callable[[DomainCheck], None]) -> None:
    """Register domain checks (e.g. citizen ID check character) that contracts can name."""
