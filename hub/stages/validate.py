"""Validate: apply each stream's contract; valid rows and quarantined rows land as separate files.

Each raw batch ``raw-N`` becomes ``valid-N`` and then ``quarantine-N`` (written whole, renamed into
place), so memory holds a few batches (a group of at most ``GROUP_ROWS`` raw rows, checked in one GX
validation: ``group_failures``) and load may take part N while later parts are validated (``sync``
runs the two side by side on a large run). Schema drift in any stream stops the whole run here,
before load commits, so the store is untouched. GX Data Docs for the run are built at the end
(``hub.quality.docs``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import select

from hub.connector.landing import RunFolder, part_path, read_table, write_table
from hub.context import HubContext
from hub.contracts import StreamContract
from hub.errors import HubError
from hub.quality.checks import CheckEnv, DomainCheck
from hub.quality.gate import GateResult, Prepared, check_drift, finish, prepare, stream_tables, suite_failures
from hub.quality.suite_plan import Failure
from hub.stages.extract import read_extract_info

log = logging.getLogger(__name__)
#: raw rows of a stream's parts checked in one GX validation, after its first (one part's) validation
GROUP_ROWS = 100_000


@dataclass
class StreamValidation:
    read: int = 0
    valid: int = 0
    quarantined: int = 0
    withheld: int = 0  # valid rows with a field withheld (load counts them again, in its ledger)
    warnings: list[str] = field(default_factory=list)
    checks: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class ValidateInfo:
    run_id: str
    source: str
    streams: dict[str, StreamValidation]
    data_docs: str | None = None


def grid_registry_codes(ctx: HubContext) -> set[str] | None:
    """Codes of every live grid loaded from a grid-registry source; None when none is loaded."""
    from hub.db.models import SourceRecord
    from hub.db.session import transaction

    sources = [name for name, cfg in ctx.config.sources.items() if cfg.connector == "grid-registry"]
    if not sources:
        return None
    try:
        with transaction(ctx.db_url) as session:
            rows = session.execute(select(SourceRecord.source_key).where(
                SourceRecord.source.in_(sources), SourceRecord.stream == "grids", SourceRecord.deleted.is_(False)))
            codes = {key for (key,) in rows}
    except Exception as exc:  # a store not migrated yet holds no registry
        log.debug("grid registry not readable: %s", exc)
        return None
    return codes or None


def check_env(ctx: HubContext) -> CheckEnv:
    return CheckEnv(grid_codes_loader=lambda: grid_registry_codes(ctx))


#: told (stream, part index, the part's valid rows) after ``valid-N`` is written, before ``quarantine-N``
PartHook = Callable[[str, int, pa.Table], None]


#: (stream, the indexes of its raw parts) in extract's order; ``beside`` follows a running extract
RawParts = Iterable[tuple[str, Iterable[int]]]


def validate(ctx: HubContext, source: str, run_id: str, *, docs: bool = True,
             on_valid: PartHook | None = None, raw_parts: RawParts | None = None) -> ValidateInfo:
    """``raw_parts``: the parts as extract writes them (validation starts before extract ends); by
    default those its manifest lists."""
    folder = RunFolder(ctx.landing, source, run_id)
    if raw_parts is None:
        listed = read_extract_info(ctx, source, run_id)
        raw_parts = [(stream, range(ext.files)) for stream, ext in listed.streams.items()]
        connector = listed.connector
    else:
        connector = ctx.connector_name(source)
    info = ValidateInfo(run_id=run_id, source=source, streams={})
    checks = ctx.host.checks()
    env = check_env(ctx)
    validations: dict[str, list[Any]] = {}
    parts_done: dict[str, int] = {}
    for stream, indexes in raw_parts:
        contract = ctx.contracts.get(connector, stream)
        result = GateResult()
        stream_dir = folder.stream_dir(stream)
        n_valid = n_quarantined = 0
        group: list[tuple[int, Prepared | None]] = []
        group_rows = 0
        for index in chain(indexes, [None]):  # a few raw batches at a time: memory stays bounded
            if index is not None:
                table = read_table(part_path(stream_dir, "raw", index))
                drift = check_drift(contract, table.column_names, table.schema)
                group.append((index, prepare(contract, table, result, checks, drift)))
                group_rows += table.num_rows
                if result.validations and group_rows < GROUP_ROWS:
                    continue  # the stream's first GX validation is one part's: the page lists that part's rows
            for index_done, valid, quarantined in _finish_group(contract, stream_dir, group, result, checks, env):
                if on_valid is not None:
                    on_valid(stream, index_done, valid)
                write_table(part_path(stream_dir, "quarantine", index_done), quarantined)  # last: the part is complete
                n_valid, n_quarantined = n_valid + valid.num_rows, n_quarantined + quarantined.num_rows
                parts_done[stream] = index_done + 1
            group, group_rows = [], 0
        parts_done.setdefault(stream, 0)
        result.settle_suite_counts()
        info.streams[stream] = StreamValidation(
            read=0, valid=n_valid, quarantined=n_quarantined, withheld=result.withheld,
            warnings=result.warnings, checks=result.checks,
        )
        validations[stream] = result.validations
        for warning in result.warnings:
            log.warning("%s", warning)
    extracted = read_extract_info(ctx, source, run_id)  # written once extract has read every stream
    if {name: ext.files for name, ext in extracted.streams.items()} != parts_done:
        raise HubError(f"validate {source} {run_id}: raw parts validated {parts_done} are not those extracted "
                       f"{ {name: ext.files for name, ext in extracted.streams.items()} }")
    for name, ext in extracted.streams.items():
        info.streams[name].read = ext.rows
    if docs and any(validations.values()):  # a handful of rows checked without GX has no page (suite_plan)
        info.data_docs = _build_docs(ctx, source, run_id, validations)
    folder.write_json("validate.json", asdict(info))
    return info


def _finish_group(contract: StreamContract, stream_dir: Path, group: list[tuple[int, Prepared | None]],
                  result: GateResult, checks: dict[str, DomainCheck], env: CheckEnv
                  ) -> Iterator[tuple[int, pa.Table, pa.Table]]:
    """Each part of the group with its verdicts, in order: its valid rows written, its quarantine to write."""
    prepared = [p for _, p in group if p is not None]
    verdicts = iter(group_failures(contract, prepared, result, checks, env))
    for index, part in group:
        if part is not None:
            finish(contract, part, next(verdicts), result, checks, env)
        valid, quarantined = stream_tables(result)
        result.valid.clear()
        result.quarantined.clear()
        write_table(part_path(stream_dir, "valid", index), valid)
        yield index, valid, quarantined


def group_failures(contract: StreamContract, group: list[Prepared], result: GateResult,
                   checks: dict[str, DomainCheck], env: CheckEnv) -> list[list[Failure]]:
    """The suite's failing rows of each part, from one GX validation of them all when that gives each
    part's own verdicts: every expectation but ``unique`` looks at a row alone, so the group is checked
    a part at a time when a unique column's value repeats across its parts (or their frames' types
    differ). GX's fixed cost a validation (~0.1 CPU s: metric graphs, configurations, result objects)
    is then paid once a group rather than once a 20,000-row part."""
    if len(group) < 2 or not result.validations or not _joinable(group):
        return [suite_failures(contract, p, result, checks, env) for p in group]
    import pandas as pd

    from hub.quality.expectations import compile_suite, run_suite

    frame = pd.concat([p.frame for p in group], ignore_index=True)
    validation, failures = run_suite(compile_suite(contract, checks), frame, env, checks)
    result.validations.append(validation)
    starts = np.cumsum([0] + [len(p.frame) for p in group])
    out: list[list[Failure]] = [[] for _ in group]
    for failure in failures:
        rows = np.asarray(failure.rows, dtype=np.int64)
        part_of = np.searchsorted(starts, rows, side="right") - 1
        for i in range(len(group)):
            mine = rows[part_of == i] - starts[i]
            if len(mine):
                out[i].append(Failure(rows=[int(r) for r in mine], meta=dict(failure.meta)))
    return out


def _joinable(group: list[Prepared]) -> bool:
    """Whether one validation of the group's frames gives each part's verdicts (see group_failures)."""
    import pandas as pd

    first = group[0].frame
    if any(list(p.frame.columns) != list(first.columns) or not p.frame.dtypes.equals(first.dtypes)
           for p in group[1:]):
        return False
    for column in {p.column for p in group[0].planned if p.kind == "unique"}:
        within = np.concatenate([(p.frame[column].duplicated(keep=False) & p.frame[column].notna()).to_numpy()
                                 for p in group])
        joined = pd.concat([p.frame[column] for p in group], ignore_index=True)
        if not np.array_equal(within, (joined.duplicated(keep=False) & joined.notna()).to_numpy()):
            return False
    return True


def _build_docs(ctx: HubContext, source: str, run_id: str, validations: dict[str, list[Any]]) -> str | None:
    """Data Docs are for stewards; failing to build them must not fail the run."""
    from hub.quality.docs import build_data_docs

    try:
        return build_data_docs(ctx, source, run_id, validations)
    except Exception as exc:
        log.warning("data docs for run %s not built: %s: %s", run_id, type(exc).__name__, exc)
        return None


def read_validate_info(ctx: HubContext, source: str, run_id: str) -> ValidateInfo:
    raw = RunFolder(ctx.landing, source, run_id).read_json("validate.json")
    return ValidateInfo(run_id=raw["run_id"], source=raw["source"], data_docs=raw.get("data_docs"),
                        streams={k: StreamValidation(**v) for k, v in raw["streams"].items()})
