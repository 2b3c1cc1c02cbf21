"""The migrations' head revision(s) and a store's revision(s), read without importing Alembic.

Why: every command that touches the store confirms it is at the head(s) first, and Alembic's script
machinery (Alembic + Mako, ~0.15 CPU s) was imported only to learn that it already was (issue 19: a
changed row in <= 2 s, a command with nothing new in <= 3 s). The heads are read from the scripts'
own ``revision``/``down_revision`` lines; a script written another way makes :func:`script_heads`
answer None and the caller asks Alembic (tests/db/test_heads.py checks both agree).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sqlalchemy import text

from hub.db.session import get_engine

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_ASSIGNED = {name: re.compile(rf"^{name}\s*(?::[^=\n]*)?=\s*(.+?)\s*(?:#.*)?$", re.M)
             for name in ("revision", "down_revision")}


def script_heads(folder: Path = VERSIONS) -> frozenset[str] | None:
    """Revisions no other script names as its down revision; None when a script cannot be read so."""
    revisions: set[str] = set()
    below: set[str] = set()
    for path in sorted(folder.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        found = {name: rx.search(source) for name, rx in _ASSIGNED.items()}
        if found["revision"] is None or found["down_revision"] is None:
            return None
        try:
            revision = ast.literal_eval(found["revision"].group(1))
            down = ast.literal_eval(found["down_revision"].group(1))
        except (ValueError, SyntaxError):
            return None  # e.g. a tuple written over several lines
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        below.update([down] if isinstance(down, str) else list(down or ()))
    return frozenset(revisions - below) if revisions else None


def stored_revisions(url: str) -> set[str]:
    """What the store's ``alembic_version`` table holds (empty: a store never migrated)."""
    with get_engine(url).connect() as conn:
        try:
            return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        except Exception:  # no such table yet
            conn.rollback()
            return set()
