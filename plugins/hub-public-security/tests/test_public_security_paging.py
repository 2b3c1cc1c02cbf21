"""Cursor paging against the real server: day by day, and while records change underneath.

The server's ``advance_after`` moves its world to the next day after every N answered
requests, so records updated that day jump to the end of the order *between two page
requests of one sync*: exactly the vendor behaviour legacy-systems.md §4 warns about.

These tests drive the connector's streams the way the extract stage does (state in, batches
out, the last batch's state saved), so they judge the paging alone; the conformance suite and
the CLI test run the same connector through the whole sync.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_public_security.connector import PublicSecurityConnector

from hub.connector import SourceSpec
from hub.stages import sync
from hub.testing import ConformanceSetup, context_for

STREAM_KEYS = {"floating-persons": "id", "special-persons": "id", "incidents": "incidentNo"}
Emitted = dict[str, list[tuple[str, str]]]


class Hub:
    """Holds each stream's saved state between runs, as the hub's StreamState table does."""

    def __init__(self, url: str, page_size: int, monkeypatch: pytest.MonkeyPatch, token_env: str, token: str) -> None:
        monkeypatch.setenv(token_env, token)
        self.spec = SourceSpec("public-security", {"base_url": url, "token_env": token_env, "page_size": page_size})
        self.states: dict[str, dict[str, Any]] = {}

    def run(self) -> Emitted:
        out: Emitted = {}
        for stream in PublicSecurityConnector().streams(self.spec):
            state = self.states.get(stream.name, {})
            pairs: list[tuple[str, str]] = []
            for batch in stream.read(dict(state)):
                table = batch.records
                pairs += zip(table.column(stream.key_field).to_pylist(), table.column("updatedAt").to_pylist(),
                             strict=True)
                state = batch.state
            self.states[stream.name] = state
            out[stream.name] = pairs
        return out


def test_day_by_day_reads_exactly_each_days_changes(serve, ps, county: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url, handle = serve(day=0)
    hub = Hub(url, 25, monkeypatch, ps.TOKEN_ENV, ps.TOKEN)
    truth = json.loads((county / "truth" / "days.json").read_text("utf-8"))["days"]
    for day in range(handle.httpd.store.max_day + 1):
        handle.set_day(day)
        got = hub.run()
        for stream, key in STREAM_KEYS.items():
            if day == 0:
                expected = {(k, r["updatedAt"]) for k, r in ps.server_view(county, 0)[stream].items()}
            else:
                rows = ps.read_jsonl(county / "public-security" / stream / f"day-{day:02d}.jsonl")
                expected = {(r[key], r["updatedAt"]) for r in rows}
            assert Counter(got[stream]) == Counter(expected), f"day {day} {stream}: not exactly that day's changes"
            assert len(got[stream]) == truth[day]["sources"][ps.SOURCE][stream]["read"]
        again = hub.run()
        assert not any(again.values()), f"day {day}: a second run read rows again"


def churned_api(ps, county: Path, dest: Path) -> Path:  # type: ignore[no-untyped-def]
    """The county's API files, with a bulk update (37 records sharing one second) and heavy churn of
    early and mid-block records on days 1 and 2, so records keep leaving the pages already read."""
    api = ps.copy_county_api(county, dest)
    fp = api / "floating-persons"
    rows = sorted(ps.read_jsonl(fp / "day-00.jsonl"), key=lambda r: (r["updatedAt"], r["id"]))
    block = rows[40:77]
    for r in block:
        r["updatedAt"] = block[0]["updatedAt"]
    ps.write_jsonl(fp / "day-00.jsonl", rows)
    for day, picks in ((1, [0, 3, 6, 9, 41, 44, 45, 50, 60, 70, 76, 100]), (2, [1, 3, 41, 42, 43, 47, 61, 90, 110])):
        path = fp / f"day-{day:02d}.jsonl"
        todays = {r["id"]: r for r in ps.read_jsonl(path)}
        for n, i in enumerate(picks):
            second = 9 * 3600 + (n // 3) * 60  # three records a second: ties inside the day too
            stamp = f"2026-{10 + day // 2:02d}-{31 if day == 1 else 1:02d}T{second // 3600:02d}:{second % 3600 // 60:02d}:00+08:00"
            todays[rows[i]["id"]] = dict(rows[i], status="left", updatedAt=stamp)
        ps.write_jsonl(path, list(todays.values()))
    return api


def naive_page_numbers(url: str, token: str, stream: str, size: int) -> list[str]:
    """The client the spec warns against: fixed query, page = 1, 2, 3, ..."""
    keys: list[str] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        page = 1
        while True:
            body = client.get(f"/api/v1/{stream}", params={"page": page, "size": size}).json()
            keys.extend(item[STREAM_KEYS[stream]] for item in body["items"])
            if len(body["items"]) < size:
                return keys
            page += 1


@pytest.mark.parametrize("advance_after", [3, 12, 18])  # 12 and 18 move the world while the bulk block is paged
def test_records_changing_while_paging_are_neither_skipped_nor_doubled(serve, ps, county: Path,  # type: ignore[no-untyped-def]
                                                                       tmp_path: Path, monkeypatch,
                                                                       advance_after: int) -> None:
    api = churned_api(ps, county, tmp_path / "data")
    final = ps.server_view(api, 2)

    # control: on the same moving server, paging by page number alone does skip or repeat records
    url, _ = serve(api, day=0, advance_after=advance_after)
    naive = naive_page_numbers(url, ps.TOKEN, "floating-persons", 5)
    doubled = [k for k, n in Counter(naive).items() if n > 1]
    missed = set(final["floating-persons"]) - set(naive)
    assert doubled or missed, "the scenario does not move records under a paging client"

    url, handle = serve(api, day=0, advance_after=advance_after)
    hub = Hub(url, 5, monkeypatch, ps.TOKEN_ENV, ps.TOKEN)
    latest: dict[str, dict[str, str]] = {s: {} for s in STREAM_KEYS}
    for _ in range(8):
        got = hub.run()
        for stream, pairs in got.items():
            keys = [k for k, _ in pairs]
            assert len(keys) == len(set(keys)), f"{stream}: one run emitted a record twice"
            for k, stamp in pairs:
                previous = latest[stream].get(k)
                assert previous is None or previous < stamp, f"{stream} {k}: an old version was read again"
                latest[stream][k] = stamp
        if not any(got.values()) and handle.day == handle.httpd.store.max_day:
            break
    else:
        raise AssertionError("syncs never caught up with the server")
    for stream, records in final.items():
        assert latest[stream] == {k: r["updatedAt"] for k, r in records.items()}, f"{stream}: skipped or stale rows"


def test_bulk_update_larger_than_a_page_is_read_once(serve, ps, county: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    api = churned_api(ps, county, tmp_path / "data")
    url, _ = serve(api, day=0)
    hub = Hub(url, 5, monkeypatch, ps.TOKEN_ENV, ps.TOKEN)
    got = hub.run()["floating-persons"]
    view = ps.server_view(api, 0)["floating-persons"]
    assert Counter(got) == Counter((k, r["updatedAt"]) for k, r in view.items())
    state = hub.states["floating-persons"]
    last = max(view.values(), key=lambda r: (r["updatedAt"], r["id"]))
    assert state == {"updatedAt": last["updatedAt"], "id": last["id"]}


def test_sync_while_records_change_loads_the_servers_final_data(serve, ps, county: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 monkeypatch) -> None:
    """The whole sync (extract -> validate -> load), with the world moving mid-paging: the store ends
    holding exactly the server's final records, each at its newest version, none quarantined as doubled."""
    api = churned_api(ps, county, tmp_path / "data")
    final = ps.server_view(api, 2)
    url, handle = serve(api, day=0, advance_after=12)
    monkeypatch.setenv(ps.TOKEN_ENV, ps.TOKEN)
    setup = ConformanceSetup(config_path=ps.write_config(tmp_path, url, page_size=5), source=ps.SOURCE,
                             env={ps.TOKEN_ENV: ps.TOKEN})
    ctx, _ = context_for(setup, tmp_path, "store")
    for _ in range(8):
        info = sync(ctx, ps.SOURCE, resolve=False)
        if info.extract.rows == 0 and handle.day == handle.httpd.store.max_day:
            break
    else:
        raise AssertionError("syncs never caught up with the server")
    loaded, rejected = ps.stored(ctx), ps.quarantined(ctx)
    assert not [r for r in rejected if "duplicate_key" in r[2]], "a run carried one record twice"
    for stream, records in final.items():
        bad = {k for s, k, _ in rejected if s == stream}
        assert set(loaded[stream]) | bad == set(records), f"{stream}: a record was neither loaded nor quarantined"
        for key, data in loaded[stream].items():
            if key not in bad:
                newest = dt.datetime.fromisoformat(records[key]["updatedAt"]).replace(tzinfo=None)  # +08:00: the departments' clock
                assert data["updated_at"] == newest.isoformat(sep=" "), f"{stream} {key}: not the newest version"
