"""A busy key's cache entry: when it expires under concurrent requests the store is asked once, not once
per request in flight (that herd, every 2 s, was the person detail's 300-900 ms p99 at 32 concurrent);
refreshed ahead while it still answers; and a revocation still takes effect within the cache's time."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import event

from hub.api.keys import Principal, revoke_key
from hub.db.session import transaction


def _key_queries(served, send) -> tuple[list[int], int]:  # type: ignore[no-untyped-def]
    """The status codes ``send()`` got, and how many times the API asked the store for a key meanwhile."""
    seen: list[str] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM api_key" in statement:
            seen.append(statement)

    event.listen(served.state.engine, "before_cursor_execute", grab)
    try:
        statuses = send()
    finally:
        event.remove(served.state.engine, "before_cursor_execute", grab)
    return statuses, len(seen)


def _burst(served, key: str, n: int = 24) -> list[int]:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {served.keys[key]}"}
    path = f"{served.url}/persons/{served.inside['person']}"
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=n)) as client, ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: client.get(path, headers=headers).status_code, range(n)))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_expired_key_is_looked_up_once_for_a_burst(served) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        served.state.keys._entries.clear()  # as if the entry had just expired
        statuses, queries = _key_queries(served, lambda: _burst(served, "all"))
        assert statuses == [200] * len(statuses)
        assert queries == 1, f"{queries} key lookups for one burst of {len(statuses)} requests"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_busy_key_is_refreshed_before_it_expires_and_revocation_still_holds(served) -> None:  # type: ignore[no-untyped-def]
    cache, key = served.state.keys, served.keys["steward"]

    def one_request() -> list[int]:
        status = served.get("/persons", "steward").status_code
        deadline = time.monotonic() + 10
        while served.state.key_lookups and time.monotonic() < deadline:  # the refresh runs after the answer
            time.sleep(0.01)
        return [status]

    assert one_request() == [200]
    time.sleep(cache.ttl * 0.6)  # past half its time: answered from the cache, and refreshed
    assert _key_queries(served, one_request) == ([200], 1)
    time.sleep(cache.ttl * 0.6)  # past the first answer's time: the refreshed entry still answers
    assert isinstance(cache.peek(key), Principal)
    with transaction(served.db_url) as s:
        revoke_key(s, "steward")
    deadline = time.monotonic() + cache.ttl * 1.5 + 1
    while served.get("/persons", "steward").status_code == 200:
        assert time.monotonic() < deadline, "a revoked key still answered after the cache's time"
        time.sleep(0.1)
    assert served.get("/persons", "steward").status_code == 401
