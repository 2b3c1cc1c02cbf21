"""A grid's pages (everyone living or registered there) read as two halves merged: walked page by page,
they hold exactly the persons, in exactly the order, of the one statement they replace, with other
filters too; and someone who moves away shows up at once (the 'away' list is re-read on a change)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from hub.api.routers.person_presence import presence_clause, row_key
from hub.api.routers.persons import years_before
from hub.api.subtree import subtree
from hub.db.models import GridCell, Person, PersonTag
from hub.db.session import transaction


def _walk(served, **params) -> list[str]:  # type: ignore[no-untyped-def]
    ids, cursor = [], None
    while True:
        r = served.get("/persons", "all", limit=7, **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        body = r.json()
        ids += [p["id"] for p in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return ids


def _expected(served, grid: str, level: int, *where) -> list[str]:  # type: ignore[no-untyped-def]
    with transaction(served.db_url) as s:
        rows = s.execute(select(Person.id, Person.grid_code).where(presence_clause(subtree(grid, level), "all"), *where))
        return [r.id for r in sorted(rows, key=row_key)]  # the pages' one order: no grid code first


def _register_elsewhere(served) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """Everyone registered where they live, then every 9th person registered in the first village while
    living in another, and every 23rd of those with no known residence (a NULL grid code sorts first,
    on every store)."""
    with transaction(served.db_url) as s:
        grids = [tuple(r) for r in s.execute(select(GridCell.code, GridCell.level).where(GridCell.level.in_((1, 2)))
                                              .order_by(GridCell.code))]
        village = next(code for code, level in grids if level == 2)
        s.execute(update(Person).values(registered_grid_code=Person.grid_code))
        ids = list(s.scalars(select(Person.id).where(~Person.grid_code.like(f"{village}%")).order_by(Person.id)))
        movers = ids[::9]
        s.execute(update(Person).where(Person.id.in_(movers)).values(registered_grid_code=village + "002"))
        s.execute(update(Person).where(Person.id.in_(movers[::23])).values(grid_code=None))
        away = s.scalar(select(func.count()).select_from(Person).where(
            Person.registered_grid_code.like(f"{village}%"), ~func.coalesce(Person.grid_code, "").like(f"{village}%")))
    assert away > 20
    return grids


def test_grid_pages_equal_the_single_statement(served) -> None:  # type: ignore[no-untyped-def]
    grids = _register_elsewhere(served)
    for grid, level in grids[:4]:
        assert _walk(served, grid=grid) == _expected(served, grid, level)
    grid, level = grids[1]
    tagged = select(PersonTag.person_id).where(PersonTag.tag == "elderly")
    assert _walk(served, grid=grid, tag="elderly") == _expected(served, grid, level, Person.id.in_(tagged))
    bound = years_before(dt.datetime.now(dt.UTC).date(), 60)
    assert _walk(served, grid=grid, age_min=60) == _expected(served, grid, level, Person.birth_date <= bound)


def test_someone_moving_away_is_listed_at_once(served) -> None:  # type: ignore[no-untyped-def]
    _register_elsewhere(served)
    with transaction(served.db_url) as s:
        village = s.scalar(select(GridCell.code).where(GridCell.level == 2).order_by(GridCell.code))
        other = s.scalar(select(GridCell.code).where(GridCell.level == 2, GridCell.code != village)
                         .order_by(GridCell.code.desc()))
    before = _walk(served, grid=village)  # the away list of this village is now kept
    with transaction(served.db_url) as s:
        mover = s.scalar(select(Person.id).where(Person.grid_code.like(f"{other}%"),
                                                  Person.registered_grid_code.like(f"{other}%")).order_by(Person.id))
        s.execute(update(Person).where(Person.id == mover).values(registered_grid_code=village + "001"))
    after = _walk(served, grid=village)
    assert mover not in before and mover in after
    assert after == _expected(served, village, 2)
