"""Quarantine triage: filter, the raw row beside its reasons, dismiss with a note, replay, undo."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from hub.console.app import PREFIX, render
from hub.console.deps import FormDep, Refused, SessionDep, StewardDep, console_of
from hub.console.display import Paging, page_url
from hub.console.triage import facets, recent_actions, replay_rows
from hub.db.models import QuarantinedRow
from hub.errors import HubError
from hub.quality.steward import dismiss_rows, quarantine_query, show_quarantine, undo_dismissal

router = APIRouter()
Text = Annotated[str | None, Query(max_length=128)]


@router.get("/quarantine", response_class=HTMLResponse)
def queue(request: Request, session: SessionDep, user: StewardDep, source: Text = None, stream: Text = None,
          reason: Text = None, run: Text = None, status: Text = "open", scope: Text = None,
          page: Annotated[int, Query(ge=1)] = 1, done: Text = None) -> HTMLResponse:
    paging = Paging.of(page)
    try:
        query = quarantine_query(source, stream, status, scope, reason, run)
    except HubError as exc:
        raise Refused(400, str(exc)) from None
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows, more = paging.cut(list(session.scalars(query.order_by(QuarantinedRow.id)
                                                  .offset(paging.offset).limit(paging.size + 1))))
    params = {"source": source, "stream": stream, "reason": reason, "run": run, "status": status, "scope": scope}
    return render(request, "quarantine.html", rows=rows, total=total or 0, params=params, facets=facets(session),
                  page=paging.page, prev_url=page_url(f"{PREFIX}/quarantine", params, paging.page - 1),
                  next_url=page_url(f"{PREFIX}/quarantine", params, paging.page + 1) if more else None,
                  actions=recent_actions(session), done=done, title="隔离区")


@router.get("/quarantine/{row_id}", response_class=HTMLResponse)
def row(request: Request, row_id: int, user: StewardDep) -> HTMLResponse:
    """The raw row (decrypted: stewards only, audited with the user) beside its reasons."""
    try:
        entry = show_quarantine(console_of(request).ctx, row_id)
    except HubError:
        raise Refused(404, f"没有编号为 {row_id} 的隔离行") from None
    flagged = {str(r.get("column")) for r in entry["reasons"] or [] if isinstance(r, dict) and r.get("column")}
    flagged |= _raw_names(request, entry["source"], entry["stream"], flagged)
    return render(request, "quarantine_row.html", entry=entry, flagged=flagged, title=f"隔离行 {row_id}")


def _raw_names(request: Request, source: str, stream: str, canonical: set[str]) -> set[str]:
    """The source's own column names for the canonical ones a reason names (``citizen_id`` is ``sfzh``)."""
    ctx = console_of(request).ctx
    try:
        contract = ctx.contracts.get(ctx.connector_name(source), stream)
    except Exception:  # a source no longer configured: the canonical names are all there is
        return set()
    return {c.raw for c in contract.columns if c.name in canonical}


def _ids(form: dict) -> list[int]:  # type: ignore[type-arg]
    raw = form.get("ids") or []
    raw = raw if isinstance(raw, list) else [raw]
    try:
        return sorted({int(x) for x in raw})
    except ValueError:
        raise Refused(400, "行编号无效") from None


@router.post("/quarantine/actions")
def act(request: Request, user: StewardDep, form: FormDep) -> Response:
    ids, action = _ids(form), form.get("action")
    ctx = console_of(request).ctx
    try:
        if action == "dismiss":
            dismiss_rows(ctx, ids, str(form.get("note") or ""), user.username)
            done = f"已驳回 {len(ids)} 行"
        elif action == "replay":
            out = replay_rows(ctx, ids, user.username)
            done = f"已重放 {len(ids)} 行：通过 {out['passed']}，仍未通过 {out['still_failing']}"
        else:
            raise Refused(400, "未知操作")
    except HubError as exc:
        raise Refused(400, str(exc)) from None
    back = str(form.get("back") or f"{PREFIX}/quarantine")
    back = back if back.startswith(f"{PREFIX}/quarantine") and "//" not in back else f"{PREFIX}/quarantine"
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done={quote(done)}", status_code=303)


@router.post("/quarantine/undo/{action_id}", response_class=HTMLResponse)
def undo(request: Request, action_id: int, user: StewardDep, form: FormDep, session: SessionDep) -> HTMLResponse:
    try:
        undo_dismissal(console_of(request).ctx, action_id, user.username)
    except HubError as exc:
        raise Refused(400, str(exc)) from None
    return render(request, "_actions.html", actions=recent_actions(session))
