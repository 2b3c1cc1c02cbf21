"""Schema migrations (Alembic), run by ``hub init``/``hub db upgrade`` and before every stage."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hub.db.heads import script_heads, stored_revisions
from hub.db.session import get_engine, ping

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    engine = get_engine(url)
    ping(engine)
    cfg = alembic_config(url)
    from alembic import command

    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(url: str, revision: str = "base") -> None:
    engine = get_engine(url)
    cfg = alembic_config(url)
    from alembic import command

    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revisions(url: str) -> set[str]:
    """The store's revision(s), as Alembic's MigrationContext reads them (hub.db.heads: no Alembic import)."""
    return stored_revisions(url)


def ensure_current(url: str) -> None:
    """Upgrade when the store is behind; cheap when it is already at the head(s)."""
    ping(get_engine(url))
    heads = script_heads()
    if heads is not None and current_revisions(url) == heads:
        return  # at the head(s): Alembic is not even imported
    from alembic.script import ScriptDirectory

    if current_revisions(url) != set(ScriptDirectory.from_config(alembic_config(url)).get_heads()):
        upgrade(url)
