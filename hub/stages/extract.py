"""Extract: read what changed since the committed state into raw Arrow files in the landing zone."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from hub.connector.landing import RunFolder, write_table
from hub.context import HubContext
from hub.db.models import StreamState
from hub.db.session import transaction
from hub.errors import HubError, SourceError
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


@dataclass
class ExtractInfo:
    run_id: str
    source: str
    connector: str
    streams: dict[str, StreamExtract]

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.streams.values())


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
    for stream in connector.streams(spec):
        before = states.get(stream.name, {})
        result = StreamExtract(state_before=before, state_after=dict(before))
        out = folder.stream_dir(stream.name)
        try:
            for batch in stream.read(dict(before)):
                if batch.records.num_rows:
                    write_table(out / f"raw-{result.files:05d}.arrow", batch.records)
                    result.files += 1
                    result.rows += batch.records.num_rows
                result.state_after = dict(batch.state)
                if progress:
                    progress(stream.name, batch.records.num_rows)
                if kill_after is not None and result.files >= kill_after:
                    crash()
        except HubError:
            raise
        except Exception as exc:  # a connector bug or unexpected source answer: name where
            raise SourceError(f"source {source!r} stream {stream.name!r}: read failed: {type(exc).__name__}: {exc}") from exc
        info.streams[stream.name] = result
        log.info("extracted %s.%s: %d rows in %d files", source, stream.name, result.rows, result.files)
    folder.write_json("extract.json", asdict(info))
    return info


def read_extract_info(ctx: HubContext, source: str, run_id: str) -> ExtractInfo:
    raw = RunFolder(ctx.landing, source, run_id).read_json("extract.json")
    streams = {name: StreamExtract(**s) for name, s in raw["streams"].items()}
    return ExtractInfo(run_id=raw["run_id"], source=raw["source"], connector=raw["connector"], streams=streams)
