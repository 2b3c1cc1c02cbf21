"""From full monthly snapshots to changes: joins, changes and leaves against the last loaded month.

A roster is the FULL list of a month, so the difference between two months is the news:
a key new to the roster (join), a key whose row changed (change), a key gone (leave -> a
tombstone). The stream state remembers the last month loaded and one short digest per key::

    {"v": 1, "month": "202610", "sha256": "<hex of that month's file>",
     "keys": sealed({"<source key>": "<8-char digest of the row>", ...})}

Month semantics:

- Pending months are those newer than ``state.month`` (every month on the first run), plus
  ``state.month`` itself when its file was re-delivered (its sha256 changed): a corrected
  workbook is diffed against what was loaded from it.
- Pending months are replayed in order. A key that moved in several of them is emitted once,
  with its newest value and the month of its last change (``_month``): the gate treats a key
  seen twice in one run as ``duplicate_key``, and the store keeps only the newest value anyway.
- A month whose workbook lacks the sheet changes nothing: nobody "left", the keys carry over,
  and the month still counts as loaded.
- A key twice in one month's sheet is emitted twice (the gate quarantines the second); rows
  without a key are emitted in their month (the gate quarantines them as ``required``).
- A month older than ``state.month`` delivered late is not replayed: its news is stale.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub_civil_affairs.roster import RosterSheet, SheetSpec

STATE_VERSION = 2  # v2: the key map is sealed (keys are citizen IDs as written)
#: rows the planning scan keeps for the emit at most; a month with more news (a first read) is scanned again
NEWS_MAX = 20_000
UPSERT, DELETE = "upsert", "delete"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def short(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode()


@dataclass
class PendingMonth:
    month: str
    path: Path
    sha256: str
    present: bool = False
    keyless: int = 0
    unnamed_with_data: set[int] = field(default_factory=set)
    sheet: RosterSheet | None = None  # kept open for the newest month only
    #: the newest month's rows that may be emitted, in sheet order (keyless, new or changed, repeated
    #: keys), kept by the planning scan so the emit need not scan the sheet again; None: scan again
    news: list[list[Any]] | None = None


@dataclass
class Plan:
    """What one read emits: per pending month, that month's own difference to the month before.

    Each month is emitted in its own batches, even when several arrive at once: a row of an
    older month is validated (and quarantined if bad) before a later month's change or leave
    replaces it at load, so no delivered row goes unseen.
    """

    months: list[PendingMonth]
    changes: list[dict[str, str]]  # per month: key -> upsert|delete
    state: dict[str, Any]

    @property
    def changed_keys(self) -> int:
        return len({k for month in self.changes for k in month})

    def upserts(self, i: int) -> set[str]:
        return {k for k, op in self.changes[i].items() if op == UPSERT}

    def deletes(self, i: int) -> list[str]:
        return sorted(k for k, op in self.changes[i].items() if op == DELETE)


def pending_months(files: list[tuple[str, Path]], state: dict[str, Any]) -> list[PendingMonth]:
    loaded = str(state.get("month") or "")
    months = []
    for month, path in files:
        if month < loaded:
            continue
        sha = file_sha256(path)
        if month == loaded and sha == state.get("sha256"):
            continue
        months.append(PendingMonth(month, path, sha))
    return months


def plan(files: list[tuple[str, Path]], spec: SheetSpec, state: dict[str, Any],
         sealer: Any) -> Plan | None:
    """Replay the pending months over the state's keys; ``None`` when nothing new was delivered.

    ``sealer`` (the SourceSpec) encrypts the key map: the keys are citizen IDs as written, and
    stream state is stored in the unified model, where IDs never rest in clear.
    """
    months = pending_months(files, state if state.get("v") == STATE_VERSION else {})
    if not months:
        return None
    current: dict[str, str] = {}
    if state.get("v") == STATE_VERSION and state.get("keys"):
        current = dict(sealer.unseal(state["keys"]))
    changes: list[dict[str, str]] = []
    for i, pm in enumerate(months):
        month_changes: dict[str, str] = {}
        changes.append(month_changes)
        sheet = RosterSheet.open(pm.path, spec)
        if sheet is None:
            continue  # a sheet missing this month: nobody left
        pm.present = True
        seen: dict[str, str] = {}
        dups: set[str] = set()
        # the rows the emit can want, gathered on the way (a day's roster was scanned twice: ~0.15 CPU s
        # at 200,000 residents): every row of a key in ``upserts`` is here, unless a repeated key's first
        # row was unchanged and so not kept, or there are too many to hold (the emit scans again)
        news: list[list[Any]] | None = [] if i == len(months) - 1 else None
        for row in sheet.data_rows():
            key = sheet.key(row)
            if key is None:
                pm.keyless += 1
                sheet.digest(row)  # still notes unnamed columns holding data
                kept = True
            else:
                digest = short(sheet.digest(row))
                if key in seen:
                    if key not in dups and seen[key] == current.get(key):
                        news = None  # its first row was not kept
                    dups.add(key)
                    kept = True
                else:
                    seen[key] = digest
                    kept = digest != current.get(key)
            if kept and news is not None:
                news.append(row)
                if len(news) > NEWS_MAX:
                    news = None
        for key, digest in seen.items():
            if key in dups or current.get(key) != digest:
                month_changes[key] = UPSERT
        for key in current.keys() - seen.keys():
            month_changes[key] = DELETE
        current = seen
        pm.unnamed_with_data = set(sheet.unnamed_with_data)
        if i == len(months) - 1:
            pm.sheet = sheet
            pm.news = news
    newest = months[-1]
    state_after = {"v": STATE_VERSION, "month": newest.month, "sha256": newest.sha256,
                   "keys": sealer.seal(current)}
    return Plan(months=months, changes=changes, state=state_after)
