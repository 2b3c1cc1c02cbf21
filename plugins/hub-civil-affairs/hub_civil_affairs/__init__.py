"""gridhub plugin: civil affairs (legacy-systems.md §2), one full roster workbook a month."""

from pathlib import Path

from hub.plugins import hookimpl
from hub_civil_affairs.connector import CivilAffairsConnector

CONTRACTS = Path(__file__).parent / "contracts"


@hookimpl
def register_connectors(register):  # type: ignore[no-untyped-def]
    register(CivilAffairsConnector())


@hookimpl
def register_contract_paths(register):  # type: ignore[no-untyped-def]
    register(CONTRACTS)
