"""Pages shown without ``read:pii`` are answered from masked forms the server keeps by token: the same
answer as decrypting each time, a changed phone shows at once, and no clear value is ever kept."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select, update

from hub.db.models import Person
from hub.db.session import transaction
from hub.privacy import Vault, mask_citizen_id, mask_phone


def _walk(served, key: str, grid: str) -> list[dict]:  # type: ignore[no-untyped-def]
    items, cursor = [], None
    while True:
        r = served.get("/persons", key, grid=grid, limit=20, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_masked_pages_equal_the_store_and_follow_a_change(served) -> None:  # type: ignore[no-untyped-def]
    vault, grid, masked = Vault(os.environ["HUB_SECRET_KEY"]), served.inside["grid"], served.state.masked
    masked.ids.clear()
    masked.phones.clear()
    first = _walk(served, "all-but-pii", grid)
    assert len(masked.ids) >= len(first) // 2 and masked.phones  # kept for the next reader
    assert _walk(served, "all-but-pii", grid) == first  # answered from the kept forms: the same page
    with transaction(served.db_url) as s:
        stored = {r.id: r for r in s.execute(select(Person.id, Person.citizen_id_enc, Person.phone_enc)
                                             .where(Person.id.in_([p["id"] for p in first])))}
    for person in first:
        row = stored[person["id"]]
        assert person["citizen_id"] == mask_citizen_id(vault.decrypt(row.citizen_id_enc))
        assert person["phone"] == mask_phone(vault.decrypt(row.phone_enc))
    changed = next(p for p in first if p["phone"])
    with transaction(served.db_url) as s:
        s.execute(update(Person).where(Person.id == changed["id"]).values(phone_enc=vault.encrypt("13955550123")))
    shown = {p["id"]: p for p in _walk(served, "all-but-pii", grid)}
    assert shown[changed["id"]]["phone"] == "139****0123"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_pii_reader_gets_clear_values_and_nothing_is_kept(served) -> None:  # type: ignore[no-untyped-def]
    masked = served.state.masked
    masked.ids.clear()
    masked.phones.clear()
    items = _walk(served, "all", served.inside["grid"])
    assert any(p["citizen_id"] and "*" not in p["citizen_id"] for p in items)
    assert not masked.ids and not masked.phones  # a clear value is never kept across requests
    masked_items = _walk(served, "all-but-pii", served.inside["grid"])
    assert all("*" in p["citizen_id"] for p in masked_items if p["citizen_id"])
    clear = {p["citizen_id"] for p in items if p["citizen_id"]}
    assert not clear & (set(masked.ids.values()) | set(masked.phones.values()))
