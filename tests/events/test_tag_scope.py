"""Tags after a first pass look only at the persons a change can reach, with no county-wide count:
the elderly person a mover leaves behind (whose own record did not change) still gets ``elderly_alone``,
and a full pass afterwards finds nothing to add or remove.

(Beside the events tests: the tags' scope is the same question, "what can this change reach".)
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.db.models import Household, Person, PersonTag
from hub.db.session import transaction
from hub.resolve.tags import derive_tags

_spec = importlib.util.spec_from_file_location(
    "township_for_tags", Path(__file__).parents[1] / "resolve_places" / "conftest.py")
assert _spec is not None and _spec.loader is not None
township = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(township)

TODAY = dt.date(2026, 11, 2)


@pytest.fixture
def ctx(tmp_path: Path) -> Any:
    ctx = township.make_context(tmp_path)
    store = township.Store(ctx)
    store.household("H1", "20100001", "唐山镇东村1组3号", group="001")
    store.household("H2", "20100002", "唐山镇东村1组4号", group="001")
    store.person("ELDER", "H1", dt.date(1950, 3, 1), status="active")
    store.person("SON", "H1", dt.date(1985, 5, 1), status="active")
    for n in range(20):  # the rest of the village, untouched by what follows
        store.person(f"P{n:02}", "H2", dt.date(1940 + 3 * n, 1, 1), status="active")
    store.commit()
    first = derive_tags(ctx, today=TODAY)
    assert "persons_rechecked" not in first  # the first pass is the full one
    return ctx


def _tags(ctx: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with transaction(ctx.db_url) as s:
        for pid, tag in s.execute(select(PersonTag.person_id, PersonTag.tag)):
            out.setdefault(pid, set()).add(tag)
    return out


def test_nothing_changed_reads_nothing(ctx: Any) -> None:
    assert derive_tags(ctx, today=TODAY) == {"unchanged": 1}


def test_the_elderly_left_behind_by_a_mover_live_alone(ctx: Any) -> None:
    assert _tags(ctx)["ELDER"] == {"elderly"}
    with transaction(ctx.db_url) as s:  # the son moves to a household of his own; the father's record is as it was
        s.add(Household(id="H3", household_no="20100003", address="唐山镇东村1组9号"))
        s.flush()
        s.execute(update(Person).where(Person.id == "SON").values(household_id="H3"))
    counts = derive_tags(ctx, today=TODAY)
    assert counts["persons_rechecked"] < 5 and counts["tags_added"] == 1
    assert _tags(ctx)["ELDER"] == {"elderly", "elderly_alone"}
    full = derive_tags(ctx, today=TODAY, full=True)
    assert (full["tags_added"], full["tags_removed"]) == (0, 0)


def test_someone_moving_in_ends_living_alone(ctx: Any) -> None:
    with transaction(ctx.db_url) as s:
        s.execute(update(Person).where(Person.id == "SON").values(household_id=None))  # leaves: no household
    derive_tags(ctx, today=TODAY)
    assert "elderly_alone" in _tags(ctx)["ELDER"]
    with transaction(ctx.db_url) as s:  # back home
        s.execute(update(Person).where(Person.id == "SON").values(household_id="H1"))
    counts = derive_tags(ctx, today=TODAY)
    assert counts["tags_removed"] == 1 and "elderly_alone" not in _tags(ctx)["ELDER"]
    full = derive_tags(ctx, today=TODAY, full=True)
    assert (full["tags_added"], full["tags_removed"]) == (0, 0)
