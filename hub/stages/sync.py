"""A whole sync of one source: extract -> validate -> load (-> resolve), recorded in the ledger."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hub.connector.landing import prune
from hub.context import HubContext
from hub.errors import HubError
from hub.stages.extract import ExtractInfo, Progress, extract
from hub.stages.ledger import fail_run, mark_stage, new_run_id, start_run
from hub.stages.load import LoadInfo, load
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


def run_stage(ctx: HubContext, source: str, run_id: str, stage: str, fn, *args: Any) -> Any:  # type: ignore[no-untyped-def]
    """Run one stage of a run; any failure marks the run failed with its one-line reason."""
    if stage == "extract":
        start_run(ctx, source, run_id)
    else:
        mark_stage(ctx, run_id, stage)
    try:
        return fn(ctx, source, run_id, *args)
    except HubError as exc:
        fail_run(ctx, run_id, f"{stage}: {exc}")
        raise
    except Exception as exc:
        fail_run(ctx, run_id, f"{stage}: {type(exc).__name__}: {exc}")
        raise


def sync(ctx: HubContext, source: str, *, run_id: str | None = None, resolve: bool = True,
         progress: Progress | None = None, full_refresh: bool = False) -> SyncInfo:
    ctx.ensure_store()
    prune(ctx.landing, source, ctx.config.landing_keep_days)
    run_id = run_id or new_run_id()
    extracted = run_stage(ctx, source, run_id, "extract", lambda c, s, r: extract(c, s, r, progress,
                                                                                   full_refresh=full_refresh))
    validated = run_stage(ctx, source, run_id, "validate", validate)
    loaded = run_stage(ctx, source, run_id, "load", load)
    info = SyncInfo(run_id=run_id, source=source, extract=extracted, validate=validated, load=loaded)
    if resolve:
        from hub.resolve import resolve as resolve_stage

        info.resolve = resolve_stage(ctx, sources=[source])
    return info
