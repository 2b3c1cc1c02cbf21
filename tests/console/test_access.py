"""Who sees what through the console, over real HTTP: roles, a grid user's subtree, CSRF, cookies,
masking, the audit log, and that no page names an outside host."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.db.models import AuditEntry, Building, Event, GridCell, Person, QuarantinedRow
from hub.db.session import transaction

# every console URL that reads data; {grid} is filled with a grid inside / outside the grid user's subtree
GRID_URLS = ["/console/map?grid={grid}", "/console/map/data?grid={grid}", "/console/grids/{grid}",
             "/console/grids/{grid}?tab=care", "/console/grids/{grid}?tab=buildings", "/console/grids/{grid}?tab=children",
             "/console/events?grid={grid}", "/console/map?grid={grid}&figure=events_open",
             "/console/map/data?grid={grid}&figure=elderly_alone", "/console/grids/{grid}/ledger.xlsx",
             "/console/assessment?township={grid}", "/console/assessment.xlsx?township={grid}"]
STEWARD_URLS = ["/console/overview", "/console/quarantine", "/console/quarantine/{qid}", "/console/review",
                "/console/review/{rid}", "/console/quality"]
HOST = re.compile(r"""(?:src|href|action|url)\s*[=(]\s*["']?(?:https?:)?//([^/"'\s)]+)""", re.I)


def _ids(served) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with transaction(served.county.ctx.db_url) as s:
        qid = s.scalar(select(QuarantinedRow.id).order_by(QuarantinedRow.id).limit(1))
        from hub.db.models import MatchReview

        rid = s.scalar(select(MatchReview.id).order_by(MatchReview.id).limit(1))
        groups = list(s.scalars(select(GridCell.code).where(GridCell.parent_code == served.county.other_village)))
        other_name = s.get(GridCell, served.county.other_village).name
        township_name = s.get(GridCell, served.county.township).name
    return {"qid": str(qid), "rid": str(rid), "group": groups[0], "other_name": other_name,
            "township_name": township_name}


def test_grid_user_reaches_only_their_subtree(served) -> None:  # type: ignore[no-untyped-def]
    county = served.county
    ids = _ids(served)
    client = served.login("grid")
    failures = []
    for template in GRID_URLS:
        for grid, want in ((county.village, 200), (county.other_village, 404), (ids["group"], 404),
                           (county.township, 404)):
            r = client.get(template.format(grid=grid))
            if r.status_code != want:
                failures.append(f"{template.format(grid=grid)}: {r.status_code}, expected {want}")
            if want == 404 and (ids["other_name"] in r.text or ids["township_name"] in r.text):
                failures.append(f"{template.format(grid=grid)} names a grid outside the user's")
    for template in STEWARD_URLS:
        r = client.get(template.format(**ids))
        if r.status_code != 403:
            failures.append(f"{template}: {r.status_code}, expected 403")
    # lists without a grid are cut to the user's subtree
    for path in ("/console/map", "/console/map/data", "/console/events", "/console/map/data?figure=events_open",
                 "/console/assessment", "/console/assessment?period=2026Q3"):
        r = client.get(path)
        codes = set(re.findall(r"\b\d{12}(?:\d{3})?\b", r.text))
        outside = {c for c in codes if not c.startswith(county.village) and not county.village.startswith(c)}
        if r.status_code != 200 or outside:
            failures.append(f"{path}: {r.status_code}, codes outside the grid: {sorted(outside)[:5]}")
    assert not failures, "\n".join(failures)


def test_posts_need_the_role_and_the_csrf_token(served) -> None:  # type: ignore[no-untyped-def]
    ids = _ids(served)
    grid = served.login("grid")
    token = re.search(r'name="csrf" value="([^"]+)"', grid.get("/console/map").text).group(1)
    for path, data in (("/console/quarantine/actions", {"ids": ids["qid"], "action": "dismiss", "note": "x"}),
                       ("/console/review/actions", {"ids": ids["rid"], "decision": "accept", "reason": "x"}),
                       (f"/console/review/{ids['rid']}/undo", {})):
        assert grid.post(path, data={**data, "csrf": token}).status_code == 403, path
    steward = served.login("steward")
    r = steward.post("/console/quarantine/actions", data={"ids": ids["qid"], "action": "dismiss", "note": "x"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = steward.post("/console/quarantine/actions", data={"ids": ids["qid"], "action": "dismiss", "note": "x",
                                                          "csrf": token})  # another session's token
    assert r.status_code == 403
    with transaction(served.county.ctx.db_url) as s:
        assert s.get(QuarantinedRow, int(ids["qid"])).status == "open"


def test_sessions_cookies_and_logins(served) -> None:  # type: ignore[no-untyped-def]
    import httpx

    anon = httpx.Client(base_url=served.url, follow_redirects=False)
    r = anon.get("/console/grids/" + served.county.village)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next=")
    page = anon.get("/console/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    bad = anon.post("/console/login", data={"username": "steward", "password": "wrong-password", "csrf": token})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    page = anon.get("/console/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    ok = anon.post("/console/login", data={"username": "steward", "password": "steward-pass-1", "csrf": token,
                                           "next": "https://evil.example/"})
    assert ok.status_code == 303 and ok.headers["location"] == "/console/"  # never an open redirect
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # plain http on loopback: see README (Secure whenever served over https)
    # plain http under another host name is refused: a county network must put TLS in front
    remote = httpx.Client(base_url=served.url, headers={"Host": "console.county.example"}, follow_redirects=False)
    r = remote.get("/console/login")
    assert "HTTPS" in r.text
    r = remote.post("/console/login", data={"username": "steward", "password": "steward-pass-1", "csrf": "x"})
    assert r.status_code == 403 and "set-cookie" not in {k.lower() for k in r.headers if "hub_console=" in r.headers[k]}
    logout_token = re.search(r'name="csrf" value="([^"]+)"', anon.get("/console/overview").text).group(1)
    assert anon.post("/console/logout", data={"csrf": logout_token}).status_code == 303
    assert anon.get("/console/overview").status_code == 303  # the session is gone


def test_ids_decrypted_only_for_stewards_and_views_audited(served) -> None:  # type: ignore[no-untyped-def]
    village = served.county.village
    full_id = re.compile(r"\b\d{17}[\dX]\b")
    masked = re.compile(r"\b\d{6}\*{8}\d{3}[\dX]\b")
    grid_page = served.login("grid").get(f"/console/grids/{village}?tab=households").text
    assert masked.search(grid_page) and not full_id.search(grid_page)
    steward_page = served.login("steward").get(f"/console/grids/{village}?tab=households").text
    assert full_id.search(steward_page)
    viewer = served.login("viewer").get(f"/console/grids/{village}?tab=households").text
    assert not masked.search(viewer) and not full_id.search(viewer) and "households" not in viewer.split('id="listing"')[1]
    served.flush_audit()
    with transaction(served.county.ctx.db_url) as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.path == f"/console/grids/{village}",
                                                       AuditEntry.user_name.in_(["grid", "steward"]))))
    assert {r.user_name for r in rows if r.person_ids} == {"grid", "steward"}  # who, and which persons they saw


def test_no_page_names_an_outside_host(served) -> None:  # type: ignore[no-untyped-def]
    ids = _ids(served)
    steward = served.login("steward")
    with transaction(served.county.ctx.db_url) as s:
        building = s.scalar(select(Building.grid_code).where(Building.grid_code.is_not(None)).limit(1))
        event_grid = s.scalar(select(Event.grid_code).where(Event.grid_code.is_not(None)).limit(1))
    pages = [p.format(**ids) for p in STEWARD_URLS] + [u.format(grid=g) for u in GRID_URLS for g in (building, event_grid)
                                                       if not u.endswith(".xlsx")]
    pages += ["/console/login", "/console/map", "/console/events", "/console/assessment", "/docs"]
    found = {}
    for path in pages:
        r = steward.get(path)
        assert r.status_code == 200, path
        hosts = {h for h in HOST.findall(r.text) if not h.startswith(("127.0.0.1", "localhost"))}
        if hosts:
            found[path] = hosts
    for asset in ("console.css", "console.js", "map.js", "vendor/leaflet/leaflet.css"):
        text = steward.get(f"/console/static/{asset}").text
        hosts = {h for h in re.findall(r"url\(\s*['\"]?(?:https?:)?//([^/'\")]+)", text)}
        if hosts:
            found[asset] = hosts
    assert not found, found
    csp = steward.get("/console/overview").headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp


def test_ledger_download_is_masked_for_grid_users_and_audited(served) -> None:  # type: ignore[no-untyped-def]
    import io

    import openpyxl

    village = served.county.village
    r = served.login("grid").get(f"/console/grids/{village}/ledger.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    cells = " ".join(str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)
    with transaction(served.county.ctx.db_url) as s:
        tokens = s.scalars(select(Person.citizen_id_enc).where(Person.grid_code.like(f"{village}%"),
                                                               Person.citizen_id_enc.is_not(None)))
        clear = {served.county.ctx.vault.decrypt(t) for t in tokens}
    assert clear and not {c for c in clear if c and c in cells}  # no clear citizen ID for a grid user
    assert re.search(r"\b\d{6}\*{8}\d{3}[\dX]\b", cells)  # masked ones instead
    assert served.login("viewer").get(f"/console/grids/{village}/ledger.xlsx").status_code == 403
    served.flush_audit()
    with transaction(served.county.ctx.db_url) as s:
        row = s.scalar(select(AuditEntry).where(AuditEntry.path == f"/console/grids/{village}/ledger.xlsx",
                                                AuditEntry.user_name == "grid"))
    assert row is not None and row.person_ids
