"""A small synthetic county per test module, driven through the real `hub` command in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.synth import generate

Hub = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def synth_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-county") / "county"
    generate(out, seed=11, residents=400, days=1)
    return out


@pytest.fixture
def county(synth_county: Path, tmp_path: Path) -> Path:
    """A fresh copy: each test gets its own store, landing zone and files to break."""
    folder = tmp_path / "county"
    shutil.copytree(synth_county, folder)
    return folder


def run_hub(folder: Path, *args: str, env: dict[str, str] | None = None,
            columns: int = 80) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PUBLIC_SECURITY_TOKEN"}
    return subprocess.run([str(Path(sys.executable).with_name("hub")), "--config", str(folder / "hub.yaml"), *args],
                          capture_output=True, text=True, check=False, cwd=folder, timeout=600,
                          env={**base, "COLUMNS": str(columns), **(env or {})})


@pytest.fixture
def hub() -> Hub:
    return run_hub


def runs_json(folder: Path) -> list[dict]:
    proc = run_hub(folder, "runs", "--json", "--limit", "100")
    assert proc.returncode == 0, proc.stderr
    return [r for r in json.loads(proc.stdout) if r["stream"] is None]
