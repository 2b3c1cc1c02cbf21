"""privacy hardening: audit query/client/person count; special-population category encrypted

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-06 05:00:00

The category column becomes ``category_enc``. A migration holds no key, so existing values are carried
over as they were (readers take a value that is no token as written by an earlier version) and
``hub keys rotate-secret --keep-secret`` encrypts them; resolve writes new rows encrypted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("query", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("client", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("person_count", sa.Integer(), nullable=True))
    with op.batch_alter_table("special_status", schema=None) as batch_op:
        batch_op.alter_column("category", new_column_name="category_enc", existing_type=sa.String(length=32),
                              type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    op.execute("DELETE FROM special_status")  # ciphertexts do not fit the clear column: resolve rewrites them
    with op.batch_alter_table("special_status", schema=None) as batch_op:
        batch_op.alter_column("category_enc", new_column_name="category", existing_type=sa.Text(),
                              type_=sa.String(length=32), existing_nullable=False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("person_count")
        batch_op.drop_column("client")
        batch_op.drop_column("query")
