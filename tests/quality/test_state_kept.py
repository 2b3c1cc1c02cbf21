"""A stream whose read moved nothing hands back its committed state: extract.json carries neither copy
and load only stamps the state row with the run (issue 19: the dispute log's case book, ~1 MB at
200,000 residents, was encoded, parsed twice and written back by every sync). The store ends as the
whole-state commit left it; a stream that moved commits its new state as before."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlalchemy import select

from hub.connector.landing import RunFolder
from hub.db.models import StreamState
from hub.db.session import transaction
from hub.stages import sync

from .conftest import copy_source, make_context, write_config


def _states(ctx) -> dict[tuple[str, str], tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as session:
        return {(s.source, s.stream): (json.dumps(s.state, sort_keys=True), s.run_id)
                for s in session.scalars(select(StreamState))}


def test_a_read_that_moved_nothing_keeps_the_state(county: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    copy_source(county, "dispute-mediation", data)
    copy_source(county, "population.db", data)
    config = write_config(tmp_path / "hub", county)
    text = config.read_text(encoding="utf-8")
    text = text.replace(str(county / "dispute-mediation"), str(data / "dispute-mediation"))
    text = text.replace(str(county / "population.db"), str(data / "population.db"))
    config.write_text(text, encoding="utf-8")
    ctx = make_context(config)
    for source in ("dispute-mediation", "population"):
        sync(ctx, source, resolve=False)
    settled = sync(ctx, "dispute-mediation", resolve=False)  # reads nothing: drops the first read's row hashes
    assert not settled.extract.streams["cases"].state_kept
    first = _states(ctx)
    assert len(first[("dispute-mediation", "cases")][0]) > 10_000  # the case book rides in the state

    again = sync(ctx, "dispute-mediation", resolve=False)
    assert all(s.state_kept for s in again.extract.streams.values())
    assert again.extract.streams["cases"].state_after["cases"]  # the caller still sees the state
    manifest = RunFolder(ctx.landing, "dispute-mediation", again.run_id).read_json("extract.json")
    assert {n: (s["state_before"], s["state_after"]) for n, s in manifest["streams"].items()} == {
        "cases": ({}, {}), "case-parties": ({}, {})}
    now = _states(ctx)
    for stream in ("cases", "case-parties"):  # the same state, stamped with the run that kept it
        assert now[("dispute-mediation", stream)] == (first[("dispute-mediation", stream)][0], again.run_id)

    with sqlite3.connect(data / "population.db") as conn:  # one resident changes: population's state moves
        conn.execute("UPDATE t_rk_ry SET lxdh = '13900000001', gxsj = '2030-01-01 00:00:00' "
                     "WHERE ryid = (SELECT min(ryid) FROM t_rk_ry)")
    moved = sync(ctx, "population", resolve=False)
    assert not moved.extract.streams["persons"].state_kept
    assert moved.load.streams["persons"]["loaded"] == 1
    assert _states(ctx)[("population", "persons")] != first[("population", "persons")]  # committed whole
    assert _states(ctx)[("population", "households")][1] == moved.run_id

    full = sync(ctx, "dispute-mediation", resolve=False, full_refresh=True)  # a full refresh never keeps
    assert not any(s.state_kept for s in full.extract.streams.values())
    refreshed = json.loads(_states(ctx)[("dispute-mediation", "cases")][0])
    assert "_seen" in refreshed and refreshed["cases"] == json.loads(first[("dispute-mediation", "cases")][0])["cases"]
