"""gridhub plugin: the public-security HTTP JSON API (legacy-systems.md §4)."""

from pathlib import Path

from hub.plugins import hookimpl
from hub_public_security.connector import PublicSecurityConnector

CONTRACTS = Path(__file__).parent / "contracts"


@hookimpl
def register_connectors(register):  # type: ignore[no-untyped-def]
    register(PublicSecurityConnector())


@hookimpl
def register_contract_paths(register):  # type: ignore[no-untyped-def]
    register(CONTRACTS)
