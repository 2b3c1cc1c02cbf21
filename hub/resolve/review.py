"""The steward's match-review queue: list, show, accept, reject.

A decision persists in ``match_review`` and overrides the model on every later run: an accepted
pair is always one entity, a rejected pair never is (even when both records share an ID). Deciding
marks both records' links stale, so the next resolve re-examines exactly those records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update

from hub.context import HubContext
from hub.db.base import utcnow
from hub.db.models import EntityLink, MatchReview, SourceRecord
from hub.db.session import transaction
from hub.errors import HubError
from hub.resolve.persons.records import CROSSWALK_STREAM

STATUSES = ("pending", "accepted", "rejected")
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


def show(ctx: HubContext, review_id: int) -> dict[str, Any]:
    ctx.ensure_store()
    with transaction(ctx.db_url) as session:
        r = session.get(MatchReview, review_id)
        if r is None:
            raise HubError(f"no match review with id {review_id}")
        out = _row(r)
        out["left"], out["right"] = _record_of(session, r.left_key), _record_of(session, r.right_key)
        return out


def decide(ctx: HubContext, review_id: int, decision: str, by: str = "steward") -> dict[str, Any]:
    """Accept or reject one pair; the links of both records go stale so resolve re-examines them."""
    status = {"accept": "accepted", "accepted": "accepted", "reject": "rejected", "rejected": "rejected"}.get(decision)
    if status is None:
        raise HubError(f"unknown decision {decision!r}: use accept or reject")
    ctx.ensure_store()
    with transaction(ctx.db_url) as session:
        r = session.get(MatchReview, review_id)
        if r is None:
            raise HubError(f"no match review with id {review_id}")
        r.status, r.decided_by, r.decided_at = status, by, utcnow()
        for ref in (r.left_key, r.right_key):
            source, stream, key = ref.split("|", 2)
            keys = {key, key.split("#", 1)[0]}
            session.execute(update(EntityLink).where(
                EntityLink.source == source, EntityLink.stream == stream,
                or_(EntityLink.source_key.in_(keys), EntityLink.source_key.like(f"{key.split('#', 1)[0]}#%")))
                .values(run_id=None))
        return _row(r)


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
