"""Issue 18, done when: the README's walk-through ("Connect your county's systems"), typed into a
real 80-column terminal (a pseudo-terminal), shows no truncated id and no traceback.

The county's systems are a synthetic county (its files, its SQLite registry, its public-security API
served by `hub synth serve`); the hub's own folder starts empty and is set up by `hub init`, then
hub.yaml is filled in the way a person would: addresses written in, `enabled: true`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import httpx

from tests.cli.test_serve import free_port, read_until

HUB = str(Path(sys.executable).with_name("hub"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[=>()][0-9A-Za-z]?")
COLUMNS = 80


def in_terminal(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> tuple[int, str]:
    """Run a command with stdin/stdout/stderr on a pseudo-terminal of 80 columns; its screen text."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, COLUMNS, 0, 0))
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the command ended
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    rc = proc.wait(timeout=30)
    return rc, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r", "")


def fill_in(config: Path, county: Path, port: int) -> None:
    """What county IT does in the editor: each system's address, and `enabled: true`."""
    text = config.read_text(encoding="utf-8")
    text = text.replace("path: data/grids.geojson", f"path: {county / 'grids.geojson'}")
    text = text.replace('url: "mysql+pymysql://reader:PASSWORD@registry-db/renkou"',
                        f'url: "sqlite:///{county / "population.db"}"')
    for folder in ("civil-affairs", "fire-safety", "dispute-mediation"):
        text = text.replace(f"path: data/{folder}", f"path: {county / folder}")
    text = text.replace('base_url: "http://127.0.0.1:8765"', f'base_url: "http://127.0.0.1:{port}"')
    text = text.replace("enabled: false", "enabled: true")
    config.write_text(text, encoding="utf-8")


def test_readme_walkthrough_in_an_80_column_terminal(synth_county: Path, tmp_path: Path) -> None:
    county = tmp_path / "county"
    shutil.copytree(synth_county, county)
    home = tmp_path / "county-hub"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k not in ("COLUMNS", "LINES")}
    env |= {"TERM": "xterm-256color", "PUBLIC_SECURITY_TOKEN": "demo-token"}
    port = free_port()
    police = subprocess.Popen([HUB, "synth", "serve", "--data", str(county), "--token", "demo-token", "--port",
                               str(port), "--fail-rate", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    screens: dict[str, str] = {}
    try:
        walk = [["init"], ["fill-in"], ["check", "grid-registry"], ["check", "population"],
                ["check", "public-security"], ["discover", "population"], ["sync", "grid-registry"],
                ["sync", "--all"], ["runs"], ["quality", "report"], ["quarantine", "list", "--source", "population"],
                ["keys", "create", "--name", "grid-app", "--scopes", "read:grids,read:people"], ["keys", "list"],
                ["plugins"]]
        for step in walk:
            if step == ["fill-in"]:
                fill_in(home / "hub.yaml", county, port)
                continue
            rc, screen = in_terminal([HUB, *step], home, env)
            screens[" ".join(step)] = screen
            assert rc == 0, f"`hub {' '.join(step)}` exited {rc}:\n{screen}"
        api_port = free_port()
        serve = subprocess.Popen([HUB, "serve", "--port", str(api_port)], cwd=home, env=env, text=True, bufsize=1,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            screens["serve"] = read_until(serve, "Uvicorn running")
            assert httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=10).status_code == 200
        finally:
            serve.terminate()
            serve.wait(timeout=20)
    finally:
        police.terminate()
        police.wait(timeout=20)

    everything = "\n".join(screens.values())
    assert "Traceback" not in everything and "error:" not in everything
    assert "…" not in everything, "something was cut short"

    def words(command: str) -> set[str]:
        return set(re.split(r"[\s│┃|,;()]+", screens[command]))

    # every id, key and name a person copies from these screens is there whole
    plain = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}

    def as_json(*args: str) -> object:
        return json.loads(subprocess.run([HUB, *args, "--json"], cwd=home, env=plain, capture_output=True,
                                         text=True, check=True).stdout)

    runs = as_json("runs")
    assert {r["source"] for r in runs} >= {"grid-registry", "population", "public-security", "fire-safety"}
    shown = words("runs")
    for run in runs:
        assert run["run_id"] in shown and run["source"] in shown, run
    for row in as_json("quarantine", "list", "--source", "population"):
        assert str(row["id"]) in words("quarantine list --source population")
        assert row["run_id"] in words("quarantine list --source population")
        for reason in row["reasons"]:
            assert reason["check"] in screens["quarantine list --source population"]
    for key in as_json("keys", "list"):
        assert key["name"] in words("keys list") and key["prefix"] in words("keys list")
    for plugin in as_json("plugins"):
        for connector in plugin["connectors"]:
            assert connector in words("plugins")
    for stream in as_json("quality", "report"):
        assert stream["stream"] in words("quality report")
    assert "sync summary" in screens["sync --all"] and "FAILED" not in screens["sync --all"]
    for stage in ("validating", "loading", "resolve: entities"):  # progress covers every stage
        assert stage in screens["sync --all"], stage
    assert screens["sync --all"].count("resolve entities (") == 1  # the resolve summary, once
    assert "console:" in screens["serve"] and "/docs" in screens["serve"]
