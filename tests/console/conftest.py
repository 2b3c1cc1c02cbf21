"""One real county for the console's tests (built once per session), served over loopback per module."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

sys.path.insert(0, str(Path(__file__).parent))

from console_county import PASSWORDS, County, build  # noqa: E402

SECRET = "test-secret-key"  # the same as the root conftest gives every test


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> County:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", os.environ.get("HUB_SECRET_KEY", SECRET))
        return build(tmp_path_factory.mktemp("console-county"))


@dataclass
class Served:
    url: str
    county: County
    state: object

    def login(self, role: str) -> httpx.Client:
        """An HTTP client holding a live session of the user with that role."""
        client = httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)
        page = client.get("/console/login")
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = client.post("/console/login", data={"username": role, "password": PASSWORDS[role], "csrf": token,
                                                "next": "/console/"})
        assert r.status_code == 303, r.text
        return client

    def flush_audit(self) -> None:
        self.state.audit.flush()  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(county: County) -> Iterator[Served]:
    from hub.api.main import create_app

    app = create_app(county.ctx)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield Served(url=f"http://127.0.0.1:{port}", county=county, state=app.state.hub)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.hub.engine.dispose()
