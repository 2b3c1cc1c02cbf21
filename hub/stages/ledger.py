"""The run ledger: every run is recorded, and a run whose counts do not balance fails."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select

from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.models import Run, RunStream
from hub.db.session import transaction
from hub.errors import LedgerMismatchError


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable and unique: ``20261129T141233-3f9a``."""
    now = now or utcnow()
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def start_run(ctx: HubContext, source: str, run_id: str) -> None:
    with transaction(ctx.db_url) as session:
        # A run still "running" when a new one starts died without finishing (killed, crashed host):
        # say so, rather than leave it looking alive. Its state was never committed, so nothing is lost.
        for stale in session.scalars(select(Run).where(Run.source == source, Run.state == "running",
                                                       Run.run_id != run_id)):
            stale.state, stale.finished_at = "failed", utcnow()
            stale.error = f"{stale.stage}: abandoned: the process ended before finishing (superseded by {run_id})"
        run = session.get(Run, run_id)
        if run is None:
            session.add(Run(run_id=run_id, source=source, state="running", stage="extract"))
        else:  # a retried task re-enters the same run
            run.state, run.error, run.finished_at = "running", None, None


def mark_stage(ctx: HubContext, run_id: str, stage: str) -> None:
    with transaction(ctx.db_url) as session:
        run = session.get(Run, run_id)
        if run is not None:
            run.stage = stage


def fail_run(ctx: HubContext, run_id: str, error: str) -> None:
    with transaction(ctx.db_url) as session:
        run = session.get(Run, run_id)
        if run is not None:
            run.state, run.error, run.finished_at = "failed", error[:2000], utcnow()


def reconcile(stream: RunStream) -> None:
    """read = loaded + unchanged + quarantined + tombstoned, or the run fails (and rolls back).

    A row stored with a field withheld is loaded (or unchanged) and also counted in ``withheld``,
    which can therefore never exceed loaded + unchanged: the field's problem waits in the
    quarantine (scope ``field``) while the record itself is accounted for once.
    """
    accounted = stream.loaded + stream.unchanged + stream.quarantined + stream.tombstoned
    if stream.read != accounted:
        raise LedgerMismatchError(
            f"ledger does not balance for stream {stream.stream!r} of run {stream.run_id}: read {stream.read} != "
            f"loaded {stream.loaded} + unchanged {stream.unchanged} + quarantined {stream.quarantined} "
            f"+ tombstoned {stream.tombstoned}"
        )
    withheld = stream.withheld or 0
    if withheld > stream.loaded + stream.unchanged:
        raise LedgerMismatchError(
            f"ledger does not balance for stream {stream.stream!r} of run {stream.run_id}: {withheld} rows with a "
            f"withheld field, but only loaded {stream.loaded} + unchanged {stream.unchanged}"
        )


def recent_runs(ctx: HubContext, source: str | None = None, limit: int = 50) -> list[Run]:
    with transaction(ctx.db_url) as session:
        query = select(Run).order_by(Run.started_at.desc(), Run.run_id.desc()).limit(limit)
        if source:
            query = query.where(Run.source == source)
        runs = list(session.scalars(query))
        for run in runs:
            _ = run.streams  # load while the session is open
        return runs
