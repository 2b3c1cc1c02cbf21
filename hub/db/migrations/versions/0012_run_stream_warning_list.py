"""run ledger: what each warning was (run_stream.warning_list), for the quality report

Revision ID: 0012
Revises: 0005
Create Date: 2026-12-06 05:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("run_stream", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warning_list", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run_stream", schema=None) as batch_op:
        batch_op.drop_column("warning_list")
