"""province: every source record and link carries its county's division code; on PostgreSQL the
two largest tables (source_record, entity_link) are partitioned by it (LIST, one partition a county,
created when a county is first seen: hub.province.partitions; a DEFAULT partition holds the rest)

A partitioned table's primary key and unique constraints must hold the partition key, so on
PostgreSQL the primary key becomes (id, county_code) and both unique keys end in county_code. The
county code is a function of the source name (``130182.population``), so the unique keys mean what
they meant before. SQLite keeps one table; its unique keys gain the column too (same model).

Revision ID: 0013
Revises: 0005
Create Date: 2026-12-06 06:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (unique constraint name, its columns before, the other indexes: name -> columns)
TABLES = {
    "source_record": ("uq_source_record_key", ["source", "stream", "source_key"],
                      {"ix_source_record_changed": ["source", "stream", "last_run_id"]}),
    "entity_link": ("uq_entity_link_key", ["source", "stream", "source_key", "entity_type"],
                    {"ix_entity_link_entity": ["entity_type", "entity_id"]}),
}


PARTITION_SCHEMA = "county_partitions"  # hub.province.partitions.SCHEMA


def _county_code_from_source() -> str:
    # the same rule as hub.province.counties.county_of: a leading 6-digit code and a dot
    return ("CASE WHEN source ~ '^[0-9]{6}[.]' THEN substr(source, 1, 6) ELSE '' END"
            if op.get_bind().dialect.name == "postgresql" else
            "CASE WHEN source GLOB '[0-9][0-9][0-9][0-9][0-9][0-9].*' THEN substr(source, 1, 6) ELSE '' END")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, (uq, cols, indexes) in TABLES.items():
        op.add_column(table, sa.Column("county_code", sa.String(length=6), nullable=False, server_default=""))
        op.execute(f"UPDATE {table} SET county_code = {_county_code_from_source()}")
        if postgres:
            _rebuild_postgres(table, partitioned=True, uq=uq, uq_cols=[*cols, "county_code"], indexes=indexes)
        else:
            with op.batch_alter_table(table) as batch_op:
                batch_op.drop_constraint(uq, type_="unique")
                batch_op.create_unique_constraint(uq, [*cols, "county_code"])


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, (uq, cols, indexes) in TABLES.items():
        if postgres:
            _rebuild_postgres(table, partitioned=False, uq=uq, uq_cols=cols, indexes=indexes)
            op.drop_column(table, "county_code")
        else:
            with op.batch_alter_table(table) as batch_op:
                batch_op.drop_constraint(uq, type_="unique")
                batch_op.create_unique_constraint(uq, cols)
                batch_op.drop_column("county_code")
    if postgres:
        op.execute(f"DROP SCHEMA IF EXISTS {PARTITION_SCHEMA} CASCADE")


def _rebuild_postgres(table: str, partitioned: bool, uq: str, uq_cols: list[str],
                      indexes: dict[str, list[str]]) -> None:
    """Copy ``table`` into a (non-)partitioned twin of the same columns and defaults, keeping its id
    sequence, and give it back its constraint and index names."""
    new = f"{table}_rebuilt"
    by = " PARTITION BY LIST (county_code)" if partitioned else ""
    op.execute(f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS){by}")
    if partitioned:  # partitions live in a schema of their own: the public schema lists the model's tables
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {PARTITION_SCHEMA}")
        op.execute(f"CREATE TABLE {PARTITION_SCHEMA}.{table}_default PARTITION OF {new} DEFAULT")
    op.execute(f"INSERT INTO {new} SELECT * FROM {table}")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {new}.id")
    op.execute(f"DROP TABLE {table} CASCADE")  # with its partitions, when it had them
    op.execute(f"ALTER TABLE {new} RENAME TO {table}")
    pk = "id, county_code" if partitioned else "id"
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({pk})")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {uq} UNIQUE ({', '.join(uq_cols)})")
    for name, cols in indexes.items():
        op.execute(f"CREATE INDEX {name} ON {table} ({', '.join(cols)})")
