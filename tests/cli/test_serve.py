"""Issue 18 item 8: `hub serve` says where it serves (API, docs, console) and logs each request."""

from __future__ import annotations

import selectors
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_until(proc: subprocess.Popen[str], needle: str, seconds: float = 60) -> str:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    seen, deadline = "", time.monotonic() + seconds
    while needle not in seen and time.monotonic() < deadline:
        if sel.select(timeout=0.5):
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
    return seen


def test_serve_prints_its_urls_and_logs_requests(tmp_path: Path) -> None:
    hub = str(Path(sys.executable).with_name("hub"))
    assert subprocess.run([hub, "init"], cwd=tmp_path, capture_output=True, check=False).returncode == 0
    port = free_port()
    proc = subprocess.Popen([hub, "serve", "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    try:
        banner = read_until(proc, "Uvicorn running")
        base = f"http://127.0.0.1:{port}"
        assert f"gridhub read API on {base}" in banner
        assert f"API docs:  {base}/docs" in banner
        assert f"console:   {base}/console" in banner
        with urllib.request.urlopen(f"{base}/health", timeout=10) as response:
            assert response.status == 200
        logged = read_until(proc, "/health")
        assert '"GET /health HTTP/1.1" 200' in logged, logged
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_refuses_a_store_its_key_cannot_open(tmp_path: Path) -> None:
    """A wrong HUB_SECRET_KEY is one line at start-up, not a 500 on the first person read."""
    import os

    from hub.context import HubContext
    from hub.db.models import Person
    from hub.db.session import transaction

    hub = str(Path(sys.executable).with_name("hub"))
    assert subprocess.run([hub, "init"], cwd=tmp_path, capture_output=True, check=False).returncode == 0
    ctx = HubContext.from_config(tmp_path / "hub.yaml")
    ctx.ensure_store()
    with transaction(ctx.db_url) as session:
        session.add(Person(id="P-1", name="张三", citizen_id_enc=ctx.vault.encrypt("110101194912310011")))
    env = {**os.environ, "HUB_SECRET_KEY": "another-install's-secret"}
    out = subprocess.run([hub, "serve", "--port", str(free_port())], cwd=tmp_path, capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode != 0
    assert "secret key does not match this store" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout and "Uvicorn running" not in out.stdout
