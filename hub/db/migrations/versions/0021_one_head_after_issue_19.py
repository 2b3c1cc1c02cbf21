"""one head: the address book of placing (0015) and the person page index (0019)

Revision ID: 0021
Revises: 0015, 0019
Create Date: 2026-12-06 09:15:00

Both were made side by side from 0014; this joins them so a store has one head again.
"""

from collections.abc import Sequence

revision: str = "0021"
down_revision: str | Sequence[str] | None = ("0015", "0019")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
