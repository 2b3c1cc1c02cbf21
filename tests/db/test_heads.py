"""A store at the head(s) is confirmed without Alembic; the heads read from the scripts are Alembic's."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from hub.db.heads import VERSIONS, script_heads
from hub.db.migrate import alembic_config, current_revisions, ensure_current


def test_heads_read_from_the_scripts_are_alembics() -> None:
    assert script_heads() == frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def test_a_new_migration_moves_the_head_and_an_unreadable_script_defers_to_alembic(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(VERSIONS, tmp_path / "versions"))
    (head,) = script_heads(folder) or {None}
    (folder / "0099_next.py").write_text(f'revision: str = "0099"\ndown_revision: str | None = "{head}"\n',
                                         encoding="utf-8")
    assert script_heads(folder) == {"0099"}
    (folder / "0100_branch.py").write_text(f'revision = "0100"\ndown_revision = (\n    "{head}",\n)\n',
                                           encoding="utf-8")
    assert script_heads(folder) is None  # written over lines: Alembic decides


def test_a_store_at_head_is_confirmed_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    ensure_current(url)  # a new store: migrated (through Alembic)
    assert current_revisions(url) == script_heads()
    code = ("import sys, json\nfrom hub.db.migrate import ensure_current, current_revisions\n"
            f"ensure_current({url!r})\n"
            "print(json.dumps({'alembic': 'alembic' in sys.modules, 'revs': sorted(current_revisions(" + repr(url) + "))}))")
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert out == {"alembic": False, "revs": sorted(script_heads() or ())}
