"""The elderly left behind are found without probing every elderly person's household (issue 19): a
household of one by its size, and the one active member beside members who are not active through
the households the tags pass remembers (``tagscope.INACTIVE``). Each case is checked against the
probe of every elderly person it replaces and against a full pass."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update

from hub.db.models import Household, Person, PersonTag, StreamState
from hub.db.session import transaction
from hub.resolve.tags import derive_tags
from hub.resolve.tagscope import INACTIVE, inactive_households, left_alone
from tests.events.test_tag_scope import TODAY, _tags, township


@pytest.fixture
def ctx(tmp_path: Path) -> Any:
    ctx = township.make_context(tmp_path)
    store = township.Store(ctx)
    store.household("H1", "20100001", "唐山镇东村1组3号", group="001")
    store.household("H2", "20100002", "唐山镇东村1组4号", group="001")
    store.household("H3", "20100003", "唐山镇东村1组5号", group="001")
    store.person("ELDER", "H1", dt.date(1950, 3, 1), status="active")
    store.person("GRANDMA", "H1", dt.date(1930, 3, 1), status="active")
    store.person("SON", "H1", dt.date(1985, 5, 1), status="active")
    store.person("WIDOW", "H3", dt.date(1945, 1, 1), status="active")
    store.person("GONE", "H3", dt.date(1944, 1, 1), status="deceased")
    for n in range(20):  # the rest of the village, untouched by what follows
        store.person(f"P{n:02}", "H2", dt.date(1940 + 3 * n, 1, 1), status="active")
    store.commit()
    first = derive_tags(ctx, today=TODAY)
    assert "persons_rechecked" not in first  # the first pass is the full one
    return ctx


def _remembered(ctx: Any) -> list[str] | None:
    with transaction(ctx.db_url) as s:
        return (s.get(StreamState, ("resolve", "tags")).state or {}).get(INACTIVE)


def _set(ctx: Any, pid: str, **values: Any) -> None:
    with transaction(ctx.db_url) as s:
        s.execute(update(Person).where(Person.id == pid).values(**values))


def _agrees_with_full_pass(ctx: Any) -> None:
    full = derive_tags(ctx, today=TODAY, full=True)
    assert (full["tags_added"], full["tags_removed"]) == (0, 0)


def test_the_first_pass_remembers_the_households_with_a_member_not_active(ctx: Any) -> None:
    assert _remembered(ctx) == ["H3"]
    assert _tags(ctx)["WIDOW"] == {"elderly", "elderly_alone"}  # the deceased husband does not count


def test_left_behind_beside_a_member_not_active(ctx: Any) -> None:
    """GRANDMA dies (one pass), then SON moves out (the next): ELDER is the only active member, yet H1 still
    has two members, so only the remembered households find him."""
    _set(ctx, "GRANDMA", status="deceased")
    derive_tags(ctx, today=TODAY)
    assert _remembered(ctx) == ["H1", "H3"]
    assert "elderly_alone" not in _tags(ctx)["ELDER"]
    with transaction(ctx.db_url) as s:
        s.add(Household(id="H4", household_no="20100004", address="唐山镇东村1组9号"))
    _set(ctx, "SON", household_id="H4")
    counts = derive_tags(ctx, today=TODAY)
    assert counts["persons_rechecked"] < 8 and counts["tags_added"] == 1
    assert _tags(ctx)["ELDER"] == {"elderly", "elderly_alone"}
    _agrees_with_full_pass(ctx)


def test_a_household_left_with_one_member(ctx: Any) -> None:
    _set(ctx, "GRANDMA", household_id=None)
    derive_tags(ctx, today=TODAY)
    _set(ctx, "SON", household_id=None)
    derive_tags(ctx, today=TODAY)
    assert _tags(ctx)["ELDER"] == {"elderly", "elderly_alone"}
    _agrees_with_full_pass(ctx)


def test_a_member_active_again_leaves_the_remembered_households(ctx: Any) -> None:
    _set(ctx, "GONE", status="active")  # a registry error corrected
    derive_tags(ctx, today=TODAY)
    assert _remembered(ctx) == []
    assert "elderly_alone" not in _tags(ctx)["WIDOW"]
    _agrees_with_full_pass(ctx)


def test_a_state_written_before_the_key_is_completed_once(ctx: Any) -> None:
    with transaction(ctx.db_url) as s:
        row = s.get(StreamState, ("resolve", "tags"))
        row.state = {k: v for k, v in row.state.items() if k != INACTIVE}
    assert derive_tags(ctx, today=TODAY) == {"unchanged": 1}  # nobody changed: nothing looked at
    assert _remembered(ctx) is None
    _set(ctx, "GRANDMA", status="deceased")
    _set(ctx, "SON", household_id=None)
    derive_tags(ctx, today=TODAY)
    assert _remembered(ctx) == ["H1", "H3"]
    assert _tags(ctx)["ELDER"] == {"elderly", "elderly_alone"}
    _agrees_with_full_pass(ctx)


def test_same_answer_as_probing_every_elderly_person(ctx: Any) -> None:
    _set(ctx, "GRANDMA", status="left")  # ELDER: alone beside a member who left
    _set(ctx, "SON", household_id=None)
    with transaction(ctx.db_url) as s:
        s.add(Household(id="H9", household_no="20100009", address="唐山镇东村1组19号"))
    _set(ctx, "P00", household_id="H9")  # alone by the household's size
    with transaction(ctx.db_url) as s:  # forget every elderly_alone tag: each such person is an answer again
        s.execute(delete(PersonTag).where(PersonTag.tag == "elderly_alone"))
        connection = s.connection()
        probed = left_alone(connection, TODAY)
        found = left_alone(connection, TODAY, inactive_households(connection))
    assert probed == found == {"ELDER", "WIDOW", "P00"}
