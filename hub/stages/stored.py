"""How a landing row is stored: its content hash, its protected form and its key in the store.

Worked out once a stream and then a batch at a time: the content hash is a keyed HMAC over the row's
canonical JSON (unchanged since the first version, so stored hashes stay comparable), and personal
data becomes a blind index plus a ciphertext per value, made in batched calls. ``stored_columns``
does it for a whole landing part, so the validating process can do it beside load (``beside``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hub.connector.base import OP_COLUMN, REASON_COLUMN
from hub.context import HubContext
from hub.contracts import StreamContract
from hub.db.session import json_text
from hub.privacy import Vault
from hub.quality.columns import KEY
from hub.stages.row_text import HASHED, STORED, jsonable, quoted_texts, row_texts, value_texts

DIGEST, DATA = "_digest", "_stored"  # a stored part's columns: the content hash, the stored data as JSON


class StoredForm:
    """How one stream's rows are hashed and stored, worked out once a stream rather than once a
    row: which columns are personal data (and their blind-index kind), which hold dates."""

    def __init__(self, contract: StreamContract, vault: Vault, temporal: Iterable[str] = ()) -> None:
        self.vault = vault
        self.columns = [(c.name, str(c.options.get("piiKind", c.normalize or "text")) if c.is_pii else None)
                        for c in contract.columns]
        self.temporal = set(temporal)  # Arrow date/timestamp columns: the only ones jsonable changes

    def clear(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row's contract columns as JSON values (dates ISO-formatted), still in clear."""
        temporal = self.temporal
        return {name: jsonable(row.get(name)) if name in temporal else row.get(name) for name, _ in self.columns}

    def clears(self, batch: pa.RecordBatch) -> list[dict[str, Any]]:
        """``clear`` of every row of a landing batch, built column by column from Arrow (no dict a
        row of every landing column first)."""
        names = [name for name, _ in self.columns]
        columns = []
        for name in names:
            values = column_values(batch, name)
            columns.append([jsonable(v) for v in values] if name in self.temporal else values)
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    def digest(self, clear: dict[str, Any], row: dict[str, Any]) -> str:
        """Keyed, so a hash over a row holding an ID cannot be brute-forced back to the ID."""
        return self.digests([clear], [row.get(OP_COLUMN)], [row.get(REASON_COLUMN)])[0]

    def digests(self, clears: list[dict[str, Any]], ops: list[Any], reasons: list[Any]) -> list[str]:
        """``digest`` of a batch: the same text and key (stored hashes stay comparable across
        versions), one encoder and one batched HMAC call instead of both built per row."""
        encode = _ROW_TEXT.encode
        texts = []
        for clear, op, reason in zip(clears, ops, reasons, strict=True):
            payload = dict(clear)
            payload[OP_COLUMN], payload[REASON_COLUMN] = op, reason
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


def column_values(batch: pa.RecordBatch, name: str) -> list[Any]:
    index = batch.schema.get_field_index(name)
    return batch.column(index).to_pylist() if index >= 0 else [None] * batch.num_rows


#: the row text the content hash is made of (as ``json.dumps(..., ensure_ascii=False, sort_keys=True,
#: default=str)`` always wrote it), built once rather than once a row
_ROW_TEXT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


def claim_stored(stream_dir: Path, index: int) -> bool:
    """Whether this process makes part ``index``'s stored part: the first of the two processes to ask
    does (validate beside load: the validator after its valid part, load when it would otherwise wait
    for the part), so neither core idles while the other has a part's hashing and crypto to do."""
    try:
        os.close(os.open(stream_dir / f"stored-{index:05d}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    return True


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


def prepared(contract: StreamContract, vault: Vault, batch: pa.RecordBatch
             ) -> tuple[StoredForm, list[dict[str, Any]], list[Any], list[Any], list[Any]]:
    """(form, clear rows, clear keys, ops, reasons) of a landing batch; a tombstone keyed by
    personal data has its identity filled from its key first."""
    form = StoredForm(contract, vault, (f.name for f in batch.schema if pa.types.is_temporal(f.type)))
    clears = form.clears(batch)
    clear_keys, ops, reasons = (column_values(batch, c) for c in (KEY, OP_COLUMN, REASON_COLUMN))
    if key_is_pii(contract):
        for i, op in enumerate(ops):
            if op == "delete":
                row = dict(clears[i])
                _tombstone_identity(contract, row, clear_keys[i])
                clears[i] = form.clear(row)
    return form, clears, clear_keys, ops, reasons


def stored_columns(contract: StreamContract, vault: Vault, batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """Every row's content hash and stored data (as the store's JSON text), row for row with the
    landing part: what load would work out for each row, done where a core is free."""
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else None
    if batch is None or not batch.num_rows:
        return pa.table({DIGEST: pa.array([], pa.string()), DATA: pa.array([], pa.string())})
    by_column = _stored_by_column(contract, vault, batch)
    return by_column if by_column is not None else _stored_by_row(contract, vault, batch)


def _column(batch: pa.RecordBatch, name: str) -> pa.Array:
    index = batch.schema.get_field_index(name)
    return batch.column(index) if index >= 0 else pa.nulls(batch.num_rows, pa.null())


def _stored_by_column(contract: StreamContract, vault: Vault, batch: pa.RecordBatch) -> pa.Table | None:
    """``_stored_by_row``'s very texts built down the columns (``hub.stages.row_text``); None where
    only the row path can say (a tombstone keyed by personal data, a value orjson refuses)."""
    tokenised = key_is_pii(contract)
    ops = _column(batch, OP_COLUMN)
    if tokenised and pc.any(pc.equal(ops.cast(pa.string()), "delete")).as_py():
        return None  # its identity is filled from its key, row by row (``prepared``)
    n = batch.num_rows
    hashed: dict[str, pa.Array] = {}
    kept: dict[str, pa.Array] = {}
    for c in contract.columns:
        arr = _column(batch, c.name)
        temporal = pa.types.is_temporal(arr.type)
        hashed_text = value_texts(arr, HASHED, temporal=temporal)
        if hashed_text is None:
            return None
        hashed[c.name] = hashed_text
        if not c.is_pii:
            kept_text = value_texts(arr, STORED, temporal=temporal)
            if kept_text is None:
                return None
            kept[c.name] = kept_text
            continue
        kind = str(c.options.get("piiKind", c.normalize or "text"))
        texts = [None if v is None else str(jsonable(v) if temporal else v) for v in arr.to_pylist()]
        kept[f"{c.name}_bidx"] = quoted_texts(vault.blind_indexes(texts, kind=kind))
        kept[f"{c.name}_enc"] = quoted_texts(vault.encrypt_many(texts))
    if tokenised:
        kept["_source_key_enc"] = quoted_texts(vault.encrypt_many(_column(batch, KEY).to_pylist()))
    for name in (OP_COLUMN, REASON_COLUMN):
        op_text = value_texts(_column(batch, name), HASHED, temporal=False)
        if op_text is None:
            return None
        hashed[name] = op_text
    row, data = row_texts(hashed, HASHED, n), row_texts(kept, STORED, n)
    if row is None or data is None:
        return None
    digests = [d or "" for d in vault.blind_indexes(row.to_pylist(), kind="row")]
    return pa.table({DIGEST: pa.array(digests, pa.string()), DATA: data})


def _stored_by_row(contract: StreamContract, vault: Vault, batch: pa.RecordBatch) -> pa.Table:
    """The reference: each row's clear dict, its hash text and its protected dict, one by one."""
    form, clears, clear_keys, ops, reasons = prepared(contract, vault, batch)
    protected = form.protect_many(clears)
    if key_is_pii(contract):
        for data, token in zip(protected, vault.encrypt_many(clear_keys), strict=True):
            data["_source_key_enc"] = token
    return pa.table({DIGEST: form.digests(clears, ops, reasons), DATA: [json_text(d) for d in protected]})
