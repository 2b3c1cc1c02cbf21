"""/sources: each source's last runs, its open quarantine and the latest per-stream quality."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from hub.api.deps import QualityKey, SessionDep
from hub.api.schemas.feeds import RunOut, SourceOut, StreamQuality
from hub.db.models import QuarantinedRow, Run, RunStream

router = APIRouter(prefix="/sources", tags=["sources"])
COUNTS = ("read", "loaded", "unchanged", "quarantined", "tombstoned", "warnings")


@router.get("", response_model=list[SourceOut], summary="Sources: last runs and quality")
def list_sources(session: SessionDep, key: QualityKey,
                 runs: Annotated[int, Query(ge=1, le=50, description="runs per source")] = 5) -> list[SourceOut]:
    names = list(session.scalars(select(Run.source).distinct().order_by(Run.source)))
    out = []
    for name in names:
        recent = list(session.scalars(select(Run).where(Run.source == name)
                                      .order_by(Run.started_at.desc(), Run.run_id.desc()).limit(runs)))
        success = session.scalars(select(Run).where(Run.source == name, Run.state == "success")
                                  .order_by(Run.started_at.desc(), Run.run_id.desc()).limit(1)).first()
        quality = [] if success is None else [
            StreamQuality(stream=s.stream, checks=s.checks or {}, **{c: getattr(s, c) or 0 for c in COUNTS})
            for s in session.scalars(select(RunStream).where(RunStream.run_id == success.run_id)
                                     .order_by(RunStream.stream))]
        open_q = session.scalar(select(func.count()).select_from(QuarantinedRow).where(
            QuarantinedRow.source == name, QuarantinedRow.status == "open")) or 0
        out.append(SourceOut(
            source=name, last_success_at=success.finished_at if success else None, open_quarantine=int(open_q),
            runs=[RunOut(run_id=r.run_id, state=r.state, stage=r.stage, started_at=r.started_at,
                         finished_at=r.finished_at, error=r.error, **{c: getattr(r, c) or 0 for c in COUNTS})
                  for r in recent],
            quality=quality))
    return out
