"""gridhub plugin: the dispute-mediation platform (legacy-systems.md §5), an append-only JSONL event log."""

from pathlib import Path

from hub.plugins import hookimpl
from hub_dispute_mediation.connector import DisputeMediationConnector

CONTRACTS = Path(__file__).parent / "contracts"


@hookimpl
def register_connectors(register):  # type: ignore[no-untyped-def]
    register(DisputeMediationConnector())


@hookimpl
def register_contract_paths(register):  # type: ignore[no-untyped-def]
    register(CONTRACTS)
