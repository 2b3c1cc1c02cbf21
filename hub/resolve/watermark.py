"""Whether resolve has anything to do: nothing new, nothing done.

Resolve remembers the loads it has seen (the number of successful runs that loaded or tombstoned a
row, and the newest of them) and the Beijing date it ran on. A sync that loaded nothing, on a day
resolve has already run, leaves both as they were, so ``hub sync`` skips the resolve pass without
reading a source record. A new day still runs it once: deadlines fall due and people turn 60.

The entity step keeps a mark of its own (:func:`linked_mark`): when it last finished linking, so that
the next one looks only at the records loaded by runs that ended since, not at every record of the
county (issue 19: probing each record for a current link was ~2 s of a one-row run at 500,000).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.models import ConsoleAction, Run, StreamState
from hub.db.session import transaction
from hub.events.clock import beijing_today

STEP = "_watermark"
#: the entity step's own mark (stream_state under source "resolve")
ENTITIES = "entities"


def mark(ctx: HubContext) -> list[Any]:
    """What resolve will have seen once it has run: loads so far and today's date in Beijing."""
    with transaction(ctx.db_url) as session:
        count, newest = session.execute(
            select(func.count(), func.max(Run.run_id)).where(
                Run.state == "success", or_(Run.loaded > 0, Run.tombstoned > 0))).one()
    return [count, newest, beijing_today().isoformat()]


def pending(ctx: HubContext) -> bool:
    """True when a load (or the calendar) moved since the last resolve that finished."""
    current = mark(ctx)
    with transaction(ctx.db_url) as session:
        seen = session.get(StreamState, ("resolve", STEP))
        return seen is None or (seen.state or {}).get("seen") != current


def remember(ctx: HubContext, current: list[Any]) -> None:
    """Called when every resolve step has finished over what ``current`` describes."""
    with transaction(ctx.db_url) as session:
        seen = session.get(StreamState, ("resolve", STEP))
        if seen is None:
            session.add(StreamState(source="resolve", stream=STEP, state={"seen": current}))
        else:
            seen.state = {"seen": current}


def _steward_decisions(session: Session) -> list[Any]:
    """What the review queue's decisions and undos look like: each marks links stale (``run_id`` None)
    on records no load touched, which only a probe of every record finds."""
    count, newest, undone = session.execute(
        select(func.count(), func.max(ConsoleAction.id), func.max(ConsoleAction.undone_at))
        .where(ConsoleAction.target == "review")).one()
    return [count, newest, undone.isoformat() if undone else None]


def linked_mark(session: Session) -> dict[str, Any]:
    """Taken as the entity step starts, inside its transaction, before it reads a record: a load that
    commits after this point is seen by the next step, since its run was still running here (so it
    counts from that run's start) or ends after ``since``."""
    since = utcnow()
    running = session.scalar(select(func.min(Run.started_at)).where(Run.state == "running"))
    if running is not None and running < since:
        since = running
    return {"since": since.isoformat(), "decisions": _steward_decisions(session)}


def runs_since_linked(session: Session) -> list[str] | None:
    """The runs whose records the entity step has not yet looked at, or None when every record must be
    probed: no mark (a first run, an older store) or a steward decided (or undid) a pair since."""
    seen = session.get(StreamState, ("resolve", ENTITIES))
    state = (seen.state or {}) if seen is not None else {}
    if "since" not in state or state.get("decisions") != _steward_decisions(session):
        return None
    since = dt.datetime.fromisoformat(state["since"])
    return sorted(session.scalars(select(Run.run_id).where(or_(Run.finished_at.is_(None), Run.finished_at >= since))))


def remember_linked(session: Session, mark: dict[str, Any]) -> None:
    """Written in the entity step's transaction, so it holds exactly when the links it vouches for do."""
    seen = session.get(StreamState, ("resolve", ENTITIES))
    if seen is None:
        session.add(StreamState(source="resolve", stream=ENTITIES, state=mark))
    else:
        seen.state = mark

