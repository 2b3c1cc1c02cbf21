"""What a downstream app does: page through filters, follow merges, sync changes; and what it is told."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from pathlib import Path

import httpx
from typer.testing import CliRunner, Result

from hub.api.keys import create_key
from hub.api.main import ApiSettings, create_app
from hub.cli import app
from hub.db.session import transaction
from hub.errors import HubError
from hub.privacy import Vault


def _hub(cfg: Path, *args: str) -> Result:
    """The real ``hub`` command tree, in process (a subprocess re-imports everything: seconds each)."""
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    if result.exception is not None and not isinstance(result.exception, HubError):
        raise result.exception
    return result


def _walk(served, path: str, key: str = "all", **params: object) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    items, cursor = [], None
    while True:
        body = served.get(path, key, limit=37, **params, **({"cursor": cursor} if cursor else {})).json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


def test_filters_page_through_exactly_the_matching_persons(served) -> None:  # type: ignore[no-untyped-def]
    spec, village = served.spec, served.inside["grid"]
    in_village = _walk(served, "/persons", grid=village)
    expected = {p for g, ids in spec.persons_by_grid.items() if g.startswith(village) for p in ids}
    keys = [(p["grid_code"], p["id"]) for p in in_village]
    assert keys == sorted(keys)
    assert {p["id"] for p in in_village} == expected and len(in_village) == len(expected)

    everyone = _walk(served, "/persons")
    assert len(everyone) == len(spec.person_ids) == len({p["id"] for p in everyone})
    today = dt.datetime.now(dt.UTC).date()
    old = _walk(served, "/persons", age_min=60, age_max=79)
    assert old and all(60 <= p["age"] <= 79 for p in old)
    assert len(old) == sum(1 for p in everyone if p["age"] is not None and 60 <= p["age"] <= 79), today
    elderly = _walk(served, "/persons", tag="elderly")
    assert {p["id"] for p in elderly} == {p["id"] for p in everyone if "elderly" in p["tags"]}
    both = _walk(served, "/persons", grid=village, tag="elderly", age_min=70)
    assert {p["id"] for p in both} == {p["id"] for p in in_village if "elderly" in p["tags"] and p["age"] >= 70}
    name = everyone[5]["name"]
    assert {p["id"] for p in _walk(served, "/persons", name=name)} == {p["id"] for p in everyone if p["name"] == name}


def test_errors_are_problem_documents(served) -> None:  # type: ignore[no-untyped-def]
    cursor = served.get("/persons", "all", limit=2).json()["next_cursor"]
    for params, status in (({"limit": 501}, 400), ({"limit": 0}, 400), ({"colour": "red"}, 400),
                           ({"cursor": "not-a-cursor"}, 400), ({"cursor": cursor, "tag": "elderly"}, 400),
                           ({"grid": "999999999999"}, 404), ({"age_min": "old"}, 400)):
        r = served.get("/persons", "all", **params)
        assert r.status_code == status, (params, r.text)
        body = r.json()
        assert r.headers["content-type"] == "application/problem+json"
        assert body["status"] == status and body["title"] and body["instance"] == "/persons"
    r = served.client.get(served.url + "/no-such-route")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_merged_ids_redirect_to_the_survivor(served) -> None:  # type: ignore[no-untyped-def]
    old, survivor = next(iter(served.spec.merged.items()))
    r = served.get(f"/persons/{old}", "read:people")
    assert r.status_code == 308 and r.headers["location"] == f"/persons/{survivor}"
    followed = served.client.get(served.url + f"/persons/{old}", follow_redirects=True,
                                 headers={"Authorization": f"Bearer {served.keys['read:people']}"})
    assert followed.status_code == 200 and followed.json()["id"] == survivor


def test_change_feed_resumes_from_its_cursor(served) -> None:  # type: ignore[no-untyped-def]
    first = served.get("/changes", "all", limit=100).json()
    assert len(first["items"]) == 100 and first["next_cursor"]
    rest, cursor = [], first["next_cursor"]
    while True:
        body = served.get("/changes", "all", limit=500, cursor=cursor).json()
        if not body["items"]:
            assert body["next_cursor"] == cursor  # nothing new: the same place to poll from
            break
        rest += body["items"]
        cursor = body["next_cursor"]
    seqs = [c["seq"] for c in first["items"] + rest]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert {c["entity_id"] for c in rest if c["change"] == "merged"} == set(served.spec.merged)
    grids_only = served.get("/changes", "read:grids", limit=500).json()["items"]
    assert grids_only and {c["entity_type"] for c in grids_only} <= {"grid", "building", "organization"}


def test_summary_counts_the_whole_subtree(served) -> None:  # type: ignore[no-untyped-def]
    village = served.inside["grid"]
    summary = served.get(f"/grids/{village}", "all").json()["summary"]
    children = served.get(f"/grids/{village}/children", "all", limit=500).json()["items"]
    child_sums = [served.get(f"/grids/{c['code']}", "all").json()["summary"] for c in children]
    assert summary["residents"] == sum(s["residents"] for s in child_sums) > 0
    assert summary["households"] == sum(s["households"] for s in child_sums)
    active = [p for p in _walk(served, "/persons", grid=village) if p["status"] == "active"]
    assert summary["residents"] == len(active)
    geo = served.get(f"/grids/{village}.geojson", "all").json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 1 + len(children)
    assert geo["features"][0]["properties"]["summary"] == summary
    assert geo["features"][0]["geometry"]["type"] == "Polygon"
    plain = served.get(f"/grids/{village}", "read:grids").json()["summary"]
    assert "special_population" not in plain["people_by_tag"]


def test_audit_records_requests_and_the_persons_shown(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = served.get("/persons", "read:people", limit=5).json()["items"]
    served.get("/persons/nobody", "read:people")
    served.get("/sources", "read:people")
    served.flush_audit()
    cfg = tmp_path / "hub.yaml"
    cfg.write_text(f"database: {served.db_url}\n", encoding="utf-8")
    out = _hub(cfg, "audit", "--key", "read:people", "--json", "--limit", "3")
    rows = json.loads(out.stdout)
    assert [(r["route"], r["status"]) for r in rows] == [("/sources", 403), ("/persons/{person_id}", 404),
                                                          ("/persons", 200)]
    assert rows[2]["person_ids"] == [p["id"] for p in page] and rows[2]["duration_ms"] > 0
    assert all(r["at"].endswith("+00:00") for r in rows)  # a stored time says its offset
    bad = _hub(cfg, "audit", "--key", "nobody")
    assert isinstance(bad.exception, HubError) and str(bad.exception).startswith("no key named 'nobody'")


def test_rate_limit_answers_429_with_retry_after(served) -> None:  # type: ignore[no-untyped-def]
    with transaction(served.db_url) as s:
        key = create_key(s, "limited", ["read:grids"])
    app = create_app(ApiSettings(served.db_url, Vault(os.environ["HUB_SECRET_KEY"]), rate_limit_per_minute=3))
    transport = httpx.ASGITransport(app=app)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return [await client.get("/grids", headers={"Authorization": f"Bearer {key}"}) for _ in range(5)]

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert int(responses[3].headers["retry-after"]) >= 1
    assert responses[3].headers["content-type"] == "application/problem+json"


def test_keys_cli_prints_once_stores_a_hash_and_revokes(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "hub.yaml"
    cfg.write_text(f"database: {served.db_url}\n", encoding="utf-8")
    village = served.inside["grid"]
    made = _hub(cfg, "keys", "create", "--name", "app", "--scopes", "read:people,read:grids", "--grid", village)
    key = made.stdout.strip()
    assert key.startswith("ghk_") and "created" in made.stderr
    listed = _hub(cfg, "keys", "list", "--json").stdout
    assert key not in listed and key.split(".")[1] not in listed and '"app"' in listed
    with transaction(served.db_url) as s:
        from sqlalchemy import text

        stored = s.execute(text("SELECT key_hash FROM api_key WHERE name = 'app'")).scalar_one()
    assert key not in stored and len(stored) == 64
    headers = {"Authorization": f"Bearer {key}"}
    assert served.client.get(served.url + "/persons", headers=headers).status_code == 200
    assert served.client.get(served.url + f"/persons/{served.outside['person']}", headers=headers).status_code == 404
    assert _hub(cfg, "keys", "revoke", "app").exit_code == 0
    served.state.keys._entries.clear()  # the server caches keys for 2 s; skip the wait
    assert served.client.get(served.url + "/persons", headers=headers).status_code == 401
    bad = _hub(cfg, "keys", "create", "--name", "x", "--scopes", "read:everything")
    assert isinstance(bad.exception, HubError) and str(bad.exception).startswith("unknown scope")
