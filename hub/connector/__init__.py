"""Connector base (Airbyte CDK's split): a Connector checks and lists Streams; a Stream reads."""

from hub.connector.base import (
    OP_COLUMN,
    REASON_COLUMN,
    UNREADABLE_COLUMN,
    Batch,
    Connector,
    SourceSpec,
    Stream,
)

__all__ = ["OP_COLUMN", "REASON_COLUMN", "UNREADABLE_COLUMN", "Batch", "Connector", "SourceSpec", "Stream"]
