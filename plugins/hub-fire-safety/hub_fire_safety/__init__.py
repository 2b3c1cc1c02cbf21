"""gridhub plugin: the fire-safety supervision system (legacy-systems.md §3), daily CSV delta folders."""

from pathlib import Path

from hub.plugins import hookimpl
from hub_fire_safety.connector import FireSafetyConnector

CONTRACTS = Path(__file__).parent / "contracts"


@hookimpl
def register_connectors(register):  # type: ignore[no-untyped-def]
    register(FireSafetyConnector())


@hookimpl
def register_contract_paths(register):  # type: ignore[no-untyped-def]
    register(CONTRACTS)
