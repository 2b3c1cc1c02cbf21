"""The small county with people, houses, care tags and special population, served over loopback."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from hub.api.keys import SCOPES, create_key
from hub.api.main import ApiSettings, create_app
from hub.config import load_config
from hub.db.models import Building, Event, Household, Person, PersonTag, SpecialStatus
from hub.db.session import get_engine, transaction
from hub.privacy import Vault
from tests.township import county
from tests.township.county import G1, G2, V1, V2

FORMULA_NAME = "=HYPERLINK(\"http://evil\",\"点我\")"


def people(vault: Vault) -> list[Any]:
    """东村: 60 households in group 1 (a head and a spouse each), a house, a special-population person."""
    rows: list[Any] = [Building(id="b1", address="东村1组1号", address_key="东村|1", grid_code=G1, grid_method="code"),
                       Building(id="b2", address="西村1号", address_key="西村|1", grid_code=V2, grid_method="code")]
    for i in range(60):
        hid = f"H{i:03d}"
        rows.append(Household(id=hid, household_no=f"1201{i:05d}", address=f"东村1组{i}号", grid_code=G1,
                              building_id="b1" if i == 0 else None, head_person_id=f"P{i:03d}a", active=True))
        # the spouse sorts before the head by id: the ledger must still list the head first
        for suffix, relation, name, birth in (("0", "10", f"配偶{i}", dt.date(1962, 1, 1)),
                                              ("a", "02", f"户主{i}", dt.date(1960, 1, 1))):
            rows.append(Person(id=f"P{i:03d}{suffix}", name=name, gender="M" if suffix == "a" else "F", birth_date=birth,
                               citizen_id_enc=vault.encrypt(f"13020319600101{i:03d}{'1' if suffix == 'a' else '2'}"),
                               phone_enc=vault.encrypt(f"1380000{i:03d}{'1' if suffix == 'a' else '2'}"),
                               household_id=hid, relation_to_head=relation, grid_code=G1, status="active",
                               provenance={"name": {"source": "population", "stream": "persons", "source_key": str(i),
                                                    "rule": "registry", "at": "2026-10-08 09:41:00"}}))
    rows.append(Household(id="HX", household_no="120299999", address="东村2组1号", grid_code=G2,
                          head_person_id="PX", active=True))
    rows.append(Person(id="PX", name=FORMULA_NAME, gender="M", citizen_id_enc=vault.encrypt("130203197001010011"),
                       household_id="HX", relation_to_head="02", grid_code=G2, status="active", provenance={}))
    rows.append(Person(id="PS", name="特殊甲", gender="M", citizen_id_enc=vault.encrypt("130203198001010033"),
                       grid_code=V1, status="active", provenance={}))
    rows += [PersonTag(person_id="P000a", tag="elderly_alone", sensitive=False),
             PersonTag(person_id="P001a", tag="min_allowance", sensitive=False),
             PersonTag(person_id="PS", tag="special_population", sensitive=True),
             SpecialStatus(person_id="PS", category_enc=vault.encrypt("社区矫正"), since=dt.date(2025, 1, 1),
                           status="active", supervisor="王警官", source_key="SP1")]
    return rows


def extra_events() -> list[Event]:
    return [county.hazard("h-open", G1, "o-key-1", dt.date(2026, 10, 9), dt.date(2026, 10, 30), None),
            county.dispute("land", V1, "village", county.W(2026, 9, 21, 10), [], category="土地山林")]


@dataclass
class Served:
    url: str
    db_url: str
    config: Path
    state: Any
    keys: dict[str, str] = field(default_factory=dict)
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))

    def get(self, path: str, key: str, **params: Any) -> httpx.Response:
        return self.client.get(self.url + path, headers={"Authorization": f"Bearer {self.keys[key]}"},
                               params=params or None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def township_store(store_url: str) -> str:
    vault = Vault(os.environ["HUB_SECRET_KEY"])
    county.build(store_url, vault, county.q3_events() + extra_events(), people(vault))
    return store_url


@pytest.fixture
def served(township_store: str, tmp_path: Path) -> Iterator[Served]:
    cfg = county.write_config(tmp_path, township_store)
    keys: dict[str, str] = {}
    with transaction(township_store) as s:
        keys["all"] = create_key(s, "all", list(SCOPES))
        keys["masked"] = create_key(s, "masked", ["read:grids", "read:people", "read:events"])
        keys["grids"] = create_key(s, "grids", ["read:grids"])
        keys["west"] = create_key(s, "west", list(SCOPES), grid_code=V2)
    app = create_app(ApiSettings(township_store, Vault(os.environ["HUB_SECRET_KEY"]), rate_limit_per_minute=100_000,
                                 config=load_config(cfg)))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    harness = Served(url=f"http://127.0.0.1:{port}", db_url=township_store, config=cfg, state=app.state.hub, keys=keys)
    try:
        yield harness
    finally:
        harness.client.close()
        server.should_exit = True
        thread.join(timeout=10)
        app.state.hub.engine.dispose()
        get_engine(township_store).dispose()


__all__ = ["V1", "Served"]
