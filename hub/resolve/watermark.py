"""Whether resolve has anything to do: nothing new, nothing done.

Resolve remembers the loads it has seen (the number of successful runs that loaded or tombstoned a
row, and the newest of them) and the Beijing date it ran on. A sync that loaded nothing, on a day
resolve has already run, leaves both as they were, so ``hub sync`` skips the resolve pass without
reading a source record. A new day still runs it once: deadlines fall due and people turn 60.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from hub.context import HubContext
from hub.db.models import Run, StreamState
from hub.db.session import transaction
from hub.events.clock import beijing_today

STEP = "_watermark"


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
