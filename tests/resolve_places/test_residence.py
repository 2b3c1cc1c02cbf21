"""Where people live and where they are registered (人户分离), placed and served over real HTTP."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from hub.api.keys import create_key
from hub.api.main import ApiSettings, create_app
from hub.db.models import Person
from hub.db.session import transaction
from hub.privacy import Vault
from hub.resolve.places import place_entities

EAST, COMM = "130203101201", "130203101001"
XZZ = {"source": "population", "stream": "persons", "rule": "precedence:population"}


def build(st) -> None:  # type: ignore[no-untyped-def]
    st.household("H1", "20100001", "唐山镇东村1组3号", village=EAST, group="001")
    st.household("H2", "20100002", "唐山镇东村2组7号", village=EAST, group="002")
    st.household("H3", "00100001", "唐山镇幸福里社区5号楼1单元101室", village=COMM, group="002")
    # registered in 东村 1组, public security records them living in 幸福里社区 2组 (a person of the county)
    st.person("P1", "H1")
    st.record("public-security", "floating-persons", "FP1", grid_code=COMM + "002", status="active",
              address="唐山镇幸福里社区5号楼12室", updated_at="2026-11-01 10:00:00")
    st.link("public-security", "floating-persons", "FP1", "person", "P1")
    # recorded in 幸福里社区 once, but the record says they left: back where they are registered
    st.person("P2", "H1")
    st.record("public-security", "floating-persons", "FP2", grid_code=COMM + "001", status="left",
              address="唐山镇幸福里社区9号楼", updated_at="2026-11-02 10:00:00")
    st.link("public-security", "floating-persons", "FP2", "person", "P2")
    # registered in the community; the population registry's 现住址 is in 东村 2组
    st.person("P3", "H3", address="唐山镇东村二组七号",
              provenance={"address": {**XZZ, "source_key": "30000003", "at": "2026-10-01 09:00:00"}})
    # a migrant (registered outside the county) living in 东村 1组
    st.person("P4", floating=True)
    st.record("public-security", "floating-persons", "FP4", grid_code=EAST + "001", status="active",
              address="唐山镇东村1组3号", updated_at="2026-09-01 08:00:00")
    st.link("public-security", "floating-persons", "FP4", "person", "P4")
    # registered in 东村 1组; an older police record in the community, a newer 现住址 in 东村 2组: the newest wins
    st.person("P5", "H1", address="唐山镇东村2组7号",
              provenance={"address": {**XZZ, "source_key": "30000005", "at": "2026-11-20 09:00:00"}})
    st.record("public-security", "floating-persons", "FP5", grid_code=COMM + "002", status="active",
              address="唐山镇幸福里社区5号楼3室", updated_at="2026-09-15 10:00:00")
    st.link("public-security", "floating-persons", "FP5", "person", "P5")
    st.person("P6", "H2")  # lives where registered
    st.commit()


@pytest.fixture
def placed(store_url: str, tmp_path: Path, town):  # type: ignore[no-untyped-def]
    """On SQLite and PostgreSQL: the presence filters and the residence's JSON evidence on each."""
    ctx = town.make_context(tmp_path, store_url)
    build(town.Store(ctx))
    return ctx, place_entities(ctx)


def test_registration_and_residence_grids(placed) -> None:  # type: ignore[no-untyped-def]
    ctx, counts = placed
    with transaction(ctx.db_url) as s:
        rows = {p.id: (p.registered_grid_code, p.grid_code, (p.residence_basis or {}).get("rule"))
                for p in s.scalars(select(Person))}
        basis = s.get(Person, "P1").residence_basis
    assert rows["P1"] == (EAST + "001", COMM + "002", "floating_person")
    assert basis == {"rule": "floating_person", "source": "public-security", "stream": "floating-persons",
                     "source_key": "FP1", "at": "2026-11-01 10:00:00"}
    assert rows["P2"] == (EAST + "001", EAST + "001", "registered")
    assert rows["P3"] == (COMM + "002", EAST + "002", "current_address")
    assert rows["P4"] == (None, EAST + "001", "floating_person")
    assert rows["P5"] == (EAST + "001", EAST + "002", "current_address")
    assert rows["P6"] == (EAST + "002", EAST + "002", "registered")
    assert counts["person_by_floating_person"] == 2 and counts["person_by_current_address"] == 2
    assert place_entities(ctx, full=True).get("person_updated", 0) == 0  # stable: a second pass writes nothing


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def api(placed) -> Iterator[tuple[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    ctx, _ = placed
    with transaction(ctx.db_url) as s:
        keys = {"all": create_key(s, "all", ["read:people", "read:grids", "read:quality"]),
                "people": create_key(s, "people", ["read:people"]),
                "east": create_key(s, "east", ["read:people"], grid_code=EAST + "001"),
                "west": create_key(s, "west", ["read:people"], grid_code=COMM + "001")}
    app = create_app(ApiSettings(ctx.db_url, Vault(os.environ["HUB_SECRET_KEY"])))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}", keys
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _get(api: tuple[str, dict[str, str]], path: str, key: str = "all", **params: Any) -> httpx.Response:
    url, keys = api
    return httpx.get(url + path, params=params, headers={"Authorization": f"Bearer {keys[key]}"}, timeout=30)


def _ids(api, grid: str, presence: str | None = None) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    params = {"grid": grid, "limit": 2} | ({"presence": presence} if presence else {})
    out: dict[str, str | None] = {}
    while True:  # page through: the cursor must carry the filter
        r = _get(api, "/persons", **params)
        assert r.status_code == 200, r.text
        out |= {p["id"]: p["presence"] for p in r.json()["items"]}
        if not (cursor := r.json()["next_cursor"]):
            return out
        params["cursor"] = cursor


def test_the_api_says_who_lives_here_and_who_is_registered_but_away(api) -> None:  # type: ignore[no-untyped-def]
    # registered in 东村 (A), recorded by public security as living in 幸福里社区 (B)
    assert _ids(api, COMM, "resident")["P1"] == "resident"
    assert _ids(api, EAST, "away") == {"P1": "away"}
    assert "P1" not in _ids(api, EAST, "resident") and "P1" not in _ids(api, COMM, "away")
    assert _ids(api, EAST + "001", "away") == {"P1": "away", "P5": "away"}  # P5 lives in 2组 of the same village
    assert set(_ids(api, EAST, "incoming")) == {"P3", "P4"}  # 人在户不在: registered elsewhere or outside the county
    assert set(_ids(api, EAST, "registered")) == {"P1", "P2", "P5", "P6"}
    everyone = _ids(api, EAST)  # the default: living here, or registered here and away, each said which
    assert everyone == {"P1": "away", "P2": "resident", "P3": "resident", "P4": "resident", "P5": "resident",
                        "P6": "resident"}
    summary = _get(api, f"/grids/{EAST}").json()["summary"]
    assert (summary["residents"], summary["registered"], summary["registered_away"], summary["incoming"]) == (5, 4, 1, 2)
    assert summary["residents"] + summary["registered_away"] == len(everyone)
    assert _get(api, f"/grids/{COMM}").json()["summary"]["incoming"] == 1  # P1
    detail = _get(api, "/persons/P1").json()
    assert (detail["grid_code"], detail["registered_grid_code"]) == (COMM + "002", EAST + "001")
    assert detail["residence"] == {"grid_code": COMM + "002", "registered_grid_code": EAST + "001",
                                   "rule": "floating_person", "at": "2026-11-01T10:00:00+08:00",
                                   "source": "public-security", "stream": "floating-persons", "source_key": "FP1"}
    plain = _get(api, "/persons/P1", "people").json()["residence"]
    assert plain["rule"] == "floating_person" and plain["source_key"] is None  # the record only with read:quality
    # a key bound to the registered group sees its person away; one bound to another group does not
    assert _get(api, "/persons/P1", "east").status_code == 200
    assert _get(api, "/persons/P1", "west").status_code == 404
    assert _get(api, "/persons", presence="away").status_code == 400  # presence needs a grid
