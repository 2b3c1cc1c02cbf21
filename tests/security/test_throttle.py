"""200 bad keys from one address in a burst: a few 401s, then 429 with Retry-After, every one audited."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import select

from hub.api.keys import create_key
from hub.api.main import create_app
from hub.api.state import ApiSettings
from hub.db.migrate import upgrade
from hub.db.models import AuditEntry
from hub.db.session import get_engine, transaction
from hub.privacy import Vault


def test_failed_authentication_is_throttled_per_client_address(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    with transaction(url) as s:
        good = create_key(s, "app", ["read:grids"])
    app = create_app(ApiSettings(url, Vault("throttle-test")))  # the defaults a county runs with
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.get("/grids", headers={"Authorization": f"Bearer {good}"}).status_code == 200
            statuses, waits = [], []
            for i in range(200):
                r = client.get("/grids", headers={"Authorization": f"Bearer ghk_{i:08x}.guess{i}"})
                statuses.append(r.status_code)
                if r.status_code == 429:
                    waits.append(int(r.headers["Retry-After"]))
                    assert r.headers["content-type"].startswith("application/problem+json")
            allowed = app.state.hub.settings.auth_failures_allowed
            assert statuses[:allowed] == [401] * allowed
            assert set(statuses[allowed:]) == {429}, statuses
            assert min(waits) >= 1
            # the lockout holds for the address whatever key it sends next, until Retry-After has passed
            assert client.get("/grids", headers={"Authorization": f"Bearer {good}"}).status_code == 429
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.hub.engine.dispose()
    with transaction(url) as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.status.in_((401, 429)))))
    assert len(rows) == 201
    assert {r.client for r in rows} == {"127.0.0.1"}
    assert all(r.key_name and r.key_name.startswith("sent:ghk_") for r in rows if r.status == 401)
    get_engine(url).dispose()
