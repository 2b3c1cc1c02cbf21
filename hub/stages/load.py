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

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import bindparam, insert, select, update

from hub.connector.base import OP_COLUMN, REASON_COLUMN
from hub.connector.landing import RunFolder, iter_batches, part_path, read_table
from hub.context import HubContext
from hub.contracts import StreamContract
from hub.db.base import utcnow
from hub.db.bulk import executemany
from hub.db.models import Run, RunStream, SourceRecord, StreamState
from hub.db.session import transaction
from hub.privacy import Vault
from hub.province.counties import county_of
from hub.quality.columns import KEY, RAW
from hub.quality.control import visible
from hub.quality.quarantine import QuarantineBook, field_issues
from hub.stages.extract import read_extract_info
from hub.stages.faults import crash, fault_point
from hub.stages.ledger import reconcile
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class StoredForm:
    """How one stream's rows are hashed and stored, worked out once a stream rather than once a
    row: which columns are personal data (and their blind-index kind), which hold dates."""

    def __init__(self, contract: StreamContract, vault: Vault, temporal: Iterable[str] = ()) -> None:
        self.vault = vault
        self.columns = [(c.name, str(c.options.get("piiKind", c.normalize or "text")) if c.is_pii else None)
                        for c in contract.columns]
        self.temporal = set(temporal)  # Arrow date/timestamp columns: the only ones _jsonable changes

    def clear(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row's contract columns as JSON values (dates ISO-formatted), still in clear."""
        temporal = self.temporal
        return {name: _jsonable(row.get(name)) if name in temporal else row.get(name) for name, _ in self.columns}

    def digest(self, clear: dict[str, Any], row: dict[str, Any]) -> str:
        """Keyed, so a hash over a row holding an ID cannot be brute-forced back to the ID."""
        return self.digests([clear], [row])[0]

    def digests(self, clears: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[str]:
        """``digest`` of a batch: the same text and key (stored hashes stay comparable across
        versions), one encoder and one batched HMAC call instead of both built per row."""
        encode = _ROW_TEXT.encode
        texts = []
        for clear, row in zip(clears, rows, strict=True):
            payload = dict(clear)
            payload[OP_COLUMN], payload[REASON_COLUMN] = row.get(OP_COLUMN), row.get(REASON_COLUMN)
            texts.append(encode(payload))
        return [d or "" for d in self.vault.blind_indexes(texts, kind="row")]

    def protect(self, clear: dict[str, Any]) -> dict[str, Any]:
        """The stored form: PII columns become ``<col>_bidx`` + ``<col>_enc``; nothing clear remains."""
        return self.protect_many([clear])[0]

    def protect_many(self, clears: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``protect`` of a batch, column by column: each PII column's blind indexes and ciphertexts
        are made in one batched call (``Vault.blind_indexes`` / ``encrypt_many``)."""
        sealed: dict[str, tuple[list[str | None], list[str | None]]] = {}
        for name, kind in self.columns:
            if kind is None:
                continue
            texts = [None if c[name] is None else str(c[name]) for c in clears]
            sealed[name] = (self.vault.blind_indexes(texts, kind=kind), self.vault.encrypt_many(texts))
        out = []
        for i, clear in enumerate(clears):
            data: dict[str, Any] = {}
            for name, kind in self.columns:
                if kind is None:
                    data[name] = clear[name]
                else:
                    bidx, enc = sealed[name]
                    data[f"{name}_bidx"], data[f"{name}_enc"] = bidx[i], enc[i]
            out.append(data)
        return out


#: the row text the content hash is made of (as ``json.dumps(..., ensure_ascii=False, sort_keys=True,
#: default=str)`` always wrote it), built once rather than once a row
_ROW_TEXT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


def key_is_pii(contract: StreamContract) -> bool:
    return any(c.is_pii for c in contract.primary_key)


def stored_key(contract: StreamContract, key: str | None, vault: Vault) -> str | None:
    """The source key as the store holds it.

    Where a stream's key is personal data (civil affairs keys rosters by the citizen ID as
    written), the store keeps a keyed token ``~<blind index>`` instead, and the clear key only
    encrypted in the record (``_source_key_enc``); the crosswalk export decrypts it.
    """
    if key is None or not key_is_pii(contract):
        return key
    return "~" + (vault.blind_index(key, kind="source_key") or "")


def stored_source_key(ctx: HubContext, source: str, stream: str, key: str) -> str:
    """What a source key of legacy-systems.md (``#role`` mentions included) looks like in the store."""
    head, sep, tail = key.partition("#")
    contract = ctx.contracts.find(ctx.connector_name(source), stream)
    return (stored_key(contract, head, ctx.vault) if contract else head) + sep + tail  # type: ignore[operator]


def _tombstone_identity(contract: StreamContract, row: dict[str, Any], key: str) -> None:
    """A tombstone keyed by personal data still says whose it is: its key columns (and the ID
    they hold, normalised) are filled from the key, so resolve can retire the right person."""
    from hub.quality.identity import citizen_id
    from hub.quality.normalize import Invalid

    for col in contract.primary_key:
        if row.get(col.name) is None:
            row[col.name] = key
    for col in contract.columns:
        if col.normalize != "citizen_id" or row.get(col.name) is not None:
            continue
        for candidate in (key, key[:18]):
            try:
                row[col.name] = citizen_id(candidate)
                break
            except Invalid:
                continue


#: blocks until a landing part exists (``Path``) or the validate stage has finished (``None``); raises
#: if validation failed. ``sync`` passes one when validate runs beside load; alone, nothing waits.
PartWait = Callable[[Path | None], None]


def _no_wait(_path: Path | None) -> None:
    return None


def load(ctx: HubContext, source: str, run_id: str, *, wait: PartWait = _no_wait) -> LoadInfo:
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
            parts = _parts(folder.stream_dir(stream), ext.files, wait)
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
            if ext.state_after is not None:  # a quarantine replay reads no source: no state to commit
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


def _parts(stream_dir: Path, files: int, wait: PartWait) -> Iterator[tuple[Path, Path]]:
    """(valid, quarantine) landing parts in raw order; a replay's single pair stands alone."""
    if files == 0 and (stream_dir / "quarantine.arrow").exists():
        yield stream_dir / "valid.arrow", stream_dir / "quarantine.arrow"
        return
    for index in range(files):
        quarantine = part_path(stream_dir, "quarantine", index)
        wait(quarantine)  # written after its valid part: the pair is complete
        yield part_path(stream_dir, "valid", index), quarantine


def _load_stream(session, contract, source, stream, run_id, parts, vault, ledger, now,  # type: ignore[no-untyped-def]
                 batch_written=lambda: None) -> None:
    """One stream's parts, a batch at a time: the valid rows of every part (in order), then the
    refused rows of every part, as the single-file load did (entry ids come out in the same order)."""
    existing = {
        key: (rid, digest, deleted)
        for rid, key, digest, deleted in session.execute(
            select(SourceRecord.id, SourceRecord.source_key, SourceRecord.content_hash, SourceRecord.deleted)
            .where(SourceRecord.source == source, SourceRecord.stream == stream)
        )
    }
    written: set[str] = set()  # keys inserted by an earlier batch of this run: a repeat updates them
    refused_parts: list[Path] = []
    book: QuarantineBook | None = None
    for valid_path, quarantine_path in parts:
        refused_parts.append(quarantine_path)
        for batch in (iter_batches(valid_path) if valid_path.exists() else ()):
            if not batch.num_rows:
                continue
            if book is None:
                replaying = QIDS in batch.schema.names  # only a replay's rows carry their entries' ids
                book = _book(session, vault, source, stream, run_id, now, replaying, valid_path, quarantine_path)
            _load_batch(session, contract, source, stream, run_id, batch, vault, ledger, now, existing, written, book)
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
                existing, written, book) -> None:
    form = StoredForm(contract, vault, (f.name for f in batch.schema if pa.types.is_temporal(f.type)))
    rows = batch.to_pylist()
    tokenised = key_is_pii(contract)
    keys: list[str | None] = []
    clears: list[dict[str, Any]] = []
    for row in rows:
        clear_key = row[KEY]
        key = stored_key(contract, clear_key, vault)
        keys.append(key)
        is_delete = row.get(OP_COLUMN) == "delete"
        book.loaded(key)
        issues = [] if is_delete else field_issues(row)
        if issues:  # loaded (or unchanged) with these fields withheld: each a field-scoped entry
            ledger.withheld += 1
            for issue in issues:
                book.field(key, issue["column"], issue["reasons"], row[RAW], json.loads(row.get(QIDS) or "[]"))
        if is_delete and tokenised:
            _tombstone_identity(contract, row, clear_key)
        clears.append(form.clear(row))
    digests = form.digests(clears, rows)
    inserts: dict[str, dict[str, Any]] = {}  # by key: a key twice in one run keeps its newest row
    updates: dict[str, dict[str, Any]] = {}
    rewrites: dict[str, dict[str, Any]] = {}  # keys an earlier batch of this run inserted
    changed: list[int] = []
    for i, (row, key, digest) in enumerate(zip(rows, keys, digests, strict=True)):
        current = existing.get(key)
        if current is not None and current[1] == digest:
            ledger.unchanged += 1
            continue
        is_delete = row.get(OP_COLUMN) == "delete"
        if is_delete:
            ledger.tombstoned += 1
        else:
            ledger.loaded += 1
        changed.append(i)
        existing[key] = (current[0] if current else -1, digest, is_delete)
    protected = form.protect_many([clears[i] for i in changed])
    county = county_of(source)
    encrypted_keys = vault.encrypt_many([rows[i][KEY] for i in changed]) if tokenised else None
    for n, i in enumerate(changed):
        row, key = rows[i], keys[i]
        is_delete = row.get(OP_COLUMN) == "delete"
        data = protected[n]
        if encrypted_keys is not None:
            data["_source_key_enc"] = encrypted_keys[n]
        values = {"content_hash": digests[i], "data": data, "deleted": is_delete,
                  "delete_reason": row.get(REASON_COLUMN) if is_delete else None,
                  "last_run_id": run_id, "updated_at": now}
        record_id = existing[key][0]
        if key in written:
            rewrites[key] = {"b_key": key, **values}
        elif record_id == -1 or key in inserts:
            inserts[key] = {"source": source, "county_code": county, "stream": stream, "source_key": key,
                            "first_run_id": run_id, **values}
        else:
            updates[key] = {"b_id": record_id, **values}
    connection, table = session.connection(), SourceRecord.__table__
    by_key = (table.c.source == source) & (table.c.stream == stream) & (table.c.source_key == bindparam("b_key"))
    for stmt, batch_rows in ((insert(table), list(inserts.values())),
                             (update(table).where(table.c.id == bindparam("b_id")), list(updates.values())),
                             (update(table).where(by_key), list(rewrites.values()))):
        for start in range(0, len(batch_rows), WRITE_BATCH):
            executemany(connection, stmt, batch_rows[start:start + WRITE_BATCH])
    written.update(inserts)


def _commit_state(session, source: str, stream: str, state: dict[str, Any], run_id: str) -> None:  # type: ignore[no-untyped-def]
    row = session.get(StreamState, (source, stream))
    if row is None:
        session.add(StreamState(source=source, stream=stream, state=state, run_id=run_id))
    else:
        row.state, row.run_id = state, run_id
