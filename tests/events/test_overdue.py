"""The events DAG's daily pass: open events become overdue on the right working day, once."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.context import HubContext
from hub.db.models import ChangeFeed, Event
from hub.db.session import transaction
from hub.events.overdue import mark_overdue

D = dt.date


@pytest.fixture
def ctx(tmp_path: Path) -> HubContext:
    (tmp_path / "hub.yaml").write_text(f"database: sqlite:///{tmp_path / 'hub.db'}\nlanding: landing\nsources: {{}}\n",
                                       encoding="utf-8")
    ctx = HubContext.from_config(tmp_path / "hub.yaml")
    ctx.ensure_store()
    accepted = dt.datetime(2026, 9, 30, 9)  # Wednesday before National Day
    rows = [
        Event(id="E-v", kind="dispute", source="dm", source_key="v", remit="village", status="assigned",
              accepted_at=accepted, history=[], details={}),
        Event(id="E-t", kind="incident", source="ps", source_key="t", remit="township", status="in_progress",
              accepted_at=accepted, history=[], details={}, sensitive=True),
        Event(id="E-c", kind="dispute", source="dm", source_key="c", remit="county", status="transferred",
              accepted_at=accepted, history=[], details={"passed_up_at": "2026-10-08T10:00:00"}),
        Event(id="E-h", kind="hazard", source="fs", source_key="h", remit="township", status="open",
              accepted_at=accepted, history=[], details={"rectification_due": "2026-10-30"}),
        Event(id="E-done", kind="dispute", source="dm", source_key="d", remit="village", status="closed",
              accepted_at=accepted, closed_at=dt.datetime(2026, 10, 20), history=[], details={}),
    ]
    with transaction(ctx.db_url) as s:
        s.add_all(rows)
    return ctx


def state(ctx: HubContext) -> dict[str, tuple[dt.date | None, bool, bool]]:
    with transaction(ctx.db_url) as s:
        return {e.id: (e.due_on, e.overdue, e.escalated) for e in s.scalars(select(Event))}


def test_village_event_is_due_on_the_make_up_saturday(ctx: HubContext) -> None:
    counts = mark_overdue(ctx, D(2026, 10, 10))
    s = state(ctx)
    assert s["E-v"] == (D(2026, 10, 10), False, False)  # due that very Saturday, not yet late
    assert s["E-t"] == (D(2026, 10, 13), False, False)  # 8, 9, 10 (make-up), 12, 13 October
    assert s["E-h"][0] == D(2026, 10, 30)  # the rectification deadline, not the plan's 5 days
    assert s["E-c"][1:] == (False, True)  # passed up on its one working day: escalated, in time
    assert s["E-done"] == (D(2026, 10, 10), True, False)  # closed on 20 October: late, and stays so
    assert counts["assessed"] == 5
    assert mark_overdue(ctx, D(2026, 10, 30))["assessed"] == 3  # handled events are final once assessed


def test_overdue_the_next_working_day_and_counted_once(ctx: HubContext) -> None:
    mark_overdue(ctx, D(2026, 10, 10))
    counts = mark_overdue(ctx, D(2026, 10, 11))  # Sunday: one day past the village deadline
    assert state(ctx)["E-v"][1] and not state(ctx)["E-t"][1]
    assert counts["newly_overdue"] == 1 and counts["overdue"] == 1
    with transaction(ctx.db_url) as s:
        feed = s.scalar(select(func.count()).select_from(ChangeFeed))
    again = mark_overdue(ctx, D(2026, 10, 11))
    assert again["updated"] == 0 and again["newly_overdue"] == 0 and again["overdue"] == 1
    with transaction(ctx.db_url) as s:
        assert s.scalar(select(func.count()).select_from(ChangeFeed)) == feed


def test_hazard_overdue_after_its_rectification_deadline(ctx: HubContext) -> None:
    assert not state(ctx)["E-h"][1]
    mark_overdue(ctx, D(2026, 10, 30))
    assert not state(ctx)["E-h"][1]
    mark_overdue(ctx, D(2026, 10, 31))
    assert state(ctx)["E-h"][1]


@pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime (Debian package) is not installed")
def test_a_utc_server_just_after_beijing_midnight_marks_overdue_on_beijings_day(ctx: HubContext, tmp_path: Path) -> None:
    """16:30 UTC on Saturday 10 October is 00:30 on Sunday the 11th in Beijing: the village case due on the
    10th is overdue now, not a day later (the daily pass takes no date: "today" is its own reading)."""
    code = ("from hub.context import HubContext; from hub.events.overdue import mark_overdue; "
            f"print(mark_overdue(HubContext.from_config({str(tmp_path / 'hub.yaml')!r}))['overdue'])")
    out = subprocess.run(["faketime", "2026-10-10 16:30:00", sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "TZ": "UTC"}, timeout=120)
    assert out.returncode == 0, out.stderr
    s = state(ctx)
    assert s["E-v"] == (D(2026, 10, 10), True, False)  # on the server's own (UTC) date it was not yet late
    assert not s["E-t"][1]
