"""Extract: read what changed since the committed state into raw Arrow files in the landing zone."""

from __future__ import annotations

import json
import logging
import shutil
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from hub.connector.landing import RunFolder, write_table
from hub.context import HubContext
from hub.db.models import StreamState
from hub.db.session import transaction
from hub.errors import HubError, SourceError
from hub.privacy import Vault
from hub.stages.faults import crash, fault_point

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]


@dataclass
class StreamExtract:
    rows: int = 0  # rows written to the landing zone for validate and load
    files: int = 0
    state_before: dict[str, Any] = field(default_factory=dict)
    state_after: dict[str, Any] = field(default_factory=dict)
    unchanged: int = 0  # rows read again byte for byte as the last committed run read them: not landed
    #: the state candidate is the committed state itself (nothing moved the cursor): extract.json carries
    #: neither copy and load only stamps the committed row with this run (see ``ExtractInfo.manifest``)
    state_kept: bool = False


@dataclass
class ExtractInfo:
    run_id: str
    source: str
    connector: str
    streams: dict[str, StreamExtract]

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.streams.values())

    def manifest(self) -> dict[str, Any]:
        """extract.json's payload: ``dataclasses.asdict`` would deep-copy every stream's state, and a
        dispute log's cursor state (~0.9 MB of nested dicts, before and after) cost ~0.2 CPU s a run to
        copy; the states are plain JSON already, so they are handed to the encoder as they are. A kept
        state (``state_kept``) is written as ``{}`` twice: the store holds it already, and encoding it,
        parsing it in validate and in load and writing it back cost ~0.15 CPU s of every sync that read
        nothing new from the dispute log at 200,000 residents (issue 19)."""
        return {"run_id": self.run_id, "source": self.source, "connector": self.connector,
                "streams": {name: {**vars(s), "state_before": {}, "state_after": {}} if s.state_kept else dict(vars(s))
                            for name, s in self.streams.items()}}


def committed_states(ctx: HubContext, source: str) -> dict[str, dict[str, Any]]:
    with transaction(ctx.db_url) as session:
        rows = session.scalars(select(StreamState).where(StreamState.source == source))
        return {row.stream: dict(row.state or {}) for row in rows}


def extract(ctx: HubContext, source: str, run_id: str, progress: Progress | None = None, *,
            full_refresh: bool = False) -> ExtractInfo:
    """Idempotent per run id: a retried extract starts its run folder afresh from committed state."""
    spec, connector = ctx.source(source)
    folder = RunFolder(ctx.landing, source, run_id)
    if folder.path.exists():
        shutil.rmtree(folder.path)
    states = {} if full_refresh else committed_states(ctx, source)
    kill_after = fault_point("extract")
    info = ExtractInfo(run_id=run_id, source=source, connector=connector.name, streams={})
    tails: dict[str, ReadAgain] = {}
    for stream in connector.streams(spec):
        before = states.get(stream.name, {})
        again = ReadAgain(lambda: ctx.vault, before.get(SEEN))
        before = {k: v for k, v in before.items() if k != SEEN}  # the connector's own state only
        result = StreamExtract(state_before=before, state_after=dict(before))
        out = folder.stream_dir(stream.name)
        try:
            for batch in stream.read(dict(before)):
                records = again.new_rows(batch.records)
                result.unchanged += batch.records.num_rows - records.num_rows
                if records.num_rows:
                    write_table(out / f"raw-{result.files:05d}.arrow", records)
                    result.files += 1
                    result.rows += records.num_rows
                result.state_after = dict(batch.state)
                if progress:
                    progress(stream.name, records.num_rows)
                if kill_after is not None and result.files >= kill_after:
                    crash()
        except HubError:
            raise
        except Exception as exc:  # a connector bug or unexpected source answer: name where
            raise SourceError(f"source {source!r} stream {stream.name!r}: read failed: {type(exc).__name__}: {exc}") from exc
        tails[stream.name] = again
        info.streams[stream.name] = result
        log.info("extracted %s.%s: %d rows in %d files (%d read again unchanged)", source, stream.name,
                 result.rows, result.files, result.unchanged)
    for name, again in tails.items():  # hashed once every stream is read: no read waits for the crypto
        seen_now = again.read_now
        if seen_now:
            info.streams[name].state_after[SEEN] = seen_now
        # a state handed back untouched shares the committed one's values: compared by identity, at once
        info.streams[name].state_kept = not full_refresh and name in states and info.streams[name].state_after == states[name]
    folder.write_json("extract.json", info.manifest())
    return info


#: stream-state key of the keyed hashes of the rows the last committed run read, when it read few
SEEN = "_seen"
SEEN_MAX = 2_000
_ROW_TEXT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


class ReadAgain:
    """Rows a source hands over again exactly as the last committed run read them are not landed.

    A connector whose clock is coarse re-reads its last moments on purpose (population re-reads rows
    changed within ``settle_seconds``, so a late writer in the cursor's second is never skipped).
    Those rows were loaded, found unchanged or quarantined by the run that committed this state;
    read again byte for byte they would change nothing, yet cost a validation (Great Expectations'
    import, Data Docs) every run. So a run keeps a keyed hash of each of the last ``SEEN_MAX`` raw
    rows it read (a cursor-ordered source re-reads its newest rows) in its state candidate,
    committed with the load or not at all, and the next run counts the rows it finds among them
    ``unchanged`` in the ledger instead of landing them. A full refresh starts from no state, so it
    re-reads and re-validates everything.
    """

    def __init__(self, vault: Callable[[], Vault], seen: list[str] | None) -> None:
        self.vault = vault  # made on first use: a source's read starts before the crypto is set up
        self.seen = set(seen or ())
        self.tail: deque[tuple[pa.RecordBatch | pa.Table, list[str | None] | None]] = deque()
        self.tail_rows = 0

    def hashes(self, records: pa.RecordBatch | pa.Table) -> list[str | None]:
        return self.vault().blind_indexes([_ROW_TEXT.encode(row) for row in records.to_pylist()], kind="raw_row")

    def new_rows(self, records: pa.RecordBatch | pa.Table) -> pa.RecordBatch | pa.Table:
        if not records.num_rows:
            return records
        hashes = self.hashes(records) if self.seen else None
        self.tail.append((records, hashes))
        self.tail_rows += records.num_rows
        while self.tail_rows - self.tail[0][0].num_rows >= SEEN_MAX:  # older batches are not needed
            self.tail_rows -= self.tail.popleft()[0].num_rows
        if hashes is None:
            return records
        fresh = [h not in self.seen for h in hashes]
        if not any(fresh):  # all read again (nothing new): no pa.array, which would import pandas (~0.3 CPU s)
            return records.slice(0, 0)
        return records if all(fresh) else records.filter(pa.array(fresh))

    @property
    def read_now(self) -> list[str]:
        """Keyed hashes of the last ``SEEN_MAX`` rows this run read (hashed now if not yet)."""
        out: list[str] = []
        for records, hashes in self.tail:
            out.extend(h for h in (hashes if hashes is not None else self.hashes(records)) if h)
        return out[-SEEN_MAX:]


def read_extract_info(ctx: HubContext, source: str, run_id: str) -> ExtractInfo:
    raw = RunFolder(ctx.landing, source, run_id).read_json("extract.json")
    streams = {name: StreamExtract(**s) for name, s in raw["streams"].items()}
    return ExtractInfo(run_id=raw["run_id"], source=raw["source"], connector=raw["connector"], streams=streams)
