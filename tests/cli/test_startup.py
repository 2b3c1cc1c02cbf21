"""Issue 19: every row of the county table is a whole `hub` command, so start-up is paid each time.

`hub --help` and every command's own `--help` must not load the pipeline (pandas, pyarrow, Great
Expectations, Splink, DuckDB, the API, SQLAlchemy's ORM and the store's models): those belong to
the commands that use them. Each check runs in a fresh interpreter, since this test process has
long since imported all of them. Timings are not asserted here (they live in bench/bench_startup.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: modules only a command's own work needs; none of them may load to parse the command line or show help
HEAVY = ("pandas", "pyarrow", "numpy", "great_expectations", "splink", "duckdb", "fastapi", "starlette",
         "uvicorn", "sqlalchemy", "alembic", "shapely", "openpyxl", "xlsxwriter", "jinja2", "httpx",
         "hub.db.models", "hub.stages", "hub.resolve", "hub.quality", "hub.api", "hub.context")

#: run in a fresh interpreter: the `hub` entry point with the given arguments, then the loaded modules on stderr
ENTRY = """
import json, sys
sys.argv = ["hub", *json.loads(sys.argv[1])]
from hub.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}) + "\\n")
"""


def loaded_by(code: str, *args: str, cwd: Path | None = None) -> tuple[object, set[str], str]:
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(list(args))], capture_output=True, text=True,
                          check=False, timeout=120, cwd=cwd)
    marker = [line for line in proc.stderr.splitlines() if line.startswith("MODULES ")]
    assert marker, proc.stderr
    found = json.loads(marker[-1].removeprefix("MODULES "))
    return found["code"], set(found["modules"]), proc.stdout


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_importing_the_cli_loads_no_pipeline() -> None:
    _, modules, _ = loaded_by("import sys, json\nimport hub.cli\n"
                              "sys.stderr.write('MODULES ' + json.dumps({'code': 0, 'modules': sorted(sys.modules)}))")
    assert "hub.cli" in modules
    assert heavy_in(modules) == []


@pytest.mark.parametrize("args", [
    ("--help",),
    ("sync", "--help"),
    ("runs", "--help"),
    ("ledger", "export", "--help"),
    ("quarantine", "--help"),
    ("serve", "--help"),
])
def test_help_loads_no_pipeline(args: tuple[str, ...], tmp_path: Path) -> None:
    code, modules, out = loaded_by(ENTRY, *args, cwd=tmp_path)
    assert code == 0
    assert "Usage:" in out  # the help was really shown, not an error
    assert heavy_in(modules) == []


def test_a_usage_error_loads_no_pipeline(tmp_path: Path) -> None:
    """`hub sync` with neither a source nor --all is refused before anything is read."""
    code, modules, _ = loaded_by(ENTRY, "--config", str(tmp_path / "hub.yaml"), "sync", cwd=tmp_path)
    assert code == 2
    assert heavy_in(modules) == []


def test_the_context_loads_no_dataframes() -> None:
    """The context is built by every command that reads hub.yaml: it must not pull pandas or pyarrow itself."""
    _, modules, _ = loaded_by("import sys, json\nimport hub.context\n"
                              "sys.stderr.write('MODULES ' + json.dumps({'code': 0, 'modules': sorted(sys.modules)}))")
    assert "hub.context" in modules
    assert [m for m in heavy_in(modules) if m != "hub.context"] == []


def test_a_store_replaced_after_the_first_check_is_brought_up_again(tmp_path: Path) -> None:
    """`hub sync --all` asks for the store per source; only the first reads the migrations, yet a store
    deleted in between (or downgraded) gets its schema back, as it did when every call migrated."""
    from hub.context import HubContext
    from hub.db.migrate import current_revisions, downgrade
    from hub.db.session import get_engine

    (tmp_path / "hub.yaml").write_text(f"database: sqlite:///{tmp_path}/hub.db\nlanding: {tmp_path}/landing\n"
                                       "sources: {}\n", encoding="utf-8")
    ctx = HubContext.from_config(tmp_path / "hub.yaml")
    ctx.ensure_store()
    heads = current_revisions(ctx.db_url)
    assert heads
    downgrade(ctx.db_url, "base")
    ctx.ensure_store()
    assert current_revisions(ctx.db_url) == heads
    get_engine(ctx.db_url).dispose()
    (tmp_path / "hub.db").unlink()
    ctx.ensure_store()
    assert current_revisions(ctx.db_url) == heads
