"""one head: quarantine scope, residence, console, privacy, warnings, county partitions

Revision ID: 0014
Revises: 0006, 0007, 0008, 0010, 0012, 0013
Create Date: 2026-12-06 06:35:00

Six changes were made side by side from 0005; this joins them so a store has one head again.
"""

from collections.abc import Sequence

revision: str = "0014"
down_revision: str | Sequence[str] | None = ("0006", "0007", "0008", "0010", "0012", "0013")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
