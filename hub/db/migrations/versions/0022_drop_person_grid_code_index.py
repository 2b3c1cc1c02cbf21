"""person: the index on grid_code alone dropped (two composite indexes lead with it)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 16:30:00

``ix_person_grid_birth`` (grid_code, birth_date) and ``ix_person_grid_id`` (grid_code, id, migration
0019) both answer a lookup by grid code; the index on grid_code alone only cost every person insert and
every placing pass one more index to maintain or rebuild (the places step sets grid_code on almost every
person of a county).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_person_grid_code", table_name="person")


def downgrade() -> None:
    op.create_index("ix_person_grid_code", "person", ["grid_code"])
