"""No response anywhere carries a clear citizen ID or phone to a key without read:pii."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.db.models import Event, Household, Organization
from hub.db.session import transaction

DIGITS = re.compile(r"[0-9Xx-]{11,}")


def _crawl(served, key: str, every: int = 3) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every route: lists page by page with each filter, and every entity's detail route."""
    spec, village = served.spec, served.inside["grid"]
    pages: list[tuple[str, str]] = []

    def get(path: str, **params: object) -> dict | list:  # type: ignore[type-arg]
        r = served.get(path, key, **params)
        assert r.status_code in (200, 308), (path, params, r.status_code, r.text[:200])
        pages.append((f"{path} {params}", r.text))
        return r.json() if r.status_code == 200 else {}

    def walk(path: str, **params: object) -> list[dict]:  # type: ignore[type-arg]
        items, cursor = [], None
        while True:
            body = get(path, limit=500, **params, **({"cursor": cursor} if cursor else {}))
            items += body["items"]
            cursor = body["next_cursor"]
            if not cursor or path == "/changes" and not body["items"]:
                return items

    walk("/grids")
    for code in spec.grids[:20]:
        for suffix in ("", "/children", ".geojson"):
            get(f"/grids/{code}{suffix}")
    persons = walk("/persons")
    for flt in ({"grid": village}, {"tag": "elderly"}, {"age_min": 60},
                {"name": persons[0]["name"]}):
        walk("/persons", **flt)
    tagged = {p["id"] for p in walk("/persons", tag="min_allowance")} | {served.spec.sensitive_person}
    for i, p in enumerate(persons):
        if i % every == 0 or p["id"] in tagged:
            get(f"/persons/{p['id']}")
    for old in spec.merged:
        get(f"/persons/{old}")
    with transaction(served.db_url) as s:
        households = list(s.scalars(select(Household.id)))
        orgs = list(s.scalars(select(Organization.id)))
        events = list(s.scalars(select(Event.id)))
    for h in households[::every]:
        get(f"/households/{h}")
    for b in spec.building_ids[::every * 3]:
        get(f"/buildings/{b}")
    walk("/organizations")
    for o in orgs:
        get(f"/organizations/{o}")
    walk("/events")
    for e in events:
        get(f"/events/{e}")
    walk("/changes")
    get("/sources")
    return pages


def _leaks(pages: list[tuple[str, str]], secrets: set[str]) -> list[str]:
    found = []
    for where, text in pages:
        for token in DIGITS.findall(text):
            hits = {token[i:i + n] for n in (11, 12, 15, 18) for i in range(len(token) - n + 1)} & secrets
            found += [f"{where}: {h[:4]}…" for h in hits]
    return found


def test_no_clear_id_or_phone_without_read_pii(served) -> None:  # type: ignore[no-untyped-def]
    secrets = served.spec.clear_ids | served.spec.clear_phones
    assert len(secrets) > 500
    leaks = _leaks(_crawl(served, "all-but-pii"), secrets)
    assert not leaks, "clear PII in responses:\n" + "\n".join(leaks[:20])


def test_read_pii_shows_them_in_clear(served) -> None:  # type: ignore[no-untyped-def]
    """The control: the same crawl with read:pii finds the values, so the grep above can fail."""
    secrets = served.spec.clear_ids | served.spec.clear_phones
    pages = _crawl(served, "all", every=10)
    assert len(_leaks(pages, served.spec.clear_ids)) > 100
    assert len(_leaks(pages, served.spec.clear_phones)) > 100
    assert secrets
    person = served.get(f"/persons/{served.inside['person']}", "read:people").json()
    assert re.fullmatch(r"\d{6}\*{8}[0-9X]{4}", person["citizen_id"])
    welfare_person = served.get("/persons", "all-but-pii", tag="min_allowance").json()["items"]
    if welfare_person:  # civil-affairs keys records on the ID as written: the link is masked too
        detail = served.get(f"/persons/{welfare_person[0]['id']}", "all-but-pii").json()
        keys = [s["source_key"] for s in detail["sources"] if s["source"] == "civil-affairs"]
        assert keys and all("*" in k for k in keys)
