"""The steward's match-review queue: list, show, accept, reject, defer, undo.

A decision persists in ``match_review`` and overrides the model on every later run: an accepted
pair is always one entity, a rejected pair never is (even when both records share an ID); a deferred
pair stays out of the pending list and leaves the model to decide. Deciding marks both records'
links stale, so the next resolve re-examines exactly those records. Every decision is logged in
``console_action`` (who, why, the state before), one row per pair even in bulk, so the CLI and the
console undo a decision the same way: the pair returns to its state before, links stale again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.models import ConsoleAction, EntityLink, MatchReview, SourceRecord
from hub.db.session import transaction
from hub.errors import HubError
from hub.resolve.persons.records import CROSSWALK_STREAM

STATUSES = ("pending", "accepted", "rejected", "deferred")
DECISIONS = {"accept": "accepted", "reject": "rejected", "defer": "deferred"}
SHOWN = ("name", "gender", "birth_date", "village", "household_no", "status", "org_name", "role", "party_kind",
         "category", "grid_code", "address", "case_grid_code", "case_address", "place_is")


def _row(r: MatchReview) -> dict[str, Any]:
    return {"id": r.id, "entity_type": r.entity_type, "left_key": r.left_key, "right_key": r.right_key,
            "score": r.score, "status": r.status, "evidence": r.evidence, "decided_by": r.decided_by,
            "decided_at": r.decided_at.isoformat(sep=" ") if r.decided_at else None}


def list_reviews(ctx: HubContext, status: str | None = "pending") -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise HubError(f"unknown review status {status!r}; choose one of {', '.join(STATUSES)}")
    ctx.ensure_store()
    with transaction(ctx.db_url) as session:
        q = select(MatchReview).order_by(MatchReview.score.desc(), MatchReview.id)
        if status:
            q = q.where(MatchReview.status == status)
        return [_row(r) for r in session.scalars(q)]


def _record_of(session, ref: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What a steward may see of one side: non-PII fields only (IDs and phones stay hashed)."""
    source, stream, key = ref.split("|", 2)
    streams = [s for s, shown in CROSSWALK_STREAM.items() if shown == stream] + [stream]
    base = key.split("#", 1)[0]
    rec = session.execute(select(SourceRecord.stream, SourceRecord.source_key, SourceRecord.data).where(
        SourceRecord.source == source, SourceRecord.stream.in_(streams),
        SourceRecord.source_key.in_([key, base]))).first()
    data = dict(rec[2] or {}) if rec else {}
    if key.endswith("#责任人"):
        data = {"name": data.get("responsible_name"), "org_name": data.get("org_name")}
    elif key.endswith("#employer"):  # an employer known by name: where its employee lives is the evidence
        data = {"org_name": data.get("employer"), "grid_code": data.get("grid_code"), "address": data.get("address"),
                "village": data.get("village"), "place_is": "the employee's home"}
    shown = {k: data.get(k) for k in SHOWN if data.get(k) is not None}
    shown["has_citizen_id"] = bool(data.get("citizen_id_bidx"))
    shown["has_phone"] = bool(data.get("phone_bidx"))
    return {"ref": ref, "found": rec is not None, "fields": shown}


def show_in(session: Session, review_id: int) -> dict[str, Any]:
    """One pair with both sides' records, inside the caller's session (the console's)."""
    r = session.get(MatchReview, review_id)
    if r is None:
        raise HubError(f"no match review with id {review_id}")
    out = _row(r)
    out["left"], out["right"] = _record_of(session, r.left_key), _record_of(session, r.right_key)
    return out


def show(ctx: HubContext, review_id: int) -> dict[str, Any]:
    ctx.ensure_store()
    with transaction(ctx.db_url) as session:
        return show_in(session, review_id)


def _stale_links(session: Session, r: MatchReview) -> None:
    for ref in (r.left_key, r.right_key):
        source, stream, key = ref.split("|", 2)
        keys = {key, key.split("#", 1)[0]}
        session.execute(update(EntityLink).where(
            EntityLink.source == source, EntityLink.stream == stream,
            or_(EntityLink.source_key.in_(keys), EntityLink.source_key.like(f"{key.split('#', 1)[0]}#%")))
            .values(run_id=None))


def _state(r: MatchReview) -> dict[str, Any]:
    return {"status": r.status, "decided_by": r.decided_by,
            "decided_at": r.decided_at.isoformat() if r.decided_at else None}


def decide_in(session: Session, review_id: int, decision: str, by: str, reason: str | None = None,
              batch: str | None = None) -> dict[str, Any]:
    """One decision inside the caller's transaction, logged with the state it replaces."""
    status = DECISIONS.get(decision) or (decision if decision in DECISIONS.values() else None)
    if status is None:
        raise HubError(f"unknown decision {decision!r}: use accept, reject or defer")
    r = session.get(MatchReview, review_id)
    if r is None:
        raise HubError(f"no match review with id {review_id}")
    before = _state(r)
    r.status, r.decided_by, r.decided_at = status, by, utcnow()
    _stale_links(session, r)
    verb = {v: k for k, v in DECISIONS.items()}[status]
    session.add(ConsoleAction(username=by, action=verb, target="review", target_id=r.id, batch=batch,
                              note=(reason or "").strip() or None, before=before, after=_state(r)))
    return _row(r)


def decide(ctx: HubContext, review_id: int, decision: str, by: str = "steward",
           reason: str | None = None) -> dict[str, Any]:
    """Accept, reject or defer one pair; the links of both records go stale so resolve re-examines them."""
    if decision not in DECISIONS and decision not in DECISIONS.values():
        raise HubError(f"unknown decision {decision!r}: use accept, reject or defer")
    ctx.ensure_store()
    with transaction(ctx.db_url) as session:
        return decide_in(session, review_id, decision, by, reason)


def decide_many(ctx: HubContext, review_ids: list[int], decision: str, by: str,
                reason: str | None = None) -> list[dict[str, Any]]:
    """A bulk decision: all or none, logged per pair under one batch id (each undoable alone)."""
    ctx.ensure_store()
    batch = secrets.token_hex(8)
    with transaction(ctx.db_url) as session:
        return [decide_in(session, rid, decision, by, reason, batch) for rid in review_ids]


def undo_in(session: Session, review_id: int, by: str) -> dict[str, Any]:
    """Take back the pair's latest decision: its state before returns and the links go stale again."""
    r = session.get(MatchReview, review_id)
    if r is None:
        raise HubError(f"no match review with id {review_id}")
    action = session.scalar(select(ConsoleAction).where(
        ConsoleAction.target == "review", ConsoleAction.target_id == review_id, ConsoleAction.undone_at.is_(None))
        .order_by(ConsoleAction.id.desc()).limit(1))
    if action is None:
        raise HubError(f"review {review_id} has no decision to undo")
    before = action.before or {}
    r.status = before.get("status") or "pending"
    r.decided_by = before.get("decided_by")
    r.decided_at = dt.datetime.fromisoformat(before["decided_at"]) if before.get("decided_at") else None
    action.undone_at, action.undone_by = utcnow(), by
    _stale_links(session, r)
    return _row(r)


def undo(ctx: HubContext, review_id: int, by: str = "steward") -> dict[str, Any]:
    ctx.ensure_store()
    with transaction(ctx.db_url) as session:
        return undo_in(session, review_id, by)


def history(ctx: HubContext, review_id: int) -> list[dict[str, Any]]:
    """Every decision taken on a pair, newest first, with who, why and whether it was undone."""
    with transaction(ctx.db_url) as session:
        return history_in(session, review_id)


def history_in(session: Session, review_id: int) -> list[dict[str, Any]]:
    return [{"id": a.id, "at": a.at.isoformat(sep=" "), "by": a.username, "action": a.action, "note": a.note,
             "batch": a.batch, "before": a.before, "after": a.after,
             "undone_at": a.undone_at.isoformat(sep=" ") if a.undone_at else None, "undone_by": a.undone_by}
            for a in session.scalars(select(ConsoleAction).where(
                ConsoleAction.target == "review", ConsoleAction.target_id == review_id)
                .order_by(ConsoleAction.id.desc()))]


def request_review(ctx: HubContext, entity_type: str, left_ref: str, right_ref: str, score: float,
                   evidence: dict[str, Any] | None = None) -> int:
    """Queue a pair by hand (or from another stage); an existing pair keeps its decision."""
    ctx.ensure_store()
    with transaction(ctx.db_url) as session:
        for a, b in ((left_ref, right_ref), (right_ref, left_ref)):
            found = session.scalar(select(MatchReview).where(MatchReview.entity_type == entity_type,
                                                             MatchReview.left_key == a, MatchReview.right_key == b))
            if found is not None:
                return found.id
        r = MatchReview(entity_type=entity_type, left_key=left_ref, right_key=right_ref, score=score,
                        evidence=evidence or {}, status="pending")
        session.add(r)
        session.flush()
        return r.id
