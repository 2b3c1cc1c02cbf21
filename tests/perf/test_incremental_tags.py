"""Tags are recomputed only for the persons a change can reach, and the calendar's own changes (a
18th or 60th birthday) in a daily pass over those whose birthday passed: after each incremental
pass, a full pass over the county finds nothing to add or remove."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parents[1] / "resolve"))

from county import build_county, deliver, stash_days, sync_all  # noqa: E402

from hub.db.models import Person, PersonTag  # noqa: E402
from hub.db.session import transaction  # noqa: E402
from hub.resolve import resolve  # noqa: E402
from hub.resolve.tags import derive_tags  # noqa: E402

TODAY = dt.date(2026, 11, 2)


def _tags(ctx) -> list[tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    with transaction(ctx.db_url) as s:
        return [tuple(r) for r in s.execute(select(PersonTag.person_id, PersonTag.tag, PersonTag.sensitive)
                                            .order_by(PersonTag.person_id, PersonTag.tag))]


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_SECRET_KEY", "perf-incremental-tags")
        out = tmp_path_factory.mktemp("county")
        ctx, stop, sources = build_county(out, residents=1500, days=2)
        try:
            moved = stash_days(out, out.parent / (out.name + "-stash"))
            stop.set_day(1)
            sync_all(ctx, sources)
            first = resolve(ctx, today=TODAY)  # the first pass has nothing to start from: the whole county
            deliver(moved)
            stop.set_day(2)
            sync_all(ctx, sources)
            yield ctx, first
        finally:
            stop()


def test_a_day_of_changes_rechecks_few_and_equals_a_full_pass(county) -> None:  # type: ignore[no-untyped-def]
    ctx, first = county
    assert "persons_rechecked" not in first.tags
    with transaction(ctx.db_url) as s:
        persons = s.scalar(select(func.count()).select_from(Person))
    day = resolve(ctx, today=TODAY)
    assert 0 < day.tags["persons_rechecked"] < persons / 2
    after_incremental = _tags(ctx)
    full = derive_tags(ctx, TODAY, full=True)
    assert (full["tags_added"], full["tags_removed"]) == (0, 0)  # the full pass agrees with every tag
    assert _tags(ctx) == after_incremental
    assert {k: v for k, v in day.tags.items() if k.startswith("tag_")} == {
        k: v for k, v in full.items() if k.startswith("tag_")}


def test_the_daily_pass_finds_the_birthdays_that_passed(county) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = county
    resolve(ctx, today=TODAY)
    later = TODAY + dt.timedelta(days=400)  # a year and more: some turn 18, some turn 60
    daily = derive_tags(ctx, later)
    assert daily["tags_added"] > 0 and daily["tags_removed"] > 0
    full = derive_tags(ctx, later, full=True)
    assert (full["tags_added"], full["tags_removed"]) == (0, 0)
