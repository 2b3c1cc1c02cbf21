"""residence and registration grids of a person; a building's village

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06 05:00:00

A person gets the grid they are registered in beside the one they live in (人户分离), with the
evidence for the residence; a building gets its village (a house is its village and its number).
Building keys change form (``<village>|<house>``): the next resolve re-keys every building.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registered_grid_code", sa.String(length=15), nullable=True))
        batch_op.add_column(sa.Column("residence_basis", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_person_registered_grid_code"), ["registered_grid_code"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_person_registered_grid_code_grid_cell"), "grid_cell",
                                    ["registered_grid_code"], ["code"])
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.add_column(sa.Column("village_code", sa.String(length=15), nullable=True))
        batch_op.create_index(batch_op.f("ix_building_village_code"), ["village_code"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_building_village_code_grid_cell"), "grid_cell",
                                    ["village_code"], ["code"])


def downgrade() -> None:
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_building_village_code_grid_cell"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_building_village_code"))
        batch_op.drop_column("village_code")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_person_registered_grid_code_grid_cell"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_person_registered_grid_code"))
        batch_op.drop_column("residence_basis")
        batch_op.drop_column("registered_grid_code")
