"""The crosswalk export: which entity every linked source record (and ``#role`` mention) refers to.

Civil-affairs keys are citizen IDs, so the file holds personal data in clear: it is written 0600, its
cells cannot start a formula (``hub.exports.cell_text``), and writing it is an audited read by a person.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.audit import record_read
from hub.context import HubContext
from hub.db.models import EntityLink, SourceRecord
from hub.db.session import session_factory, transaction
from hub.errors import HubError
from hub.exports import cell_row
from hub.privacy.files import open_private, private_dir

HEADER = ["source", "stream", "source_key", "entity_type", "entity_id"]
ENTITY_TYPES = ("person", "household", "building", "organization", "event")


def export_links(ctx: HubContext, out: Path) -> int:
    """Write ``source,stream,source_key,entity_type,entity_id`` sorted; returns the row count."""
    ctx.ensure_store()
    try:
        if not out.parent.exists():
            private_dir(out.parent)
        fh = open_private(out, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise HubError(f"cannot write {out}: {exc.strerror}") from None
    n = 0
    persons: set[str] = set()
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
            writer.writerow(cell_row((source, stream, key, etype, eid)))
            if etype == "person":
                persons.add(eid)
            n += 1
    record_read(session_factory(ctx.db_url), action="links export", target=str(out.resolve()),
                person_count=len(persons))
    return n


def _clear_keys(ctx: HubContext, session: Session) -> dict[tuple[str, str], str]:
    """Tokenised source keys back to the keys as the department wrote them (decrypted)."""
    vault = ctx.vault
    rows = session.execute(select(SourceRecord.source, SourceRecord.source_key, SourceRecord.data)
                           .where(SourceRecord.source_key.like("~%")))
    return {(source, key): vault.decrypt(data.get("_source_key_enc")) or key for source, key, data in rows}
