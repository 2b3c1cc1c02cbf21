"""Issue 18 item 10: person tags are documented, and the API refuses an unknown tag with the known ones."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from hub.resolve.tags import PERSON_TAGS
from tests.cli.conftest import Hub
from tests.cli.test_serve import free_port, read_until

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_documents_every_person_tag() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Person tags"):]
    for tag in PERSON_TAGS:
        assert f"`{tag}`" in section, tag


def test_unknown_tag_is_refused_with_the_known_ones(county: Path, hub: Hub) -> None:
    assert hub(county, "sync", "grid-registry").returncode == 0
    assert hub(county, "sync", "population").returncode == 0
    derived = {t for (t,) in sqlite3.connect(county / "var" / "hub.db").execute("SELECT DISTINCT tag FROM person_tag")}
    assert derived and derived <= set(PERSON_TAGS), derived - set(PERSON_TAGS)  # every tag resolve writes is known
    created = hub(county, "keys", "create", "--name", "app", "--scopes", "read:people")
    assert created.returncode == 0, created.stderr
    key = created.stdout.split()[0]
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("hub")), "--config", str(county / "hub.yaml"),
                             "serve", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1, env={k: v for k, v in os.environ.items() if not k.startswith("HUB_")})
    try:
        read_until(proc, "Uvicorn running")
        headers = {"Authorization": f"Bearer {key}"}
        base = f"http://127.0.0.1:{port}"
        bad = httpx.get(f"{base}/persons", params={"tag": "eldery"}, headers=headers, timeout=10)
        assert bad.status_code == 400
        detail = bad.json()["detail"]
        assert "unknown tag 'eldery'" in detail and all(t in detail for t in PERSON_TAGS)
        good = httpx.get(f"{base}/persons", params={"tag": "elderly"}, headers=headers, timeout=10)
        assert good.status_code == 200 and good.json()["items"], good.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
