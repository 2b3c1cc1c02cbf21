"""A whole sync: extract -> validate -> load (-> resolve) per source, recorded in the ledger.

``sync_sources`` syncs several and isolates their failures: a corrupt roster or a bad token in one
department does not stop the others, resolve runs over what loaded, and the caller gets one outcome
per source (ok, or failed with its one-line reason) to report and to set its exit status from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.connector.landing import prune_all, release
from hub.context import HubContext
from hub.errors import HubError
from hub.stages.beside import ValidationWorker, validate_and_load, worth_it
from hub.stages.extract import ExtractInfo, Progress, extract
from hub.stages.ledger import fail_run, mark_stage, new_run_id, start_run
from hub.stages.load import LoadInfo, load
from hub.stages.preflight import preflight
from hub.stages.validate import ValidateInfo, validate

log = logging.getLogger(__name__)


@dataclass
class SyncInfo:
    run_id: str
    source: str
    extract: ExtractInfo
    validate: ValidateInfo
    load: LoadInfo
    resolve: Any = None


def run_stage(ctx: HubContext, source: str, run_id: str, stage: str, fn, *args: Any,  # type: ignore[no-untyped-def]
              prune: bool = True) -> Any:
    """Run one stage of a run; any failure marks the run failed with its one-line reason. An extract
    first prunes every source's expired landing folders, unless the caller did (``prune=False``)."""
    if stage == "extract":
        if prune:
            prune_all(ctx.landing, ctx.config.landing_keep_days)  # every source's old folders, not only this one's
        start_run(ctx, source, run_id)
    else:
        mark_stage(ctx, run_id, stage)
    try:
        result = fn(ctx, source, run_id, *args)
        if stage in ("load", "validate+load"):  # committed: the run's Arrow files (clear personal data) serve no stage any more
            release(ctx.landing, source, run_id, seal=ctx.vault.seal_bytes)
        return result
    except HubError as exc:
        fail_run(ctx, run_id, f"{getattr(exc, 'stage', stage)}: {exc}")
        raise
    except Exception as exc:
        fail_run(ctx, run_id, f"{stage}: {type(exc).__name__}: {exc}")
        raise


#: told (source, stage) as each stage of a sync starts: "extract", "validate", "load"
StageHook = Callable[[str, str], None]


def sync(ctx: HubContext, source: str, *, run_id: str | None = None, resolve: bool = True,
         progress: Progress | None = None, full_refresh: bool = False, on_stage: StageHook | None = None,
         prune: bool = True) -> SyncInfo:
    ctx.source(source)  # an unknown source or connector fails here, before a run is written for it
    ctx.ensure_store()
    run_id = run_id or new_run_id()
    stage = on_stage or (lambda _source, _stage: None)
    stage(source, "extract")
    worker: ValidationWorker | None = None
    read = 0

    def extracting(stream: str, rows: int) -> None:
        """A large read starts its validator (and its Great Expectations import) while it goes on."""
        nonlocal worker, read
        read += rows
        if worker is None and worth_it(read):
            worker = ValidationWorker(ctx, source, run_id, docs=True)
            worker.start()
        if progress:
            progress(stream, rows)

    try:
        extracted = run_stage(ctx, source, run_id, "extract",
                              lambda c, s, r: extract(c, s, r, extracting, full_refresh=full_refresh), prune=prune)
    except BaseException:
        if worker is not None:
            worker.stop()
        raise
    stage(source, "validate")
    if worker is not None:  # a large run: validate part N+1 in the second process while part N loads
        stage(source, "load")
        validated, loaded = run_stage(ctx, source, run_id, "validate+load",
                                      lambda c, s, r: validate_and_load(c, s, r, worker))
    else:
        # nothing read, nothing to show stewards: no Data Docs (and no Great Expectations import)
        validated = run_stage(ctx, source, run_id, "validate",
                              lambda c, s, r: validate(c, s, r, docs=extracted.rows > 0))
        stage(source, "load")
        loaded = run_stage(ctx, source, run_id, "load", load)
    info = SyncInfo(run_id=run_id, source=source, extract=extracted, validate=validated, load=loaded)
    if resolve:
        from hub.resolve import resolve as resolve_stage

        info.resolve = resolve_stage(ctx, sources=[source])
    return info


def resolve_pending(ctx: HubContext) -> bool:
    """Nothing loaded since the last resolve, on the same day: the resolve pass is skipped."""
    from hub.resolve.watermark import pending

    return pending(ctx)


@dataclass
class SourceOutcome:
    source: str
    ok: bool
    run_id: str | None = None
    reason: str | None = None  # one line: why it failed
    info: SyncInfo | None = None

    @property
    def quarantined(self) -> int:
        return sum(c.get("quarantined", 0) for c in self.info.load.streams.values()) if self.info else 0


@dataclass
class SyncReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    resolve: Any = None
    resolve_error: str | None = None
    resolve_skipped: bool = False  # nothing loaded since the last resolve, the same day: nothing to do

    @property
    def failed(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and self.resolve_error is None


def sync_sources(ctx: HubContext, names: list[str], *, resolve: bool = True, full_refresh: bool = False,
                 progress_for: Callable[[str], Any] | None = None, on_stage: StageHook | None = None,
                 on_resolve_step: Callable[[str, str], None] | None = None) -> SyncReport:
    """Sync each source in turn; one failing is recorded and the next one runs.

    Sources that fail the preflight (``hub.stages.preflight``) are reported without a run; resolve
    runs over the sources that loaded. ``progress_for(source)`` is a context manager yielding an
    extract progress callback (the CLI's bar), or None.
    """
    from contextlib import nullcontext

    report = SyncReport()
    blocked = {p.source: p.reason for p in preflight(ctx, names)}
    # once for all: each extract would list every source's run folders again (a week of 5-minute syncs
    # of six sources is ~12,000 folders, ~0.1 CPU s a listing)
    prune_all(ctx.landing, ctx.config.landing_keep_days)
    for name in names:
        if name in blocked:
            report.outcomes.append(SourceOutcome(name, ok=False, reason=blocked[name]))
            continue
        run_id = new_run_id()
        try:
            with (progress_for(name) if progress_for else nullcontext(None)) as progress:
                info = sync(ctx, name, run_id=run_id, resolve=False, progress=progress, full_refresh=full_refresh,
                            on_stage=on_stage, prune=False)
        except HubError as exc:
            report.outcomes.append(SourceOutcome(name, ok=False, run_id=run_id, reason=str(exc)))
        except Exception as exc:  # an unexpected failure is still this source's alone
            log.debug("sync of %s failed", name, exc_info=True)
            first = (str(exc).strip().splitlines() or [""])[0]
            report.outcomes.append(SourceOutcome(name, ok=False, run_id=run_id,
                                                 reason=f"{type(exc).__name__}: {first}"))
        else:
            report.outcomes.append(SourceOutcome(name, ok=True, run_id=run_id, info=info))
    loaded = [o.source for o in report.outcomes if o.ok]
    report.resolve_skipped = bool(resolve and loaded) and not resolve_pending(ctx)
    if resolve and loaded and not report.resolve_skipped:
        from hub.resolve import resolve as resolve_stage

        try:
            report.resolve = resolve_stage(ctx, sources=loaded, on_step=on_resolve_step)
        except HubError as exc:
            report.resolve_error = str(exc)
    return report
