"""Welfare enrolments and special statuses of resolved persons: the civil-affairs and public-security
programme places each golden person holds, rewritten only where they differ from what is stored."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import SpecialStatus, WelfareEnrolment
from hub.privacy import Vault
from hub.privacy.sensitive import special_clear, special_stored
from hub.resolve import store
from hub.resolve.persons.golden import special_rows, welfare_rows
from hub.resolve.persons.records import Mention


def write_programmes(session: Session, clusters: list[list[Mention]], ids: list[str], full: bool, vault: Vault) -> None:
    """Welfare enrolments and special statuses of the resolved persons, rewritten only when different
    (a special status's category is compared in clear and stored encrypted: ``special_stored``)."""
    for model, build in ((WelfareEnrolment, welfare_rows), (SpecialStatus, special_rows)):
        wanted = {pid: build(members) for members, pid in zip(clusters, ids, strict=True)}
        wanted = {k: v for k, v in wanted.items() if v}
        cols = [c.name for c in model.__table__.c if c.name not in ("id", "person_id")]
        have: dict[str, list[dict]] = defaultdict(list)
        # a full run holds every person: one pass over the table, not a lookup per 500 of them
        queries = [select(model.__table__)] if full else [
            select(model.__table__).where(model.person_id.in_(batch)) for batch in store.chunks(sorted(set(ids)))]
        wanted_ids = set(ids)
        for query in queries:
            for row in session.execute(query).mappings():
                if row["person_id"] in wanted_ids:
                    have[row["person_id"]].append(special_clear(vault, {c: row[c] for c in cols})
                                                  if model is SpecialStatus else {c: row[c] for c in cols})
        # inserts are batched, in the same order as before; a delete (only when rows exist) flushes them first
        pending: list[dict[str, Any]] = []
        connection = session.connection()
        for pid in sorted(set(wanted) | set(have)):
            new = wanted.get(pid, [])
            if sorted(_canon(r) for r in new) == sorted(_canon(r) for r in have.get(pid, [])):
                continue
            if have.get(pid):
                if pending:
                    connection.execute(model.__table__.insert(), pending)
                    pending = []
                connection.execute(model.__table__.delete().where(model.person_id == pid))
            pending += [{"person_id": pid, **(special_stored(vault, r) if model is SpecialStatus else r)} for r in new]
        if pending:
            connection.execute(model.__table__.insert(), pending)


def _canon(row: dict) -> str:
    return repr(sorted((k, v) for k, v in row.items()))
