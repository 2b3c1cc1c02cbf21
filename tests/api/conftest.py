"""A specimen store on each backend, served by uvicorn on a loopback port, with one key per role."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from hub.api.keys import SCOPES, create_key, revoke_key
from hub.api.main import ApiSettings, create_app
from hub.api.specimen import Specimen, build_specimen
from hub.db.migrate import upgrade
from hub.db.models import Building, Event, GridCell, Household, Organization, Person
from hub.db.session import get_engine, transaction
from hub.privacy import Vault

RESIDENTS = 600


@dataclass
class Served:
    url: str
    db_url: str
    spec: Specimen
    state: Any
    keys: dict[str, str] = field(default_factory=dict)
    inside: dict[str, str] = field(default_factory=dict)  # entity kind -> an id inside the bound village
    outside: dict[str, str] = field(default_factory=dict)  # ... and one in another village
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30, follow_redirects=False))

    def get(self, path: str, key: str | None = None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[key]}"} if key else {}
        return self.client.get(self.url + path, headers=headers, params=params or None)

    def flush_audit(self) -> None:
        self.state.audit.flush()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pick(db_url: str, village: str) -> dict[str, str]:
    """One id of each entity kind whose grid is inside ``village`` (or, with '!', outside it)."""
    out = {"grid": village}
    negate = village.startswith("!")
    code = village.lstrip("!")
    with transaction(db_url) as s:
        for kind, model, idcol in (("person", Person, Person.id), ("household", Household, Household.id),
                                   ("building", Building, Building.id), ("organization", Organization, Organization.id)):
            cond = model.grid_code.like(f"{code}%")
            out[kind] = s.scalar(select(idcol).where(~cond if negate else cond).order_by(idcol).limit(1))
        cond = Event.grid_code.like(f"{code}%")
        out["event"] = s.scalar(select(Event.id).where(~cond if negate else cond, Event.kind == "dispute")
                                .order_by(Event.id).limit(1))
        if negate:
            out["grid"] = s.scalar(select(GridCell.code).where(GridCell.level == 2, GridCell.code != code)
                                   .order_by(GridCell.code.desc()).limit(1))
    return out


@pytest.fixture
def served(store_url: str) -> Iterator[Served]:
    upgrade(store_url)
    vault = Vault(os.environ["HUB_SECRET_KEY"])
    spec = build_specimen(store_url, vault, residents=RESIDENTS)
    village = max(spec.grids, key=lambda c: sum(len(v) for g, v in spec.persons_by_grid.items()
                                                 if g.startswith(c)) if len(c) == 12 and not c.endswith("000") else -1)
    keys: dict[str, str] = {}
    with transaction(store_url) as s:
        for scope in SCOPES:
            keys[scope] = create_key(s, scope, [scope])
        keys["all"] = create_key(s, "all", list(SCOPES))
        keys["all-but-pii"] = create_key(s, "all-but-pii", [x for x in SCOPES if x != "read:pii"])
        keys["steward"] = create_key(s, "steward", ["read:people", "read:quality"])
        keys["village"] = create_key(s, "village", list(SCOPES), grid_code=village)
        keys["revoked"] = create_key(s, "revoked", list(SCOPES))
        revoke_key(s, "revoked")
    # the authorisation matrix sends many refused keys from one address: lockouts are tested on their own
    app = create_app(ApiSettings(store_url, vault, rate_limit_per_minute=100_000, auth_failures_allowed=100_000))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    harness = Served(url=f"http://127.0.0.1:{port}", db_url=store_url, spec=spec, state=app.state.hub, keys=keys,
                     inside=_pick(store_url, village), outside=_pick(store_url, "!" + village))
    try:
        yield harness
    finally:
        harness.client.close()
        server.should_exit = True
        thread.join(timeout=10)
        app.state.hub.engine.dispose()
        get_engine(store_url).dispose()
