"""Load: upsert valid rows into source records by content hash, in one transaction per run.

Unchanged rows cost one hash comparison; tombstones mark records deleted; quarantined rows are
stored with their reasons; the ledger must balance and the stream state is committed with the
data, so a failed load leaves the store and the state exactly as they were.

A row with a withheld field (``_fields``) is stored without it and counts as loaded or unchanged;
the ledger's ``withheld`` says how many of those rows lack a field, and each withheld field is a
field-scoped quarantine entry (``hub.quality.quarantine``), opened, kept or closed in this run's
transaction like the rows themselves.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, update

from hub.connector.base import OP_COLUMN, REASON_COLUMN
from hub.connector.landing import RunFolder, iter_batches, part_path, read_table
from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.bulk import executemany
from hub.db.models import Run, RunStream, SourceRecord, StreamState
from hub.db.session import transaction
from hub.province.counties import county_of
from hub.quality.columns import FIELDS, KEY, RAW
from hub.quality.control import visible
from hub.quality.quarantine import QuarantineBook
from hub.stages.extract import read_extract_info
from hub.stages.faults import crash, fault_point
from hub.stages.known_records import KnownRecords
from hub.stages.ledger import reconcile
from hub.stages.stored import (  # noqa: F401 - stored_key, stored_source_key, key_is_pii: imported from here too
    DATA,
    DIGEST,
    StoredForm,
    column_values,
    key_is_pii,
    prepared,
    stored_columns,
    stored_key,
    stored_source_key,
)
from hub.stages.validate import read_validate_info

log = logging.getLogger(__name__)

WRITE_BATCH = 20_000  # rows bound at a time: bounds the bound-parameter copy, not the transaction
LEDGER_FIELDS = ("read", "loaded", "unchanged", "quarantined", "tombstoned")
QIDS = "_quarantine_ids"  # a replayed row's quarantine entries, as a JSON list


@dataclass
class LoadInfo:
    run_id: str
    source: str
    streams: dict[str, dict[str, int]] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)  # per stream: of loaded + unchanged, rows lacking a field

    @property
    def changed(self) -> int:
        return sum(s["loaded"] + s["tombstoned"] for s in self.streams.values())


#: blocks until a landing part exists (``Path``) or the validate stage has finished (``None``); raises
#: if validation failed. ``sync`` passes one when validate runs beside load; alone, nothing waits.
PartWait = Callable[[Path | None], None]


def _no_wait(_path: Path | None) -> None:
    return None


#: asks to make a part's stored part here (``hub.stages.stored.claim_stored``); True: this process makes it
StoredClaim = Callable[[Path, int], bool]


def load(ctx: HubContext, source: str, run_id: str, *, wait: PartWait = _no_wait,
         claim: StoredClaim | None = None) -> LoadInfo:
    extracted = read_extract_info(ctx, source, run_id)
    folder = RunFolder(ctx.landing, source, run_id)
    vault = ctx.vault
    info = LoadInfo(run_id=run_id, source=source)
    now = utcnow()
    with transaction(ctx.db_url) as session:
        run = session.get(Run, run_id)
        if run is None:
            run = Run(run_id=run_id, source=source)
            session.add(run)
        elif run.state == "success" and run.stage == "load":  # a retried task after a commit: no-op
            info.streams = {s.stream: {k: getattr(s, k) for k in LEDGER_FIELDS} for s in run.streams}
            info.withheld = {s.stream: s.withheld for s in run.streams}
            return info
        run.streams.clear()
        session.flush()
        ledgers: dict[str, RunStream] = {}
        kill_after, written_batches = fault_point("load"), [0]

        def batch_written() -> None:
            written_batches[0] += 1
            if kill_after and written_batches[0] >= kill_after:
                session.flush()
                crash()  # mid-load, inside the open transaction

        for stream, ext in extracted.streams.items():
            contract = ctx.contracts.get(extracted.connector, stream)
            ledgers[stream] = RunStream(run_id=run_id, stream=stream, read=ext.rows + ext.unchanged, loaded=0,
                                        unchanged=ext.unchanged, quarantined=0, tombstoned=0, warnings=0, withheld=0)
            parts = _parts(folder.stream_dir(stream), ext.files, wait, claim)
            _load_stream(session, contract, source, stream, run_id, parts, vault, ledgers[stream], now, batch_written)
        wait(None)  # the checks' statistics are complete only when validation is
        validated = read_validate_info(ctx, source, run_id)
        for stream, ext in extracted.streams.items():
            ledger = ledgers[stream]
            check_stats = validated.streams[stream]
            ledger.checks = check_stats.checks
            ledger.warnings = len(check_stats.warnings)
            ledger.warning_list = list(check_stats.warnings)
            run.streams.append(ledger)
            reconcile(ledger)
            if ext.state_kept:  # the committed state is the candidate: stamped with this run, not rewritten
                _stamp_state(session, source, stream, run_id)
            elif ext.state_after is not None:  # a quarantine replay reads no source: no state to commit
                _commit_state(session, source, stream, ext.state_after, run_id)
            info.streams[stream] = {k: getattr(ledger, k) for k in LEDGER_FIELDS}
            info.withheld[stream] = ledger.withheld
        for key in ("read", "loaded", "unchanged", "quarantined", "tombstoned", "warnings"):
            setattr(run, key, sum(getattr(s, key) for s in run.streams))
        run.state, run.stage, run.finished_at, run.error = "success", "load", utcnow(), None
        if kill_after == 0:
            session.flush()
            crash()  # inside the open transaction: nothing may survive
    return info


def _parts(stream_dir: Path, files: int, wait: PartWait, claim: StoredClaim | None = None
           ) -> Iterator[tuple[Path, Path, Path, bool]]:
    """(valid, stored, quarantine, make the stored part here) landing parts in raw order; a replay's
    single pair stands alone. A stored part (content hashes and stored data worked out by the
    validating process) is optional; when load would wait for a part the validator has not reached
    the end of, it claims the part's stored part and makes it itself once the part is complete."""
    if files == 0 and (stream_dir / "quarantine.arrow").exists():
        yield stream_dir / "valid.arrow", stream_dir / "stored.arrow", stream_dir / "quarantine.arrow", False
        return
    for index in range(files):
        valid, quarantine = part_path(stream_dir, "valid", index), part_path(stream_dir, "quarantine", index)
        here = claim is not None and not valid.exists() and claim(stream_dir, index)
        wait(quarantine)  # written after its valid and stored parts: the part is complete
        yield valid, part_path(stream_dir, "stored", index), quarantine, here


def _load_stream(session, contract, source, stream, run_id, parts, vault, ledger, now,  # type: ignore[no-untyped-def]
                 batch_written=lambda: None) -> None:
    """One stream's parts, a batch at a time: the valid rows of every part (in order), then the
    refused rows of every part, as the single-file load did (entry ids come out in the same order)."""
    existing = KnownRecords(session, source, stream)  # probed for a few rows, read whole for many
    written: set[str] = set()  # keys inserted by an earlier batch of this run: a repeat updates them
    refused_parts: list[Path] = []
    book: QuarantineBook | None = None
    for valid_path, stored_path, quarantine_path, here in parts:
        refused_parts.append(quarantine_path)
        if here and valid_path.exists():  # claimed while waiting: the validator went on to the next part
            stored = stored_columns(contract, vault, read_table(valid_path))
        else:
            stored = read_table(stored_path) if stored_path.exists() else None
        offset = 0
        for batch in (iter_batches(valid_path) if valid_path.exists() else ()):
            if not batch.num_rows:
                continue
            if book is None:
                replaying = QIDS in batch.schema.names  # only a replay's rows carry their entries' ids
                book = _book(session, vault, source, stream, run_id, now, replaying, valid_path, quarantine_path)
            done = stored.slice(offset, batch.num_rows) if stored is not None else None
            offset += batch.num_rows
            _load_batch(session, contract, source, stream, run_id, batch, vault, ledger, now, existing, written, book,
                        done)
            batch_written()
    for path in refused_parts:
        for batch in iter_batches(path):
            if not batch.num_rows:
                continue
            if book is None:
                book = _book(session, vault, source, stream, run_id, now, QIDS in batch.schema.names, path, path)
            for q in batch.to_pylist():  # refused whole: one open entry per row, however many runs refuse it
                key = q[KEY] if q[KEY] is None else visible(stored_key(contract, q[KEY], vault) or "")[:128]
                book.record(key, json.loads(q["_reasons"]), q[RAW], json.loads(q.get(QIDS) or "[]"))
                ledger.quarantined += 1
    if book is None:
        book = QuarantineBook(session, vault, source, stream, run_id, now, set())
    book.finish()


def _book(session, vault, source, stream, run_id, now, replaying: bool, *paths: Path) -> QuarantineBook:  # type: ignore[no-untyped-def]
    """The stream's quarantine book; a replay's (its files are small) knows every entry it answers."""
    ids: set[int] = set()
    if replaying:
        for path in dict.fromkeys(paths):
            if path.exists():
                table = read_table(path)
                if QIDS in table.column_names:
                    ids.update(i for text in table.column(QIDS).to_pylist() for i in json.loads(text or "[]"))
    return QuarantineBook(session, vault, source, stream, run_id, now, ids)


def _load_batch(session, contract, source, stream, run_id, batch, vault, ledger, now,  # type: ignore[no-untyped-def]
                existing, written, book, stored=None) -> None:
    """One landing batch: content hashes compared, changed rows protected and written. ``stored``
    (the validating process's work, row for row) saves the hashing and the crypto here."""
    if stored is not None:
        form = None
        clear_keys, ops, reasons = (column_values(batch, c) for c in (KEY, OP_COLUMN, REASON_COLUMN))
        digests = stored.column(DIGEST).to_pylist()
    else:
        form, clears, clear_keys, ops, reasons = prepared(contract, vault, batch)
        digests = form.digests(clears, ops, reasons)
    fields, raws, qids = (column_values(batch, c) for c in (FIELDS, RAW, QIDS))
    tokenised = key_is_pii(contract)
    keys: list[str | None] = [stored_key(contract, k, vault) for k in clear_keys] if tokenised else clear_keys
    # counted here and added to the ledger once: each ``+=`` on the ORM row is an instrumented set
    withheld = unchanged = tombstoned = loaded = 0
    for i, key in enumerate(keys):
        book.loaded(key)
        issues = [] if ops[i] == "delete" or not fields[i] else json.loads(fields[i])
        if issues:  # loaded (or unchanged) with these fields withheld: each a field-scoped entry
            withheld += 1
            for issue in issues:
                book.field(key, issue["column"], issue["reasons"], raws[i], json.loads(qids[i] or "[]"))
    inserts: dict[str, dict[str, Any]] = {}  # by key: a key twice in one run keeps its newest row
    updates: dict[str, dict[str, Any]] = {}
    rewrites: dict[str, dict[str, Any]] = {}  # keys an earlier batch of this run inserted
    changed: list[int] = []
    existing.need(keys)
    for i, (key, digest) in enumerate(zip(keys, digests, strict=True)):
        current = existing.get(key)
        if current is not None and current[1] == digest:
            unchanged += 1
            continue
        is_delete = ops[i] == "delete"
        if is_delete:
            tombstoned += 1
        else:
            loaded += 1
        changed.append(i)
        existing[key] = (current[0] if current else -1, digest, is_delete)
    ledger.withheld += withheld
    ledger.unchanged += unchanged
    ledger.tombstoned += tombstoned
    ledger.loaded += loaded
    protected: list[Any]
    if stored is not None:  # the store's JSON text as the validating process wrote it: bound as it is
        texts = stored.column(DATA).to_pylist()
        protected = [texts[i] for i in changed]
    else:
        assert form is not None
        protected = form.protect_many([clears[i] for i in changed])
        if tokenised:
            for data, token in zip(protected, vault.encrypt_many([clear_keys[i] for i in changed]), strict=True):
                data["_source_key_enc"] = token
    county = county_of(source)
    for n, i in enumerate(changed):
        key, is_delete = keys[i], ops[i] == "delete"
        data = protected[n]
        values = {"content_hash": digests[i], "data": data, "deleted": is_delete,
                  "delete_reason": reasons[i] if is_delete else None,
                  "last_run_id": run_id, "updated_at": now}
        record_id = existing[key][0]
        if key in written:
            rewrites[key] = {"b_key": key, **values}
        elif record_id == -1 or key in inserts:
            inserts[key] = {"source": source, "county_code": county, "stream": stream, "source_key": key,
                            "first_run_id": run_id, **values}
        else:
            updates[key] = {"b_id": record_id, **values}
    json_texts = ("data",) if stored is not None else ()
    connection, table = session.connection(), SourceRecord.__table__
    by_key = (table.c.source == source) & (table.c.stream == stream) & (table.c.source_key == bindparam("b_key"))
    for stmt, batch_rows in ((insert(table), list(inserts.values())),
                             (update(table).where(table.c.id == bindparam("b_id")), list(updates.values())),
                             (update(table).where(by_key), list(rewrites.values()))):
        for start in range(0, len(batch_rows), WRITE_BATCH):
            executemany(connection, stmt, batch_rows[start:start + WRITE_BATCH], json_texts=json_texts)
    written.update(inserts)


def _commit_state(session, source: str, stream: str, state: dict[str, Any], run_id: str) -> None:  # type: ignore[no-untyped-def]
    row = session.get(StreamState, (source, stream))
    if row is None:
        session.add(StreamState(source=source, stream=stream, state=state, run_id=run_id))
    else:
        row.state, row.run_id = state, run_id


def _stamp_state(session, source: str, stream: str, run_id: str) -> None:  # type: ignore[no-untyped-def]
    """What ``_commit_state`` of an unchanged state comes to, without reading or writing the state itself."""
    session.execute(update(StreamState).where(StreamState.source == source, StreamState.stream == stream)
                    .values(run_id=run_id))
