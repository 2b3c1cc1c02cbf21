"""Data Docs deferred from the sync to the quality pass: a day's trickle re-checked in Great Expectations.

Why: a batch of a few thousand rows is checked at sync without GX (``hub.quality.suite_plan``; its
import alone costs ~2.5 CPU s, a Data Docs build ~0.2 s a source), yet stewards read a GX page of
every run. Such a run keeps its raw and quarantine parts after load (``hub.connector.landing``
``release``, marker ``docs-pending.json``); this pass re-applies the contract to its raw parts with
GX forced, builds its page, and checks that GX quarantines exactly the rows (and reasons) the sync
quarantined. A disagreement is logged with counts only (never values) and fails the pass; the run
stays pending. Once built, the run is marked ``docs-built.json`` and its parts are released.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from hub.connector.landing import (
    DOCS_BUILT,
    DOCS_PENDING,
    SEALED,
    RunFolder,
    part_path,
    read_sealed_table,
    release,
)
from hub.context import HubContext
from hub.errors import HubError
from hub.events.clock import BEIJING, beijing_now
from hub.quality import suite_plan
from hub.quality.checks import CheckEnv
from hub.quality.columns import KEY
from hub.quality.gate import GateResult, apply_contract, stream_tables
from hub.stages.extract import read_extract_info
from hub.stages.validate import ValidateInfo, check_env, read_validate_info

log = logging.getLogger(__name__)


class DocsMismatchError(HubError):
    """GX, re-run by the quality pass, does not quarantine what the sync quarantined."""


@dataclass
class StreamRecheck:
    stream: str
    rows: int = 0  # live and tombstoned rows re-checked
    gx_quarantined: int = 0
    sync_quarantined: int = 0
    differing: int = 0  # rows quarantined by one side only, or with other reasons
    gx_withheld: int = 0
    sync_withheld: int = 0

    @property
    def agrees(self) -> bool:
        return self.differing == 0 and self.gx_withheld == self.sync_withheld


@dataclass
class DeferredRun:
    source: str
    run_id: str
    streams: list[StreamRecheck] = field(default_factory=list)
    data_docs: str | None = None
    error: str | None = None  # why the run is still pending

    @property
    def agrees(self) -> bool:
        return self.error is None and all(s.agrees for s in self.streams)


def awaited_runs(ctx: HubContext) -> Iterator[RunFolder]:
    """Runs whose parts were kept for their page and whose page is not built yet, oldest first."""
    if not ctx.landing.is_dir():
        return
    for source in sorted(ctx.landing.iterdir()):
        if not source.is_dir() or source.name.startswith("_"):
            continue
        for run in sorted(source.iterdir()):
            if (run / DOCS_PENDING).is_file() and not (run / DOCS_BUILT).is_file():
                yield RunFolder(ctx.landing, source.name, run.name)


def _verdicts(table: pa.Table) -> set[tuple[Any, ...]]:
    """A quarantine part as comparable facts: (row in the raw batch, key, reasons as JSON)."""
    if table.num_rows == 0:
        return set()
    return set(zip(table.column("_row").to_pylist(), table.column(KEY).to_pylist(),
                   table.column("_reasons").to_pylist(), strict=True))


def env_as_synced(ctx: HubContext, folder: RunFolder, validated: ValidateInfo) -> CheckEnv:
    """The reference data as the sync saw it: its day, and no grid registry if none was loaded then (a
    registry loaded since would otherwise turn the run's unchecked grid codes into failures)."""
    synced_on = dt.datetime.fromtimestamp((folder.path / "validate.json").stat().st_mtime, BEIJING).date()
    unregistered = any("grid registry not loaded yet" in w for s in validated.streams.values() for w in s.warnings)
    return CheckEnv(grid_codes_loader=None if unregistered else check_env(ctx).grid_codes_loader, today=synced_on)


def recheck_run(ctx: HubContext, folder: RunFolder) -> tuple[DeferredRun, dict[str, list[Any]]]:
    """The run's raw parts through the gate with GX forced, compared part by part with its quarantine."""
    source, run_id = folder.source, folder.run_id
    extracted = read_extract_info(ctx, source, run_id)
    validated = read_validate_info(ctx, source, run_id)
    checks, env = ctx.host.checks(), env_as_synced(ctx, folder, validated)
    run = DeferredRun(source, run_id)
    validations: dict[str, list[Any]] = {}
    with suite_plan.gx_forced():
        for stream, ext in extracted.streams.items():
            contract = ctx.contracts.get(extracted.connector, stream)
            stream_dir = folder.path / stream
            result = GateResult()
            check = StreamRecheck(stream)
            for index in range(ext.files):
                raw, kept = part_path(stream_dir, "raw", index), part_path(stream_dir, "quarantine", index)
                if not all(p.with_name(p.name + SEALED).is_file() for p in (raw, kept)):
                    raise HubError(f"run {run_id} of {source}: {stream} part {index} is no longer in the landing zone")
                table = read_sealed_table(raw, ctx.vault.open_bytes)
                apply_contract(contract, table, result, checks, env)
                _valid, quarantined = stream_tables(result)
                result.valid.clear()
                result.quarantined.clear()
                mine, theirs = _verdicts(quarantined), _verdicts(read_sealed_table(kept, ctx.vault.open_bytes))
                check.rows += table.num_rows
                check.gx_quarantined += len(mine)
                check.sync_quarantined += len(theirs)
                check.differing += len({r[0] for r in mine ^ theirs})
            result.settle_suite_counts()
            check.gx_withheld = result.withheld
            check.sync_withheld = validated.streams[stream].withheld if stream in validated.streams else 0
            run.streams.append(check)
            validations[stream] = result.validations
    return run, validations


def build_awaited_docs(ctx: HubContext) -> list[DeferredRun]:
    """Build the page of every run awaiting one; raises ``DocsMismatchError`` at the end if any run's
    GX verdicts differ from its sync's (the others are built and released all the same)."""
    from hub.quality.docs import build_data_docs

    done: list[DeferredRun] = []
    for folder in awaited_runs(ctx):
        try:
            run, validations = recheck_run(ctx, folder)
        except Exception as exc:  # one broken run must not keep the others' pages from stewards
            run, validations = DeferredRun(folder.source, folder.run_id, error=f"{type(exc).__name__}: {exc}"), {}
            log.error("data docs: run %s of %s not re-checked: %s", folder.run_id, folder.source, run.error)
        done.append(run)
        if run.error is not None:
            continue
        if any(validations.values()):
            run.data_docs = build_data_docs(ctx, folder.source, folder.run_id, validations)
        for s in run.streams:
            if not s.agrees:
                log.error("data docs: %s/%s run %s: GX quarantines %d of %d rows, the sync quarantined %d "
                          "(%d rows differ); fields withheld: GX %d, sync %d", run.source, s.stream, run.run_id,
                          s.gx_quarantined, s.rows, s.sync_quarantined, s.differing, s.gx_withheld, s.sync_withheld)
        if not run.agrees:
            continue  # stays pending, parts kept: a steward looks, retention still applies
        folder.write_json(DOCS_BUILT, {"data_docs": run.data_docs, "built_at": beijing_now().isoformat(timespec="seconds"),
                                       "rows": {s.stream: s.rows for s in run.streams}})
        os.unlink(folder.path / DOCS_PENDING)
        release(ctx.landing, folder.source, folder.run_id)
    failed = [r for r in done if not r.agrees]
    if failed:
        raise DocsMismatchError(f"data docs: {len(failed)} of {len(done)} deferred runs disagree with their sync "
                                f"or could not be re-checked: " + ", ".join(f"{r.source} {r.run_id}" for r in failed))
    return done
