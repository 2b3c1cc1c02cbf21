"""Every filter the API offers is served by an index: no request scans person, event or organization.

The statements a request really runs are captured from the engine and explained with their own
parameters (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN with sequential scans priced out, so a
small test table cannot hide a missing index).
"""

from __future__ import annotations

import re

from sqlalchemy import event

from hub.db.session import get_engine

GUARDED = ("person", "event", "organization", "household", "building")
FILTERED = [
    ("/persons", {}), ("/persons", {"grid": "{village}"}), ("/persons", {"grid": "{group}"}),
    ("/persons", {"tag": "elderly"}), ("/persons", {"name": "{name}"}), ("/persons", {"age_min": 60}),
    ("/persons", {"age_max": 30}), ("/persons", {"grid": "{village}", "tag": "elderly"}),
    ("/persons", {"grid": "{village}", "age_min": 60, "age_max": 80}),
    ("/persons", {"grid": "{village}", "presence": "away"}), ("/persons", {"grid": "{group}", "presence": "incoming"}),
    ("/persons", {"grid": "{village}", "presence": "registered"}),
    ("/organizations", {}), ("/organizations", {"grid": "{village}"}), ("/organizations", {"key_unit": "true"}),
    ("/organizations", {"category": "一般单位"}),
    ("/events", {}), ("/events", {"grid": "{village}"}), ("/events", {"kind": "dispute"}),
    ("/events", {"status": "open"}), ("/events", {"overdue": "true"}), ("/events", {"category": "邻里纠纷"}),
    ("/events", {"occurred_from": "2026-08-01", "occurred_to": "2026-09-30"}),
    ("/grids", {"level": 3}), ("/grids", {"parent": "{village}"}), ("/changes", {}),
]
UNFILTERED_DETAIL = ["/grids/{village}", "/grids/{village}.geojson", "/persons/{person}", "/households/{household}",
                     "/organizations/{organization}", "/events/{event}", "/buildings/{building}"]


def _capture(served, path: str, params: dict[str, object], key: str = "all") -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    engine = served.state.engine
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and " api_key" not in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        r = served.get(path, key, **params)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert r.status_code == 200, (path, params, r.text[:300])
    return seen


def _plan(served, statement: str, parameters: object, *, sorts_priced_out: bool = False) -> str:  # type: ignore[no-untyped-def]
    engine = get_engine(served.db_url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in cur.fetchall())
        cur.execute("SET enable_seqscan = off")
        if sorts_priced_out:  # a sort of a small test table is cheap: is there an index that gives the order?
            cur.execute("SET enable_sort = off")
        cur.execute("EXPLAIN " + statement, parameters)
        return "\n".join(str(row[0]) for row in cur.fetchall())
    finally:
        raw.rollback()
        raw.close()


def _full_scans(plan: str, sqlite: bool) -> list[str]:
    if sqlite:
        return [line for line in plan.splitlines()
                if (m := re.search(r"\bSCAN (\w+)", line)) and m.group(1) in GUARDED and "USING" not in line]
    return [line for line in plan.splitlines()
            if (m := re.search(r"Seq Scan on (\w+)", line)) and m.group(1) in GUARDED]


def _values(served) -> dict[str, str]:  # type: ignore[no-untyped-def]
    village = served.inside["grid"]
    group = next(c for c in served.spec.grids if c.startswith(village) and len(c) == 15)
    person = served.get(f"/persons/{served.inside['person']}", "all").json()
    return {"village": village, "group": group, "name": person["name"], **served.inside}


def test_every_filter_is_served_by_an_index(served) -> None:  # type: ignore[no-untyped-def]
    sqlite = served.db_url.startswith("sqlite")
    values = _values(served)
    failures: list[str] = []
    for path, raw in FILTERED:
        params = {k: str(v).format(**values) for k, v in raw.items()}
        for statement, parameters in _capture(served, path, params):
            plan = _plan(served, statement, parameters)
            for line in _full_scans(plan, sqlite):
                failures.append(f"{path} {params}: {line.strip()}")
            main = re.search(r"FROM (\w+)", statement).group(1)  # type: ignore[union-attr]
            if params and main in GUARDED and main != "person" or (main == "person" and params and "tag" not in params):
                # a filtered list must seek by its filter, not walk the primary key and test each row
                seeks = (f"SEARCH {main}" in plan) if sqlite else ("Index Cond" in plan or "Bitmap Index" in plan)
                if not seeks:
                    failures.append(f"{path} {params}: no index seek on {main}:\n{plan}")
    for template in UNFILTERED_DETAIL:
        path = template.format(**values)
        for statement, parameters in _capture(served, path, {}):
            for line in _full_scans(_plan(served, statement, parameters), sqlite):
                failures.append(f"{path}: {line.strip()}")
    assert not failures, "\n".join(failures)


def test_a_grid_page_is_read_in_its_own_order(served) -> None:  # type: ignore[no-untyped-def]
    """Walking a village page by page must not sort on each page: its (grid_code, id) order is an index's
    (migration 0019). Without it SQLite read the page's whole first grid code and sorted it every time.
    Nor walk past the persons before its cursor: a page deep in a large group read all of them."""
    sqlite = served.db_url.startswith("sqlite")
    village = _values(served)["village"]
    first = served.get("/persons", "all", grid=village, limit=5).json()
    assert first["next_cursor"], "the village must have more than one page"
    sorts: list[str] = []
    seeks: list[str] = []
    for params in ({"grid": village, "limit": 5}, {"grid": village, "limit": 5, "cursor": first["next_cursor"]}):
        # the residents' statements: a range of grid codes, or after a cursor the rest of its grid code
        # and the codes after it (not the away half's, read by a list of ids)
        residents = [(s, p) for s, p in _capture(served, "/persons", params)
                     if re.search(r"FROM person\b", s) and re.search(r"grid_code (>=|>|=) ", s) and " IN (" not in s]
        assert residents, "the page's residents statement was not seen"
        for statement, parameters in residents:
            plan = _plan(served, statement, parameters, sorts_priced_out=True)
            if ("TEMP B-TREE" in plan) if sqlite else re.search(r"\bSort\b", plan):
                sorts.append(f"{params}:\n{plan}")
            if "cursor" in params and " = " in statement:
                seeks.append(plan)
    assert not sorts, "\n".join(sorts)
    # after a cursor the page seeks to it: (grid_code = g AND id > i) in the index, not a walk of g from its start
    seek = r"grid_code=\? AND id>\?" if sqlite else r"Index Cond: \(\(\(?grid_code\)?(::text)? = .*\) AND \(\(?id\)?(::text)? > "
    assert any(re.search(seek, plan) for plan in seeks), "\n".join(seeks) or "no statement of the cursor's grid code"
