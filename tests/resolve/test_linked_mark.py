"""Issue 19: after a resolved county, the entity step looks only at the records loaded since it last
linked (its mark), not at every record; a steward decision sends it back to probing every record."""

from __future__ import annotations

import datetime as dt
import sqlite3

from county import predicted
from sqlalchemy import func, select

from hub.db.models import SourceRecord
from hub.db.session import transaction
from hub.resolve import watermark
from hub.resolve.entities import changed_records, resolve_entities
from hub.resolve.persons.records import stream_plans
from hub.resolve.review import decide, request_review
from hub.stages.sync import sync


def _change_one_phone(out) -> str:  # type: ignore[no-untyped-def]
    """One resident's phone, stamped now by Beijing's clock (as bench/bench_county.py's change_one_row)."""
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(out / "population.db") as conn:
        ryid = conn.execute("SELECT ryid FROM t_rk_ry WHERE zxbz IS NULL OR zxbz != '1' ORDER BY ryid LIMIT 1 "
                            "OFFSET (SELECT COUNT(*) / 2 FROM t_rk_ry)").fetchone()[0]
        conn.execute("UPDATE t_rk_ry SET lxdh = ?, gxsj = ? WHERE ryid = ?", ("13900001234", now, ryid))
    return str(ryid)


def _candidates(ctx) -> tuple[int | None, int, set[int]]:  # type: ignore[no-untyped-def]
    """(records the next entity step would probe (None: all), records in the store, what a probe of
    every record reports as changed)."""
    with transaction(ctx.db_url) as session:
        runs = watermark.runs_since_linked(session)
        probed = None if runs is None else session.scalar(
            select(func.count()).select_from(SourceRecord).where(SourceRecord.last_run_id.in_(runs or ["-"])))
        everything = session.scalar(select(func.count()).select_from(SourceRecord)) or 0
        full, _ = changed_records(session, stream_plans(ctx, session))
    return probed, everything, full


def test_one_row_probes_only_what_changed_and_a_decision_probes_all(county) -> None:  # type: ignore[no-untyped-def]
    out, ctx, _, _ = county
    resolve_entities(ctx)  # the store settled (and the mark set) however the fixture left it
    probed, everything, leftovers = _candidates(ctx)
    assert probed == 0 and everything > 2000  # nothing loaded since: nothing to look at
    assert resolve_entities(ctx) == {"records_changed": 0}

    ryid = _change_one_phone(out)
    sync(ctx, "population", resolve=False)
    probed, everything, full_before = _candidates(ctx)
    assert probed == 1, f"{probed} of {everything} records would be probed for one changed row"
    before = predicted(ctx, "person")
    counts = resolve_entities(ctx)
    assert counts["records_changed"] == 1 and counts.get("person_updated") == 1, counts
    assert predicted(ctx, "person") == before  # the phone moves nobody
    # the probe of every record finds nothing the mark missed: only what it found before the change
    _, _, full_after = _candidates(ctx)
    assert full_after == leftovers and len(full_before - leftovers) == 1

    # a steward decision marks links stale on records no load touched: every record is probed again
    rid = request_review(ctx, "person", f"population|persons|{ryid}", "population|persons|nobody-else", 0.5)
    decide(ctx, rid, "reject", by="test")
    probed, _, stale = _candidates(ctx)
    assert probed is None and stale - leftovers
    counts = resolve_entities(ctx)
    assert counts["records_changed"] >= 1
    probed, _, full_after = _candidates(ctx)
    assert probed == 0 and full_after == leftovers
