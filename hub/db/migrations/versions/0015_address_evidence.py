"""address evidence: which records and entities name which house (places follow the change)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 08:15:00

The places step keeps, for every record or entity address it reads, the house it names, so a
change re-places only the houses it touches (issue 19). Filled by the next full places pass: a
store without rows here gets one (hub.resolve.placescope).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "address_evidence",
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=160), nullable=False),
        sa.Column("village", sa.String(length=15), nullable=True),
        sa.Column("house", sa.String(length=200), nullable=False),
        sa.Column("joined", sa.String(length=15), nullable=True),
        sa.PrimaryKeyConstraint("kind", "source", "ref", name=op.f("pk_address_evidence")),
    )
    op.create_index("ix_address_evidence_house", "address_evidence", ["house", "village"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_address_evidence_house", table_name="address_evidence")
    op.drop_table("address_evidence")
