"""The crosswalk export: which entity every linked source record (and ``#role`` mention) refers to."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from hub.context import HubContext
from hub.db.models import EntityLink
from hub.db.session import transaction
from hub.errors import HubError

HEADER = ["source", "stream", "source_key", "entity_type", "entity_id"]
ENTITY_TYPES = ("person", "household", "building", "organization", "event")


def export_links(ctx: HubContext, out: Path) -> int:
    """Write ``source,stream,source_key,entity_type,entity_id`` sorted; returns the row count."""
    ctx.ensure_store()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fh = out.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise HubError(f"cannot write {out}: {exc.strerror}") from None
    n = 0
    with fh, transaction(ctx.db_url) as session:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        q = (select(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_type,
                    EntityLink.entity_id).where(EntityLink.entity_type.in_(ENTITY_TYPES))
             .order_by(EntityLink.source, EntityLink.stream, EntityLink.source_key, EntityLink.entity_type))
        for row in session.execute(q.execution_options(yield_per=50_000)):
            writer.writerow(row)
            n += 1
    return n
