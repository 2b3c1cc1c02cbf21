"""Issue 18 item 5: `hub init` writes a complete, commented hub.yaml; `hub synth` says what to do next."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from hub.config import load_config
from hub.plugins import get_host

DEPARTMENTS = ("grid-registry", "population", "civil-affairs", "fire-safety", "public-security", "dispute-mediation")


def hub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).with_name("hub")), *args], capture_output=True, text=True,
                          check=False, cwd=cwd, timeout=300)


def test_init_writes_a_complete_commented_config(tmp_path: Path) -> None:
    proc = hub("init", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "hub.yaml"
    config = load_config(path)  # loads: every key is known
    assert set(config.sources) == set(DEPARTMENTS)
    assert all(s.enabled is False for s in config.sources.values())  # disabled until filled in
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert {"api", "landing_keep_days", "database", "landing", "secret_key_file"} <= set(raw)
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):  # a comment per setting: on the line or just above it
        text = line.strip()
        if not text or text.startswith("#") or text.startswith("connector:"):
            continue
        above = lines[number - 1].strip() if number else ""
        assert " # " in line or above.startswith("#"), f"hub.yaml line {number + 1} has no comment: {line!r}"
    connectors = get_host().connectors()
    for name, source in raw["sources"].items():  # every option a connector declares is shown
        declared = set(connectors[source["connector"]].options or {})
        assert declared <= set(source), (name, declared - set(source))
    # nothing is synced from an unfilled file: a clear line, not a run
    sync = hub("sync", "--all", cwd=tmp_path)
    assert sync.returncode != 0 and "no enabled sources" in sync.stderr


def test_synth_ends_with_how_to_use_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "county"
    proc = hub("synth", "--out", str(out), "--residents", "200", "--days", "0", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["out"] == str(out)  # stdout stays one JSON line for scripts
    assert f"--config {out / 'hub.yaml'}" in proc.stderr
    assert f"hub synth serve --data {out} --token demo-token --port 8765" in proc.stderr
    assert "export PUBLIC_SECURITY_TOKEN=demo-token" in proc.stderr
