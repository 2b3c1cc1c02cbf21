"""gridhub plugin: the population registry (legacy-systems.md §1), read from any SQLAlchemy database."""

from pathlib import Path

from hub.plugins import hookimpl
from hub_population.connector import PopulationConnector

CONTRACTS = Path(__file__).parent / "contracts"


@hookimpl
def register_connectors(register):  # type: ignore[no-untyped-def]
    register(PopulationConnector())


@hookimpl
def register_contract_paths(register):  # type: ignore[no-untyped-def]
    register(CONTRACTS)
