"""Each scope × each route × inside/outside a grid-bound key's subtree, on SQLite and PostgreSQL."""

from __future__ import annotations

from hub.api.keys import SCOPES

# (path template, the scope it needs: None = no key at all, "any" = any live key)
ROUTES = [
    ("/grids", "read:grids"),
    ("/grids/{grid}", "read:grids"),
    ("/grids/{grid}/children", "read:grids"),
    ("/grids/{grid}.geojson", "read:grids"),
    ("/persons?grid={grid}", "read:people"),
    ("/persons/{person}", "read:people"),
    ("/households/{household}", "read:people"),
    ("/buildings/{building}", "read:grids"),
    ("/organizations?grid={grid}", "read:grids"),
    ("/organizations/{organization}", "read:grids"),
    ("/events?grid={grid}", "read:events"),
    ("/events/{event}", "read:events"),
    ("/changes", "any"),
    ("/sources", "read:quality"),
    ("/health", None),
]
GRID_BOUND = {"/grids", "/changes", "/sources", "/health"}  # lists that filter rather than 404


def _fetch(served, template: str, ids: dict[str, str], key: str | None):  # type: ignore[no-untyped-def]
    path = template.format(**ids)
    headers = {"Authorization": f"Bearer {served.keys[key]}"} if key else {}
    return path, served.client.get(served.url + path, headers=headers)


def test_scope_matrix(served) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for template, needed in ROUTES:
        for scope in SCOPES:
            path, r = _fetch(served, template, served.inside, scope)
            want = 200 if needed in (None, "any", scope) else 403
            if r.status_code != want:
                failures.append(f"{scope:15} {path}: {r.status_code}, expected {want}")
            elif want == 403 and (r.headers["content-type"] != "application/problem+json"
                                  or needed not in r.json()["detail"]):
                failures.append(f"{scope} {path}: 403 without a problem naming {needed}")
        for key in (None, "revoked"):
            path, r = _fetch(served, template, served.inside, key)
            want = 200 if needed is None else 401
            if r.status_code != want:
                failures.append(f"{key or 'no key':15} {path}: {r.status_code}, expected {want}")
            if want == 401 and r.headers.get("www-authenticate") != "Bearer":
                failures.append(f"{key} {path}: 401 without WWW-Authenticate")
    assert not failures, "\n".join(failures)


def test_grid_bound_key_sees_only_its_subtree(served) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for template, _ in ROUTES:
        for where, ids in (("inside", served.inside), ("outside", served.outside)):
            path, r = _fetch(served, template, ids, "village")
            want = 404 if where == "outside" and template not in GRID_BOUND else 200
            if r.status_code != want:
                failures.append(f"{where:7} {path}: {r.status_code}, expected {want}")
            # the same path answers for an unbound key with every scope: it is the binding that hides it
            if where == "outside" and want == 404 and _fetch(served, template, ids, "all")[1].status_code != 200:
                failures.append(f"{path}: not visible even to an unbound key; the test proves nothing")
    assert not failures, "\n".join(failures)

    village = served.inside["grid"]
    persons = served.get("/persons", "village", limit=500).json()["items"]
    assert persons and all(p["grid_code"].startswith(village) for p in persons)
    grids = served.get("/grids", "village", limit=500).json()["items"]
    assert {g["code"] for g in grids} == {c for c in served.spec.grids if c.startswith(village)}
    assert served.get("/grids", "village", parent=served.outside["grid"]).json()["items"] == []
    inside_ids = {p for g, ids in served.spec.persons_by_grid.items() if g.startswith(village) for p in ids}
    changes = served.get("/changes", "village", limit=500).json()["items"]
    changed_persons = {c["entity_id"] for c in changes if c["entity_type"] == "person"}
    assert changed_persons and changed_persons <= inside_ids


def test_sensitive_matters_need_read_sensitive(served) -> None:  # type: ignore[no-untyped-def]
    spec = served.spec
    assert served.get(f"/events/{spec.incident_id}", "read:events").status_code == 404
    assert served.get(f"/events/{spec.incident_id}", "all").json()["kind"] == "incident"
    plain = served.get("/events", "read:events", limit=500).json()["items"]
    assert plain and all(e["kind"] != "incident" for e in plain)
    assert served.get("/events", "read:events", kind="incident").json()["items"] == []
    assert any(e["kind"] == "incident" for e in served.get("/events", "all", limit=500).json()["items"])

    person = spec.sensitive_person
    without = served.get(f"/persons/{person}", "all-but-pii").json()
    assert without["special_status"], "read:sensitive shows the special status"
    plain = served.get(f"/persons/{person}", "read:people").json()
    assert plain["special_status"] is None and "special_population" not in plain["tags"]
    assert "special_population" in without["tags"]
    assert served.get("/persons", "read:people", tag="special_population").json()["items"] == []
    assert served.get("/persons", "all", tag="special_population").json()["items"]
    assert plain["provenance"] is None and plain["sources"] is None
    quality = served.get(f"/persons/{person}", "all-but-pii").json()
    streams = {(s["source"], s["stream"]) for s in quality["sources"]}
    assert ("population", "persons") in streams and ("public-security", "special-persons") in streams
    steward = served.get(f"/persons/{person}", "steward").json()
    streams = {(s["source"], s["stream"]) for s in steward["sources"]}
    assert ("population", "persons") in streams and ("public-security", "special-persons") not in streams
    assert steward["special_status"] is None and steward["provenance"] is not None
