"""No response anywhere carries a clear citizen ID or phone to a key without read:pii."""

from __future__ import annotations

import base64
import json
import re

from sqlalchemy import select

from hub.api.keys import create_key
from hub.db.models import (
    ApiKey,
    AuditEntry,
    Event,
    EventParty,
    Household,
    Organization,
    Person,
    SpecialStatus,
)
from hub.db.session import transaction
from hub.privacy import Vault

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


# ---- issue 17: the openings an attack found, as tests -------------------------------------------------

def _edited(cursor: str, key: list) -> str:  # type: ignore[type-arg]
    """The cursor's payload with another sort key, its signature kept (what an attacker can do)."""
    payload, _, signature = cursor.partition(".")
    fp, _ = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw = base64.urlsafe_b64encode(json.dumps([fp, key], separators=(",", ":")).encode()).decode().rstrip("=")
    return raw + ("." + signature if signature else "")


def test_forged_or_edited_cursors_are_a_400_never_a_500(served) -> None:  # type: ignore[no-untyped-def]
    first = served.get("/changes", "all", limit=5).json()
    assert served.get("/changes", "all", limit=5, cursor=first["next_cursor"]).status_code == 200
    persons = served.get("/persons", "all", limit=5).json()
    assert served.get("/persons", "all", limit=5, cursor=persons["next_cursor"]).status_code == 200
    for value in (2**63, 2**63 - 1, 2**31, -(2**63) - 1, 10**30, "x' OR 1=1 --", 1.5, None):
        for path, cursor in (("/changes", first["next_cursor"]), ("/persons", persons["next_cursor"])):
            for forged in (_edited(cursor, [value]), _edited(cursor.partition(".")[0], [value])):
                r = served.get(path, "all", limit=5, cursor=forged)
                assert r.status_code == 400, (path, value, r.status_code, r.text[:200])
                assert r.headers["content-type"].startswith("application/problem+json")
    # a signature from another install does not open this one's store either
    other = Vault("another install").sign(first["next_cursor"].partition(".")[0].encode())
    r = served.get("/changes", "all", cursor=first["next_cursor"].partition(".")[0] + "." + other)
    assert r.status_code == 400


def _edges(schema: dict) -> list[object]:  # type: ignore[type-arg]
    """Values at and beyond the limits of one parameter's type."""
    kinds = [schema] + schema.get("anyOf", [])
    out: list[object] = []
    for k in kinds:
        if k.get("type") == "integer":
            lo, hi = k.get("minimum", -(2**63)), k.get("maximum", 2**63 - 1)
            out += [lo - 1, hi + 1, 2**31, 2**31 - 1, 2**63, -(2**63) - 1, 10**30, "1e400"]
        elif k.get("type") == "number":
            out += ["1e400", "-1e400", "nan", "inf"]
        elif k.get("format") == "date":
            out += ["0001-01-01", "9999-12-31", "10000-01-01", "2026-02-30", "0000-00-00"]
        elif k.get("format") == "date-time":
            out += ["0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "9999-12-31T23:59:59+14:00"]
    return out


def test_every_number_and_date_parameter_at_the_edge_of_its_type_is_refused_cleanly(served) -> None:  # type: ignore[no-untyped-def]
    """A property over the API's own OpenAPI: every query parameter, every edge of its type -> a 4xx problem."""
    spec = served.client.get(served.url + "/openapi.json").json()
    tried = 0
    for path, ops in spec["paths"].items():
        if "{" in path or "get" not in ops:
            continue
        for param in ops["get"].get("parameters", []):
            if param["in"] != "query":
                continue
            for value in _edges(param["schema"]):
                r = served.get(path, "all", **{param["name"]: value})
                assert r.status_code in (400, 404), (path, param["name"], value, r.status_code, r.text[:200])
                assert r.headers["content-type"].startswith("application/problem+json")
                tried += 1
    assert tried >= 40
    r = served.get("/events", "all", occurred_to="9999-12-31")
    assert r.status_code == 400 and "occurred_to" in r.json()["detail"]


def _walk_changes(served, key: str) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    items, cursor = [], None
    while True:
        body = served.get("/changes", key, limit=500, **({"cursor": cursor} if cursor else {})).json()
        items += body["items"]
        if not body["items"]:
            return items
        cursor = body["next_cursor"]


def test_changes_hide_incidents_and_special_population_persons_without_read_sensitive(served) -> None:  # type: ignore[no-untyped-def]
    with transaction(served.db_url) as s:
        served.keys["people-and-events"] = create_key(s, "people-and-events", ["read:people", "read:events"])
        incidents = set(s.scalars(select(Event.id).where(Event.kind == "incident")))
        special = set(s.scalars(select(SpecialStatus.person_id)))
    assert incidents and special
    everything = {(c["entity_type"], c["entity_id"]) for c in _walk_changes(served, "all")}
    assert {("event", i) for i in incidents} <= everything and {("person", p) for p in special} & everything
    plain = {(c["entity_type"], c["entity_id"]) for c in _walk_changes(served, "people-and-events")}
    assert plain, "the key sees the rest of the feed"
    assert not {e for t, e in plain if t == "event"} & incidents
    assert not {p for t, p in plain if t == "person"} & special


def test_a_grid_bound_key_sees_no_reference_outside_its_subtree(served) -> None:  # type: ignore[no-untyped-def]
    village, inside, outside = served.inside["grid"], served.inside, served.outside
    with transaction(served.db_url) as s:  # references that cross the village's border, as real data has them
        org = s.get(Organization, inside["organization"])
        org.responsible_person_id = outside["person"]
        stray = s.get(Household, outside["household"])
        stray.building_id = inside["building"]
        dispute = s.scalar(select(Event).where(Event.kind == "dispute", Event.grid_code.like(f"{village}%"))
                           .order_by(Event.id).limit(1))
        party = s.scalar(select(EventParty).where(EventParty.event_id == dispute.id).limit(1))
        party.person_id, outsider_name = outside["person"], s.get(Person, outside["person"]).name
        party.name = outsider_name
    served.state.keys = type(served.state.keys)()  # nothing cached from before the edit
    building = served.get(f"/buildings/{inside['building']}", "village").json()
    assert outside["household"] not in {h["id"] for h in building["households"]}
    assert outside["household"] in {h["id"] for h in served.get(f"/buildings/{inside['building']}", "all").json()["households"]}
    org_seen = served.get(f"/organizations/{inside['organization']}", "village").json()
    assert org_seen["responsible_person_id"] == "outside your grid"
    assert served.get(f"/organizations/{inside['organization']}", "all").json()["responsible_person_id"] == outside["person"]
    event = served.get(f"/events/{dispute.id}", "village")
    assert outside["person"] not in event.text and outsider_name not in event.text
    assert "outside your grid" in event.text
    served.flush_audit()
    with transaction(served.db_url) as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.key_name == "village")))
    assert not any(outside["person"] in (r.person_ids or []) for r in rows)


def test_the_audit_records_query_client_refused_key_and_referenced_persons(served) -> None:  # type: ignore[no-untyped-def]
    with transaction(served.db_url) as s:
        some = s.scalar(select(Person).where(Person.name.is_not(None)).limit(1))
        org = s.scalar(select(Organization).where(Organization.responsible_person_id.is_not(None)).limit(1))
        revoked_id = s.scalar(select(ApiKey.id).where(ApiKey.name == "revoked"))
        heads = set(s.scalars(select(Household.head_person_id).where(Household.head_person_id.is_not(None))))
        building = s.scalar(select(Household.building_id).where(Household.head_person_id.is_not(None),
                                                               Household.building_id.is_not(None)).limit(1))
    assert served.get("/persons", "all", name=some.name, grid=served.inside["grid"]).status_code == 200
    assert served.get(f"/organizations/{org.id}", "all").status_code == 200
    assert served.get(f"/buildings/{building}", "all").status_code == 200
    assert served.get("/persons", "revoked").status_code == 401
    served.flush_audit()
    with transaction(served.db_url) as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    by_name = next(e for e in entries if e.route == "/persons" and e.key_name == "all")
    assert by_name.query and "grid=" + served.inside["grid"] in by_name.query
    assert some.name not in by_name.query and "name=%2A%2A%2A" in by_name.query
    assert by_name.client == "127.0.0.1"
    refused = next(e for e in entries if e.status == 401)
    assert refused.key_id == revoked_id and refused.client == "127.0.0.1"
    org_read = next(e for e in entries if e.route == "/organizations/{organization_id}")
    assert org.responsible_person_id in (org_read.person_ids or [])
    building_read = next(e for e in entries if e.route == "/buildings/{building_id}")
    assert set(building_read.person_ids or []) & heads
