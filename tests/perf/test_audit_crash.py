"""The audit is written in batches off the request path, yet a server killed outright (kill -9)
loses no record: every answered request is in the audit log once `hub serve` starts again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from hub.api.keys import create_key
from hub.db.migrate import upgrade
from hub.db.models import AuditEntry
from hub.db.session import get_engine, transaction

HUB = str(Path(sys.executable).with_name("hub"))


def _serve(config: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "HUB_CONFIG": str(config)}
    proc = subprocess.Popen([HUB, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            return proc
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "hub serve did not start"
            time.sleep(0.2)


def _audited(url: str, marker: str) -> list[tuple[str, str | None]]:
    with transaction(url) as s:
        return list(s.execute(select(AuditEntry.query, AuditEntry.client)
                              .where(AuditEntry.query.like(f"%{marker}%"))).tuples())


def test_a_killed_server_loses_no_audit_record(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text("database: sqlite:///var/hub.db\nlanding: var/landing\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'var' / 'hub.db'}"
    upgrade(url)
    with transaction(url) as s:
        key = create_key(s, "app", ["read:people"])
    get_engine(url).dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = _serve(tmp_path / "hub.yaml", port)
    headers = {"Authorization": f"Bearer {key}"}
    sent = 60
    try:
        with httpx.Client(headers=headers, timeout=10) as client:
            for i in range(sent):
                r = client.get(f"http://127.0.0.1:{port}/persons", params={"limit": str(1 + i)})
                assert r.status_code == 200
        # killed at once: the batch of the last half second was never written to the store
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with transaction(url) as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.route == "/persons"))
    assert before < sent  # the kill did catch rows in flight (else this test proves nothing)
    journal = tmp_path / "var" / "landing" / "_audit"
    assert oct(journal.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in journal.iterdir())

    proc = _serve(tmp_path / "hub.yaml", port)  # the next start writes what the journal holds
    try:
        rows = _audited(url, "limit=")
        limits = sorted(int(q.split("=")[1]) for q, _ in rows)
        assert limits == list(range(1, sent + 1))  # every request once: none lost, none doubled
        assert {c for _, c in rows} == {"127.0.0.1"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with transaction(url) as s:  # a clean stop writes its own rows and leaves no journal behind
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.route == "/persons")) == sent
    assert [p.name for p in journal.iterdir()] == []
