"""Steward pages: the morning overview (runs, ledger balance, open quarantine and its trend) and the
quality pages that stand in for the Great Expectations Data Docs (same figures, nothing fetched)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.console.app import render
from hub.console.deps import Refused, SessionDep, StewardDep, console_of
from hub.db.models import MatchReview, QuarantinedRow, Run
from hub.quality.steward import quality_report

router = APIRouter()
RUNS_SHOWN = 5
TREND_RUNS = 10


def balanced(r: Run) -> bool:
    return r.read == r.loaded + r.unchanged + r.quarantined + r.tombstoned


@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, user: StewardDep) -> HTMLResponse:
    sources = sorted({*console_of(request).ctx.config.sources, *session.scalars(select(Run.source).distinct())})
    runs: dict[str, list[Run]] = {}
    for source in sources:
        runs[source] = list(session.scalars(select(Run).where(Run.source == source)
                                            .order_by(Run.started_at.desc(), Run.run_id.desc()).limit(RUNS_SHOWN)))
    open_by: dict[str, Counter[str]] = defaultdict(Counter)
    for source, reasons in session.execute(select(QuarantinedRow.source, QuarantinedRow.reasons)
                                           .where(QuarantinedRow.status == "open")):
        for r in reasons or []:
            if isinstance(r, dict) and r.get("severity", "error") == "error":
                open_by[source][str(r.get("check"))] += 1
    reason_trend = _reason_trends(session, sources, open_by)
    report = quality_report(console_of(request).ctx)
    trends = [{"source": r["source"], "stream": r["stream"], "trend": r["quarantine_rate_trend"],
               "latest": r["quarantine_rate_trend"][-1] if r["quarantine_rate_trend"] else None} for r in report]
    pending = session.scalar(select(func.count()).select_from(MatchReview).where(MatchReview.status == "pending"))
    return render(request, "overview.html", runs=runs, balanced=balanced, open_by=open_by, trends=trends,
                  reason_trend=reason_trend,
                  pending=pending or 0, title="总览")


def _reason_trends(session: Session, sources: list[str], open_by: dict[str, Counter[str]]) -> dict[tuple[str, str], list[int]]:
    """Rows quarantined for each open reason in each of the source's last runs (oldest first)."""
    out: dict[tuple[str, str], list[int]] = {}
    for source in sources:
        if not open_by.get(source):
            continue
        ids = list(reversed(session.scalars(select(Run.run_id).where(Run.source == source)
                                            .order_by(Run.started_at.desc(), Run.run_id.desc()).limit(TREND_RUNS)).all()))
        per_run: dict[str, Counter[str]] = defaultdict(Counter)
        for run_id, reasons in session.execute(select(QuarantinedRow.run_id, QuarantinedRow.reasons).where(
                QuarantinedRow.source == source, QuarantinedRow.run_id.in_(ids))):
            for r in reasons or []:
                if isinstance(r, dict):
                    per_run[run_id][str(r.get("check"))] += 1
        for reason in open_by[source]:
            out[(source, reason)] = [per_run[i][reason] for i in ids]
    return out


@router.get("/quality", response_class=HTMLResponse)
def quality(request: Request, user: StewardDep, source: str | None = None) -> HTMLResponse:
    report: list[dict[str, Any]] = quality_report(console_of(request).ctx, source or None)
    return render(request, "quality.html", report=report, source=source or "", title="数据质量")


@router.get("/data-docs/{path:path}")
def data_docs(request: Request, path: str, user: StewardDep) -> Response:
    """The GX Data Docs site (localised: every script and style from the site itself), for stewards."""
    from hub.quality.docs import docs_folder

    site = (docs_folder(console_of(request).ctx) / "site").resolve()
    target = (site / (path or "index.html")).resolve()
    if not target.is_relative_to(site) or not target.is_file():
        raise Refused(404, "Data Docs 中没有此页面（尚未同步？）")
    return FileResponse(target)
