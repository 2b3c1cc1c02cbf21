"""A grid's pages when some of those registered there have no known residence (no grid code).

They sort first on every store (SQLite's own order; PostgreSQL is told NULLS FIRST), and a page that
ends on one hands out a cursor ``[null, id]`` that the next page accepts: a walk of every page holds
every person the grid concerns exactly once, in that one order, on SQLite and on PostgreSQL, through
the plain page, the filtered page (read in batches of the kept list) and ``presence=`` lists. And the
kept list of those living elsewhere is read again after one of them is removed (a deletion moves no
``updated_at``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update

from hub.api.routers.person_presence import presence_clause, row_key
from hub.api.subtree import subtree
from hub.db.models import GridCell, Person
from hub.db.session import transaction
from hub.resolve.store import retire, write_feed


def _walk(served, limit: int, **params: Any) -> list[str]:  # type: ignore[no-untyped-def]
    """Every page of a list, by cursor; each page must answer 200."""
    ids: list[str] = []
    cursor = None
    for _ in range(10_000):
        r = served.get("/persons", "all", limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, (len(ids), r.text[:300])
        body = r.json()
        ids += [p["id"] for p in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return ids
    raise AssertionError("the walk does not end")


def _expected(served, village: str, presence: str = "all", *where: Any) -> list[str]:  # type: ignore[no-untyped-def]
    """Who the grid concerns, in the one order of the pages: no grid code first, then (grid_code, id)."""
    with transaction(served.db_url) as s:
        rows = s.execute(select(Person.id, Person.grid_code).where(presence_clause(subtree(village, 2), presence), *where))
        return [r.id for r in sorted(rows, key=row_key)]


def _village(served) -> str:  # type: ignore[no-untyped-def]
    with transaction(served.db_url) as s:
        return s.scalar(select(GridCell.code).where(GridCell.level == 2).order_by(GridCell.code))


def _registered_nowhere(served, village: str, extra: int, nowhere: bool = True) -> int:  # type: ignore[no-untyped-def]
    """Every 7th person of other villages registered in ``village`` while living where they are, every 5th
    (with ``nowhere``) registered there with no known residence, and ``extra`` new persons registered
    there with no residence; returns how many have no grid code."""
    group = village + "002"
    with transaction(served.db_url) as s:
        others = list(s.scalars(select(Person.id).where(~Person.grid_code.like(f"{village}%")).order_by(Person.id)))
        s.execute(update(Person).where(Person.id.in_(others[::7])).values(registered_grid_code=group))
        if nowhere:
            s.execute(update(Person).where(Person.id.in_(others[::5])).values(registered_grid_code=group, grid_code=None))
        if extra:
            s.execute(insert(Person), [{"id": f"pnull{i:05d}", "name": f"测试{i}", "gender": "U", "grid_code": None,
                                        "registered_grid_code": group, "status": "active", "floating": False,
                                        "provenance": {}} for i in range(extra)])
        return s.scalar(select(func.count()).select_from(Person).where(
            Person.grid_code.is_(None), Person.registered_grid_code == group))


def test_a_walk_goes_past_persons_with_no_grid_code(served) -> None:  # type: ignore[no-untyped-def]
    village = _village(served)
    assert _registered_nowhere(served, village, extra=60) > 110  # more than two pages of 50 of them
    expected = _expected(served, village)
    assert len(set(expected)) == len(expected)
    for limit in (7, 50):
        assert _walk(served, limit, grid=village) == expected, limit
    # filtered (the kept list read in batches) and one-statement lists (presence=)
    has_birth = Person.birth_date.is_not(None)
    assert _walk(served, 7, grid=village, age_max=150) == _expected(served, village, "all", has_birth)
    for presence in ("away", "registered"):
        assert _walk(served, 7, grid=village, presence=presence) == _expected(served, village, presence), presence


def test_more_than_a_batch_with_no_grid_code(served) -> None:  # type: ignore[no-untyped-def]
    """Over 500 of them: the general path reads the kept list 500 ids at a time; each batch must come back
    in the pages' order (NULL grid codes first) on PostgreSQL too, or a page drops the ones its LIMIT cut."""
    village = _village(served)
    assert _registered_nowhere(served, village, extra=520) > 500
    expected = _expected(served, village)
    assert _walk(served, 50, grid=village) == expected
    named = _walk(served, 50, grid=village, age_max=150)
    assert named == _expected(served, village, "all", Person.birth_date.is_not(None))
    assert _walk(served, 50, grid=village, presence="away") == _expected(served, village, "away")


def test_a_removal_is_seen_by_the_kept_list(served) -> None:  # type: ignore[no-untyped-def]
    """A person living elsewhere removed by resolve (``retire``: deleted, logged in the change feed) moves
    no ``updated_at``: the list kept of those registered in the village is read again all the same."""
    village = _village(served)
    _registered_nowhere(served, village, extra=0, nowhere=False)
    before = _walk(served, 7, grid=village)
    rng = subtree(village, 2)
    kept = served.state.away[rng][1]
    gone = kept[len(kept) // 2][2]
    assert gone in before
    with transaction(served.db_url) as s:
        newest = s.scalar(select(func.max(Person.updated_at)))
        feed: list[dict[str, Any]] = []
        retire(s, Person.__table__, "person", {gone: None}, feed, "R-test")
        write_feed(s, feed)
    with transaction(served.db_url) as s:
        assert s.scalar(select(func.max(Person.updated_at))) == newest
    after = _walk(served, 7, grid=village)
    assert gone not in after and after == [p for p in before if p != gone]
    assert gone not in {k[2] for k in served.state.away[rng][1]}, "the kept list still holds the removed person"
