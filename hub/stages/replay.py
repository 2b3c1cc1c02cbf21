"""Replay: re-validate quarantined rows against today's contract and checks, load those that pass.

After a contract fix or an upstream correction a steward replays rows (by id or by source).
Each source's replay is a run of its own in the ledger (read = the rows replayed = loaded +
unchanged + still quarantined), loaded by the ordinary load stage in one transaction: rows
that pass become source records and their quarantine entries turn ``replayed``; rows still
failing stay ``open`` with their reasons brought up to date. A field entry is replayed by
re-validating its whole row: the record loads either way, and the entry closes only when the
field now passes. Stream state is never touched.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import pyarrow as pa
from sqlalchemy import select

from hub.connector.landing import RunFolder, write_table
from hub.context import HubContext
from hub.db.models import QuarantinedRow
from hub.db.session import transaction
from hub.errors import HubError
from hub.quality.gate import GateResult, apply_contract, stream_tables
from hub.stages.extract import ExtractInfo, StreamExtract
from hub.stages.ledger import new_run_id
from hub.stages.load import QIDS, LoadInfo, load
from hub.stages.sync import run_stage
from hub.stages.validate import StreamValidation, ValidateInfo, check_env

log = logging.getLogger(__name__)


@dataclass
class ReplayInfo:
    runs: dict[str, LoadInfo] = field(default_factory=dict)  # source -> the replay run's ledger

    @property
    def passed(self) -> int:
        return sum(s["loaded"] + s["unchanged"] for info in self.runs.values() for s in info.streams.values())

    @property
    def still_failing(self) -> int:
        return sum(s["quarantined"] for info in self.runs.values() for s in info.streams.values())


def _open_rows(ctx: HubContext, ids: list[int] | None, source: str | None) -> list[QuarantinedRow]:
    with transaction(ctx.db_url) as session:
        query = select(QuarantinedRow).where(QuarantinedRow.status == "open").order_by(QuarantinedRow.id)
        if ids:
            query = query.where(QuarantinedRow.id.in_(ids))
        if source:
            query = query.where(QuarantinedRow.source == source)
        rows = list(session.scalars(query))
        session.expunge_all()
    if ids:
        missing = sorted(set(ids) - {r.id for r in rows})
        if missing:
            raise HubError(f"no open quarantined row with id {', '.join(map(str, missing))}")
    return rows


def replay(ctx: HubContext, ids: list[int] | None = None, source: str | None = None) -> ReplayInfo:
    if not ids and not source:
        raise HubError("name quarantined row ids or a --source to replay")
    ctx.ensure_store()
    by_source: dict[str, dict[str, list[QuarantinedRow]]] = defaultdict(lambda: defaultdict(list))
    for row in _open_rows(ctx, ids, source):
        by_source[row.source][row.stream].append(row)
    info = ReplayInfo()
    for src, streams in by_source.items():
        run_id = new_run_id()
        run_stage(ctx, src, run_id, "extract", lambda c, s, r, st=streams: _stage(c, s, r, st))
        info.runs[src] = run_stage(ctx, src, run_id, "load", load)
        log.info("replayed %s: run %s %s", src, run_id, info.runs[src].streams)
    return info


def _stage(ctx: HubContext, source: str, run_id: str, streams: dict[str, list[QuarantinedRow]]) -> ExtractInfo:
    """Write the replay's landing folder as extract + validate would (state: none).

    A row is replayed once however many of its entries were asked for (its record entry, a field
    entry per withheld column), from the newest raw values any of them holds; every outcome row
    carries the ids of the entries it answers (``_quarantine_ids``), and load closes those that
    no longer fail.
    """
    connector = ctx.connector_name(source)
    folder = RunFolder(ctx.landing, source, run_id)
    extracted = ExtractInfo(run_id=run_id, source=source, connector=connector, streams={})
    validated = ValidateInfo(run_id=run_id, source=source, streams={})
    checks, env = ctx.host.checks(), check_env(ctx)
    for stream, entries in streams.items():
        contract = ctx.contracts.get(connector, stream)
        groups: dict[str, list[QuarantinedRow]] = defaultdict(list)
        for entry in entries:  # keyless rows stand alone
            groups[entry.source_key if entry.source_key is not None else f"#{entry.id}"].append(entry)
        rows = [max(group, key=lambda e: e.id) for group in groups.values()]
        ids = [json.dumps(sorted(e.id for e in group)) for group in groups.values()]
        raw = [json.loads(ctx.vault.decrypt(r.raw_enc) or "{}") for r in rows]
        columns = list(dict.fromkeys(k for row in raw for k in row))
        table = pa.Table.from_pylist([{k: row.get(k) for k in columns} for row in raw])
        result = GateResult()
        apply_contract(contract, table, result, checks, env)
        valid, quarantined = stream_tables(result)
        failed = set(quarantined.column("_row").to_pylist())
        if valid.num_rows:
            valid = valid.append_column(QIDS, pa.array([ids[i] for i in range(len(rows)) if i not in failed],
                                                       pa.string()))
        quarantined = quarantined.append_column(
            QIDS, pa.array([ids[i] for i in quarantined.column("_row").to_pylist()], pa.string()))
        stream_dir = folder.stream_dir(stream)
        write_table(stream_dir / "valid.arrow", valid)
        write_table(stream_dir / "quarantine.arrow", quarantined)
        extracted.streams[stream] = StreamExtract(rows=len(rows), files=0, state_before={}, state_after=None)  # type: ignore[arg-type]
        validated.streams[stream] = StreamValidation(read=len(rows), valid=valid.num_rows,
                                                     quarantined=quarantined.num_rows, withheld=result.withheld,
                                                     warnings=result.warnings, checks=result.checks)
    folder.write_json("extract.json", asdict(extracted))
    folder.write_json("validate.json", asdict(validated))
    return extracted
