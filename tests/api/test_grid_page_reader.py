"""A grid's plain page on SQLite is read by ``GridPageReader`` on the driver's connection: every page of
every walk is byte for byte the page of the general path (the pre-built statements through SQLAlchemy),
for keys with and without ``read:pii`` / ``read:sensitive``, a grid-bound key, villages with people
registered there who live elsewhere (some with no known residence), and a person gone since the list of
those was kept."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from hub.api.routers import persons
from hub.db.models import Person
from hub.db.session import get_engine, transaction
from tests.api.test_grid_null_codes import _registered_nowhere, _village
from tests.api.test_grid_pages import _register_elsewhere

# the reader serves SQLite stores only (other stores take the general path): no PostgreSQL store to build
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

KEYS = ("all", "all-but-pii", "read:people", "village")


def _pages(served, key: str, **params) -> list[tuple[int, bytes, dict[str, str]]]:  # type: ignore[no-untyped-def]
    out, cursor = [], None
    while True:
        r: httpx.Response = served.get("/persons", key, **params, **({"cursor": cursor} if cursor else {}))
        headers = {k: v for k, v in r.headers.items() if k not in ("date", "server")}
        out.append((r.status_code, r.content, headers))
        cursor = r.json().get("next_cursor") if r.status_code == 200 else None
        if not cursor:
            return out


def _both(served, key: str, **params) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    assert persons.GRID_PAGE_READER
    fast = _pages(served, key, **params)
    persons.GRID_PAGE_READER = False
    try:
        general = _pages(served, key, **params)
    finally:
        persons.GRID_PAGE_READER = True
    return fast, general


@pytest.fixture
def sqlite_served(served):  # type: ignore[no-untyped-def]
    """The reader serves SQLite stores (other stores take the general path): the module runs on SQLite only."""
    assert served.db_url.startswith("sqlite")
    return served


def test_every_page_equals_the_general_path(sqlite_served) -> None:  # type: ignore[no-untyped-def]
    served = sqlite_served
    grids = _register_elsewhere(served)
    village = served.inside["grid"]
    group = next(c for c in served.spec.grids if c.startswith(village) and len(c) == 15)
    walked = 0
    for grid in [code for code, _level in grids[:4]] + [group]:
        for key in KEYS:
            for limit in (7, 50):
                fast, general = _both(served, key, grid=grid, limit=limit)
                assert fast == general, (grid, key, limit)
                walked += len(fast)
    assert served.state.pages is not None, "the reader was never used"
    assert walked > 100
    # the walks above saw people registered there and living elsewhere, NULL grid codes included
    with transaction(served.db_url) as s:
        assert s.scalar(select(func.count()).select_from(Person).where(Person.grid_code.is_(None))) > 0


def test_a_person_gone_since_the_list_was_kept(sqlite_served) -> None:  # type: ignore[no-untyped-def]
    """The kept list of those living elsewhere lasts while the table's newest ``updated_at`` stays; a row
    deleted meanwhile leaves the page short of a row it expected, and it reads on as the general path does."""
    served = sqlite_served
    grids = _register_elsewhere(served)
    village = next(code for code, level in grids if level == 2)
    _pages(served, "all", grid=village, limit=7)  # the list is kept now
    rng = next(r for r in served.state.away if r.lo == village)
    # one that sorts after every resident, not on the last page: the page that holds it has no resident
    # rows left over to make up for it
    above = [k for k in served.state.away[rng][1] if k[0] and k[1] >= rng.hi]
    assert len(above) > 20
    gone = above[len(above) // 2][2]
    engine = get_engine(served.db_url)
    raw = engine.raw_connection()
    try:
        version = raw.execute("SELECT max(updated_at) FROM person").fetchone()[0]
        raw.execute("PRAGMA foreign_keys = OFF")
        raw.execute("DELETE FROM person WHERE id = ?", (gone,))
        raw.commit()
        assert raw.execute("SELECT max(updated_at) FROM person").fetchone()[0] == version
    finally:
        raw.close()
    fast, general = _both(served, "all", grid=village, limit=7)
    assert fast == general
    assert gone.encode() not in b"".join(body for _s, body, _h in fast)


def test_pages_past_persons_with_no_grid_code(sqlite_served) -> None:  # type: ignore[no-untyped-def]
    """More than two pages of persons registered in a village with no grid code (they sort first): the
    reader's pages, cursors ``[null, id]`` included, equal the general path's, and every page answers."""
    served = sqlite_served
    village = _village(served)
    assert _registered_nowhere(served, village, extra=60) > 110
    for key in KEYS[:3]:
        for limit in (7, 50):
            fast, general = _both(served, key, grid=village, limit=limit)
            assert fast == general, (key, limit)
            assert all(status == 200 for status, _b, _h in fast)
            assert len(fast) > 3
