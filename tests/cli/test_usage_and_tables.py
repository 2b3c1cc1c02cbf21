"""Issue 18 items 6 and 7: usage errors behave like click's; listings never cut what a person copies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def hub(*args: str, cwd: Path | None = None, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return subprocess.run([str(Path(sys.executable).with_name("hub")), *args], capture_output=True, text=True, check=False,
                          cwd=cwd, env={**env, "COLUMNS": str(columns)}, timeout=120)


@pytest.mark.parametrize(("args", "says"), [
    (["nosuchcmd"], "No such command 'nosuchcmd'"),
    (["sync", "--bogus"], "No such option: --bogus"),
    (["check"], "Missing argument"),
    (["quarantine", "show"], "Missing argument"),
    (["sync"], "name one source or pass --all"),
])
def test_usage_errors_print_the_usage_and_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    proc = hub(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Usage: hub" in proc.stderr and says in proc.stderr
    assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr


def test_plugins_piped_is_plain_and_whole() -> None:
    proc = hub("plugins", columns=80)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "…" not in proc.stdout and not any(ch in proc.stdout for ch in "┃━│─")
    registry = [line for line in lines if "grid-registry" in line.split()]  # what `| grep grid-registry` finds
    assert registry, proc.stdout
    header = lines[0].split()
    assert header[:2] == ["plugin", "distribution"]
    as_json = json.loads(hub("plugins", "--json").stdout)
    for info in as_json:  # every connector name is there whole, on its plugin's one line
        for name in info["connectors"]:
            assert any(name in line.split() or f"{name}," in line.split() for line in lines), name


def test_every_listing_has_json() -> None:
    from typer.main import get_command

    from hub.cli import app

    root = get_command(app)
    listings = {("plugins",), ("runs",), ("grids",)}

    def walk(group, path):  # type: ignore[no-untyped-def]
        for name, cmd in getattr(group, "commands", {}).items():
            here = (*path, name)
            if hasattr(cmd, "commands"):
                yield from walk(cmd, here)
            elif name in ("list", "report", "audit") or here in listings:
                yield here, cmd

    found = dict(walk(root, ()))
    assert ("quarantine", "list") in found and ("keys", "list") in found
    lacking = [" ".join(path) for path, cmd in found.items()
               if not any("--json" in getattr(p, "opts", ()) for p in cmd.params)]
    assert not lacking, f"listings without --json: {lacking}"
