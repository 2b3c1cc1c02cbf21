"""quarantine: field-scoped entries, one open entry per problem; run ledger counts withheld fields

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=8), server_default="record", nullable=False))
        batch_op.add_column(sa.Column("column_name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("raw_hash", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("seen_run_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("run_stream", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withheld", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("run_stream", schema=None) as batch_op:
        batch_op.drop_column("withheld")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_column("seen_run_id")
        batch_op.drop_column("raw_hash")
        batch_op.drop_column("column_name")
        batch_op.drop_column("scope")
