"""The quarantine as a load keeps it: one open entry per problem, closing itself when fixed.

An entry is one problem of one source row: the row refused whole (scope ``record``, identity
``(source, stream, source_key)``) or one withheld field of a loaded row (scope ``field``, identity
``(source, stream, source_key, column)``); a row without a usable key is known by a keyed digest of
its raw values instead. Each identity has at most one open entry, however many runs see the
problem: a run that sees it again brings the entry's reasons and raw values up to date
(``seen_run_id``). When a run loads a row (loaded, unchanged or tombstoned) and no longer reports
an open problem of that row, the entry closes itself: ``resolved`` with that run, or ``replayed``
when the run was the steward's replay of it. Exactly the same problem a steward dismissed is not
reopened; a changed row with the same problem is.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from hub.db.models import QuarantinedRow
from hub.privacy import Vault

Identity = tuple[str, str | None, str | None]  # (scope, source_key or "raw:<digest>", column)


@dataclass
class _Open:
    id: int
    identity: Identity
    raw_hash: str | None


class QuarantineBook:
    """One stream's entries during one load, written in the load's transaction."""

    def __init__(self, session: Session, vault: Vault, source: str, stream: str, run_id: str,
                 now: dt.datetime, replaying: set[int] | None = None) -> None:
        self.session, self.vault = session, vault
        self.source, self.stream, self.run_id, self.now = source, stream, run_id, now
        self.replaying = replaying or set()
        self._open: dict[Identity, _Open] = {}
        self._dismissed: set[tuple[Identity, str | None]] = set()
        where = (QuarantinedRow.source == source, QuarantinedRow.stream == stream)
        for row in session.execute(select(QuarantinedRow.id, QuarantinedRow.scope, QuarantinedRow.source_key,
                                          QuarantinedRow.column_name, QuarantinedRow.raw_hash, QuarantinedRow.status)
                                   .where(*where, QuarantinedRow.status.in_(("open", "dismissed")))
                                   .order_by(QuarantinedRow.id)):
            identity = _identity(row.scope, row.source_key, row.column_name, row.raw_hash or f"entry{row.id}")
            if row.status == "dismissed":
                self._dismissed.add((identity, row.raw_hash))
            elif identity in self._open:  # an older store's duplicates: the newest speaks for them
                self._retire(self._open[identity].id)
                self._open[identity] = _Open(row.id, identity, row.raw_hash)
            else:
                self._open[identity] = _Open(row.id, identity, row.raw_hash)
        self._reported: set[Identity] = set()
        self._loaded_keys: set[str] = set()
        self._inserts: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self.written = 0  # entries opened or brought up to date by this run

    def record(self, key: str | None, reasons: list[dict[str, Any]], raw: str, replayed: Sequence[int] = ()) -> None:
        """A row refused whole (``replayed``: the entries a replayed row answers)."""
        self._report("record", key, None, reasons, raw, replayed)

    def field(self, key: str, column: str, reasons: list[dict[str, Any]], raw: str,
              replayed: Sequence[int] = ()) -> None:
        """A loaded row's withheld field."""
        self._report("field", key, column, reasons, raw, replayed)

    def loaded(self, key: str) -> None:
        """A row of this key was loaded, unchanged or tombstoned by this run."""
        self._loaded_keys.add(key)

    def _report(self, scope: str, key: str | None, column: str | None, reasons: list[dict[str, Any]],
                raw: str, replayed: Sequence[int]) -> None:
        raw_hash = self.vault.blind_index(raw, kind="quarantine_raw")
        identity = _identity(scope, key, column, raw_hash)
        if identity not in self._open:  # a replayed keyless row re-serialised: the entry it came from
            identity = next((e.identity for e in self._open.values() if e.id in replayed
                             and e.identity[0] == scope and e.identity[2] == (column if scope == "field" else None)),
                            identity)
        if identity in self._reported:
            return  # the same problem twice in one run (a key repeated): one entry
        self._reported.add(identity)
        current = self._open.get(identity)
        if current is None and (identity, raw_hash) in self._dismissed:
            return  # the steward dismissed exactly this; it stays dismissed
        self.written += 1
        values = {"reasons": reasons, "seen_run_id": self.run_id}
        if current is None:
            self._inserts.append({"run_id": self.run_id, "source": self.source, "stream": self.stream,
                                  "source_key": key, "scope": scope, "column_name": column,
                                  "raw_enc": self.vault.encrypt(raw), "raw_hash": raw_hash, "status": "open",
                                  **values})
            return
        if current.raw_hash != raw_hash:
            values |= {"raw_enc": self.vault.encrypt(raw), "raw_hash": raw_hash}
        self._updates.append({"id": current.id, **values})

    def _retire(self, entry_id: int) -> None:
        self.session.execute(update(QuarantinedRow).where(QuarantinedRow.id == entry_id).values(
            status="resolved", resolved_at=self.now, resolved_run_id=self.run_id,
            note="superseded by a newer entry for the same problem"))

    def finish(self) -> dict[str, int]:
        """Write this run's entries and close those of loaded rows it no longer reports."""
        if self._inserts:
            self.session.execute(insert(QuarantinedRow), self._inserts)
        for values in self._updates:
            entry_id = values.pop("id")
            self.session.execute(update(QuarantinedRow).where(QuarantinedRow.id == entry_id).values(**values))
        closed = [e.id for ident, e in self._open.items()
                  if ident not in self._reported and ident[1] in self._loaded_keys]
        for status, ids in (("replayed", [i for i in closed if i in self.replaying]),
                            ("resolved", [i for i in closed if i not in self.replaying])):
            if ids:
                self.session.execute(update(QuarantinedRow).where(QuarantinedRow.id.in_(ids)).values(
                    status=status, resolved_at=self.now, resolved_run_id=self.run_id))
        return {"opened": len(self._inserts), "seen_again": len(self._updates), "closed": len(closed)}


def _identity(scope: str, key: str | None, column: str | None, raw_hash: str | None) -> Identity:
    if key is None:
        return (scope, f"raw:{raw_hash}", column)
    return (scope, key, column if scope == "field" else None)


def field_issues(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The withheld fields a valid landing row carries (``_fields``), as ``[{column, reasons}]``."""
    text = row.get("_fields")
    return json.loads(text) if text else []
