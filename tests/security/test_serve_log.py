"""`hub serve` logs every request line; a name asked for, an ID or a phone in a query never reaches the log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from hub.api.keys import create_key
from hub.db.migrate import upgrade
from hub.db.session import get_engine, transaction

HUB = str(Path(sys.executable).with_name("hub"))


def test_the_access_log_masks_personal_data_in_query_strings(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text("database: sqlite:///var/hub.db\nlanding: var/landing\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'var' / 'hub.db'}"
    upgrade(url)
    with transaction(url) as s:
        key = create_key(s, "app", ["read:people"])
    get_engine(url).dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "HUB_CONFIG": str(tmp_path / "hub.yaml")}
    proc = subprocess.Popen([HUB, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "hub serve did not start"
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}/persons"
        assert httpx.get(base, params={"name": "王芳"}, headers=headers).status_code == 200
        assert httpx.get(base, params={"citizen_id": "110105194912310021"}, headers=headers).status_code == 400
        assert httpx.get(base, params={"q": "13812345678"}, headers=headers).status_code == 400
    finally:
        proc.terminate()
        log, _ = proc.communicate(timeout=30)
    assert "GET /persons?" in log  # the requests are logged ...
    for secret in ("王芳", "%E7%8E%8B", "110105194912310021", "13812345678"):
        assert secret not in log, secret  # ... without what they asked for
    assert "name=%2A%2A%2A" in log
