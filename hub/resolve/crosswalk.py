"""The crosswalk export: which entity every linked source record (and ``#role`` mention) refers to."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.db.models import EntityLink, SourceRecord
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
        clear = _clear_keys(ctx, session)
        for source, stream, key, etype, eid in session.execute(q.execution_options(yield_per=50_000)):
            if key.startswith("~"):  # a key that is personal data is stored as a token: export it as written
                head, sep, tail = key.partition("#")
                key = clear.get((source, head), head) + sep + tail
            writer.writerow((source, stream, key, etype, eid))
            n += 1
    return n


def _clear_keys(ctx: HubContext, session: Session) -> dict[tuple[str, str], str]:
    """Tokenised source keys back to the keys as the department wrote them (decrypted)."""
    vault = ctx.vault
    rows = session.execute(select(SourceRecord.source, SourceRecord.source_key, SourceRecord.data)
                           .where(SourceRecord.source_key.like("~%")))
    return {(source, key): vault.decrypt(data.get("_source_key_enc")) or key for source, key, data in rows}
