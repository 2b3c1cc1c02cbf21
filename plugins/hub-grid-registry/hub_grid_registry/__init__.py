"""gridhub plugin: the grid registry (legacy-systems.md §0), the hub's own reference source."""

from pathlib import Path

from hub.plugins import hookimpl
from hub_grid_registry.connector import GridRegistryConnector

CONTRACTS = Path(__file__).parent / "contracts"


@hookimpl
def register_connectors(register):  # type: ignore[no-untyped-def]
    register(GridRegistryConnector())


@hookimpl
def register_contract_paths(register):  # type: ignore[no-untyped-def]
    register(CONTRACTS)
