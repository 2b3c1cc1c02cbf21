"""Match review: the two records side by side with per-field agreement and the model's evidence;
accept / reject / defer with a reason (one pair or many, logged per pair), undo."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from hub.console.app import PREFIX, render
from hub.console.deps import FormDep, Refused, SessionDep, StewardDep, console_of
from hub.console.display import Paging, page_url
from hub.db.models import MatchReview
from hub.errors import HubError
from hub.resolve.review import DECISIONS, STATUSES, decide_many, history_in, show_in, undo

router = APIRouter()
FIELD_NAMES = {"name": "姓名", "gender": "性别", "birth_date": "出生日期", "village": "村居", "household_no": "户号",
               "status": "状态", "org_name": "单位名称", "role": "角色", "party_kind": "当事人类型", "category": "类别",
               "grid_code": "网格", "address": "地址", "case_grid_code": "案件网格", "case_address": "案件地址",
               "place_is": "位置依据", "has_citizen_id": "有身份证号", "has_phone": "有电话"}


def agreement(left: dict[str, Any], right: dict[str, Any]) -> list[dict[str, Any]]:
    """Per field: both values and whether they agree (same / differ / one side missing)."""
    out = []
    for key in [*FIELD_NAMES, *sorted(set(left) | set(right) - set(FIELD_NAMES))]:
        a, b = left.get(key), right.get(key)
        if a is None and b is None:
            continue
        verdict = "missing" if a is None or b is None else ("same" if str(a).strip() == str(b).strip() else "differ")
        out.append({"field": key, "label": FIELD_NAMES.get(key, key), "left": a, "right": b, "verdict": verdict})
    return out


@router.get("/review", response_class=HTMLResponse)
def queue(request: Request, session: SessionDep, user: StewardDep,
          status: Annotated[str, Query(max_length=16)] = "pending",
          kind: Annotated[str | None, Query(max_length=16)] = None,
          page: Annotated[int, Query(ge=1)] = 1, done: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    if status != "all" and status not in STATUSES:
        raise Refused(400, f"未知状态 {status}")
    paging = Paging.of(page)
    q = select(MatchReview)
    if status != "all":
        q = q.where(MatchReview.status == status)
    if kind:
        q = q.where(MatchReview.entity_type == kind)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows, more = paging.cut(list(session.scalars(q.order_by(MatchReview.score.desc(), MatchReview.id)
                                                  .offset(paging.offset).limit(paging.size + 1))))
    params = {"status": status, "kind": kind}
    return render(request, "review.html", rows=rows, total=total, params=params, statuses=STATUSES,
                  page=paging.page, prev_url=page_url(f"{PREFIX}/review", params, paging.page - 1),
                  next_url=page_url(f"{PREFIX}/review", params, paging.page + 1) if more else None,
                  done=done, title="匹配审核")


@router.get("/review/{review_id}", response_class=HTMLResponse)
def pair(request: Request, review_id: int, session: SessionDep, user: StewardDep) -> HTMLResponse:
    try:
        item = show_in(session, review_id)
    except HubError:
        raise Refused(404, f"没有编号为 {review_id} 的审核对") from None
    decisions = history_in(session, review_id)
    return render(request, "review_pair.html", item=item, rows=agreement(item["left"]["fields"], item["right"]["fields"]),
                  history=decisions, undoable=next((h["id"] for h in decisions if not h["undone_at"]), None),
                  title=f"审核对 {review_id}")


@router.post("/review/actions")
def decide(request: Request, user: StewardDep, form: FormDep) -> Response:
    raw = form.get("ids") or []
    try:
        ids = sorted({int(x) for x in (raw if isinstance(raw, list) else [raw])})
    except ValueError:
        raise Refused(400, "审核对编号无效") from None
    decision = str(form.get("decision") or "")
    if decision not in DECISIONS or not ids:
        raise Refused(400, "请选择审核对和决定（接受、拒绝或暂缓）")
    reason = str(form.get("reason") or "").strip()
    if not reason:
        raise Refused(400, "请填写理由")
    try:
        decide_many(console_of(request).ctx, ids, decision, user.username, reason)
    except HubError as exc:
        raise Refused(400, str(exc)) from None
    done = f"{len(ids)} 对已{ {'accept': '接受', 'reject': '拒绝', 'defer': '暂缓'}[decision] }，下次解析时生效"
    if len(ids) == 1 and form.get("single"):
        return RedirectResponse(f"{PREFIX}/review/{ids[0]}", status_code=303)
    return RedirectResponse(f"{PREFIX}/review?done={quote(done)}", status_code=303)


@router.post("/review/{review_id}/undo")
def undo_pair(request: Request, review_id: int, user: StewardDep, form: FormDep) -> Response:
    try:
        undo(console_of(request).ctx, review_id, user.username)
    except HubError as exc:
        raise Refused(400, str(exc)) from None
    return RedirectResponse(f"{PREFIX}/review/{review_id}", status_code=303)
