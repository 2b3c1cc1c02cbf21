"""The same Alembic migrations run up and down on SQLite and PostgreSQL."""

from sqlalchemy import inspect

import hub.db.models  # noqa: F401
from hub.db.base import Base
from hub.db.migrate import current_revisions, downgrade, upgrade
from hub.db.session import get_engine


def test_migrations_up_and_down(store_url: str) -> None:
    upgrade(store_url)
    engine = get_engine(store_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables, set(Base.metadata.tables) - tables
    assert current_revisions(store_url)
    downgrade(store_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(store_url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_one_head() -> None:
    """Branches made side by side are merged before they land: a store has one schema version."""
    from alembic.script import ScriptDirectory

    from hub.db.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: add a merge revision"


def test_models_match_the_migrations(store_url: str) -> None:
    """A model change without a migration fails here (autogenerate finds no difference)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    upgrade(store_url)
    with get_engine(store_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], diff
