"""Schema migrations (Alembic), run by ``hub init``/``hub db upgrade`` and before every stage."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub.db.session import get_engine, ping

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    engine = get_engine(url)
    ping(engine)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(url: str, revision: str = "base") -> None:
    engine = get_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revisions(url: str) -> set[str]:
    with get_engine(url).connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def ensure_current(url: str) -> None:
    """Upgrade when the store is behind; cheap when it is already at the head(s)."""
    ping(get_engine(url))
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    if current_revisions(url) != heads:
        upgrade(url)
