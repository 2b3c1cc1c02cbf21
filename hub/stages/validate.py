"""Validate: apply each stream's contract; valid rows and quarantined rows land as separate files."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from hub.connector.landing import RunFolder, iter_raw_tables, write_table
from hub.context import HubContext
from hub.quality.gate import GateResult, apply_contract, check_drift
from hub.stages.extract import read_extract_info

log = logging.getLogger(__name__)


@dataclass
class StreamValidation:
    read: int = 0
    valid: int = 0
    quarantined: int = 0
    warnings: list[str] = field(default_factory=list)
    checks: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class ValidateInfo:
    run_id: str
    source: str
    streams: dict[str, StreamValidation]


def _to_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows) if rows else pa.table({})


def validate(ctx: HubContext, source: str, run_id: str) -> ValidateInfo:
    extracted = read_extract_info(ctx, source, run_id)
    folder = RunFolder(ctx.landing, source, run_id)
    info = ValidateInfo(run_id=run_id, source=source, streams={})
    checks = ctx.host.checks()
    for stream, ext in extracted.streams.items():
        contract = ctx.contracts.get(extracted.connector, stream)
        result = GateResult()
        seen: set[str] = set()
        stream_dir = folder.stream_dir(stream)
        for table in iter_raw_tables(stream_dir):
            result.warnings.extend(w for w in check_drift(contract, table.column_names) if w not in result.warnings)
            apply_contract(contract, table, result, seen, checks)
        write_table(stream_dir / "valid.arrow", _to_table(result.valid))
        write_table(stream_dir / "quarantine.arrow", _to_table(result.quarantined))
        info.streams[stream] = StreamValidation(
            read=ext.rows, valid=len(result.valid), quarantined=len(result.quarantined),
            warnings=result.warnings, checks=result.checks,
        )
        for warning in result.warnings:
            log.warning("%s", warning)
    folder.write_json("validate.json", asdict(info))
    return info


def read_validate_info(ctx: HubContext, source: str, run_id: str) -> ValidateInfo:
    raw = RunFolder(ctx.landing, source, run_id).read_json("validate.json")
    return ValidateInfo(run_id=raw["run_id"], source=raw["source"],
                        streams={k: StreamValidation(**v) for k, v in raw["streams"].items()})
