"""Resolve: project loaded source records into the unified grid model.

The steps run in dependency order, each idempotent (a second run writes nothing) and
incremental where it can be:

1. grids (the grid registry's cells),
2. entities: persons, households, organisations (deterministic keys, then Splink; stable ids),
3. places: buildings by address, and everything into its grid,
4. events: disputes, incidents, hazards and inspections, with deadlines,
5. tags: what no single department knows (elderly living alone, care lists, ...).

Steps 2 and 3 share their index rebuilds (:func:`hub.db.bulk.indexes_deferred`): on a fresh store the
persons' grid and building indexes are built once, after placing, not after inserting and again after.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from hub.context import HubContext
from hub.db.bulk import indexes_deferred
from hub.resolve.grids import project_grids

log = logging.getLogger(__name__)


@dataclass
class ResolveInfo:
    grids: dict[str, int] = field(default_factory=dict)
    entities: dict[str, int] = field(default_factory=dict)
    places: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def resolve(ctx: HubContext, sources: list[str] | None = None, today: dt.date | None = None,
            on_step: Callable[[str, str], None] | None = None) -> ResolveInfo:
    """Every step over what is loaded; ``sources`` narrows what entity linking re-reads.

    ``on_step(step, "start"|"done")`` lets a caller show progress; a caller that does also prints
    the summary, so each step's log line is then debug-level (the summary is shown once).
    """
    from hub.resolve import watermark
    from hub.resolve.entities import resolve_entities
    from hub.resolve.events import project_events
    from hub.resolve.places import PLACED_COLUMNS, place_entities
    from hub.resolve.tags import derive_tags

    ctx.ensure_store()
    seen = watermark.mark(ctx)  # before the steps: a load committed meanwhile stays pending
    info = ResolveInfo()
    steps = (
        ("grids", lambda: project_grids(ctx)),
        ("entities", lambda: resolve_entities(ctx, sources)),
        ("places", lambda: place_entities(ctx)),
        ("events", lambda: project_events(ctx, today)),
        ("tags", lambda: derive_tags(ctx, today)),
    )
    with ExitStack() as shared:  # entities' inserts leave places' indexes to places, created at the latest here
        for name, step in steps:
            if name == "entities":
                shared.enter_context(indexes_deferred(ctx.db_url, PLACED_COLUMNS))
            started = time.monotonic()
            if on_step:
                on_step(name, "start")
            setattr(info, name, step())
            if name == "places":
                shared.close()
            info.seconds[name] = round(time.monotonic() - started, 2)
            if on_step:
                on_step(name, "done")
            log.log(logging.DEBUG if on_step else logging.INFO, "resolve %s: %s (%.1fs)", name, getattr(info, name),
                    info.seconds[name])
    watermark.remember(ctx, seen)
    return info
